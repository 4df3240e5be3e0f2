import { DETECTORS, scan } from '../../lambdas/shared/policy/detectors';
import { PolicyEngine } from '../../lambdas/shared/policy/engine';
import { policiesSchema } from '../../lambdas/shared/policy/schema';
import { StreamTextFilter } from '../../lambdas/shared/policy/stream-filter';
import { isPlaceholder } from '../../lambdas/shared/policy/placeholders';
import { evaluateDetectors } from '../dlp/evaluate';
import { DLP_CORPUS } from '../dlp/corpus';
import { INDEPENDENT_CORPUS } from '../dlp/independent-corpus';

const engine = (policies: unknown) => new PolicyEngine(policiesSchema.parse(policies));

const found = (detector: keyof typeof DETECTORS, text: string) =>
  scan(text, [DETECTORS[detector]]).map((finding) => finding.value);

describe('DLP detectors on the labelled corpus', () => {
  const { scores } = evaluateDetectors(DLP_CORPUS);

  it('has a corpus of at least 300 texts with positives for every detector and clean negatives', () => {
    expect(DLP_CORPUS.length).toBeGreaterThanOrEqual(300);
    expect(DLP_CORPUS.filter((c) => c.expected.length === 0).length).toBeGreaterThanOrEqual(100);
    for (const score of scores) expect(score.truePositives + score.falseNegatives).toBeGreaterThanOrEqual(20);
  });

  // Checksum-backed detectors must meet the bar; the others are held to it too, so a regression
  // in any detector fails here first.
  it.each([
    'credit_card',
    'iban',
    'us_ssn',
    'aws_access_key_id',
    'aws_secret_access_key',
    'private_key',
    'jwt',
    'api_key',
    'email',
    'ipv4',
    'phone',
  ])('%s: precision and recall >= 0.95', (detector) => {
    const score = scores.find((s) => s.detector === detector)!;
    expect(score.precision).toBeGreaterThanOrEqual(0.95);
    expect(score.recall).toBeGreaterThanOrEqual(0.95);
  });
});

/** What issue 19 asks of every detector on the corpus written without reading the detectors. */
const INDEPENDENT_FLOOR = { precision: 0.99, recall: 0.98 };

describe('DLP detectors on the independent corpus (issue 19)', () => {
  const { scores } = evaluateDetectors(INDEPENDENT_CORPUS);

  it('has positives for every detector', () => {
    for (const score of scores) expect(score.truePositives + score.falseNegatives).toBeGreaterThanOrEqual(20);
  });

  it.each(scores.map((s) => s.detector))('%s: precision >= 0.99 and recall >= 0.98', (detector) => {
    const score = scores.find((s) => s.detector === detector)!;
    expect(score.precision).toBeGreaterThanOrEqual(INDEPENDENT_FLOOR.precision);
    expect(score.recall).toBeGreaterThanOrEqual(INDEPENDENT_FLOOR.recall);
  });
});

describe('detectors', () => {
  it('accepts card numbers only when they pass Luhn with a known issuer prefix and length', () => {
    expect(found('credit_card', 'card 4111 1111 1111 1111 exp 12/29')).toEqual(['4111 1111 1111 1111']);
    expect(found('credit_card', 'card 4111 1111 1111 1112')).toEqual([]); // Luhn fails
    expect(found('credit_card', 'order 1234567890123456')).toEqual([]);
  });

  it('excludes SSNs in ranges the SSA never issues', () => {
    expect(found('us_ssn', 'ssn 219-09-9999')).toEqual(['219-09-9999']);
    for (const invalid of ['000-12-3456', '666-12-3456', '912-12-3456', '219-00-9999', '219-09-0000']) {
      expect(found('us_ssn', `ssn ${invalid}`)).toEqual([]);
    }
  });

  it('reads card numbers only in the digit groups cards are written in', () => {
    expect(found('credit_card', 'amex 3782 822463 10005')).toEqual(['3782 822463 10005']);
    expect(found('credit_card', 'visa 4111-1111-1111-1111')).toEqual(['4111-1111-1111-1111']);
    // Two-digit lists and IBAN tails pass Luhn by chance; they are not cards.
    expect(found('credit_card', 'Numbers drawn tonight: 41 31 18 26 40 19 47 34')).toEqual([]);
    expect(found('credit_card', 'IBAN LU65 3449 8864 5065 5649')).toEqual([]);
  });

  it('prefers the phone reading for + and link numbers that also pass the card checksum', () => {
    const text = 'Meine Nummer: +4917042799669';
    expect(found('credit_card', text)).toEqual([]);
    expect(scan(text, Object.values(DETECTORS)).map((f) => [f.detector, f.value])).toEqual([
      ['phone', '+4917042799669'],
    ]);
    expect(found('phone', 'WhatsApp: https://wa.me/5521923017011')).toEqual(['5521923017011']);
  });

  it('finds national phone formats with a trunk 0 or a 00 prefix, and needs a phone word for bare ones', () => {
    expect(found('phone', 'Ansprechpartner: Herr Sharma, 030 98675206')).toEqual(['030 98675206']);
    expect(found('phone', 'Call me on 07506 652833 after 6pm.')).toEqual(['07506 652833']);
    expect(found('phone', 'お問い合わせ: 03-2073-6558')).toEqual(['03-2073-6558']);
    expect(found('phone', 'Give us a ring on (02) 8633 7263')).toEqual(['(02) 8633 7263']);
    expect(found('phone', 'Mobil: 0049 179 47352534')).toEqual(['0049 179 47352534']);
    expect(found('phone', 'WhatsApp: (11) 2558-6097')).toEqual(['(11) 2558-6097']);
    expect(found('phone', 'order (11) 2558-6097 shipped')).toEqual([]);
    expect(found('phone', 'Due 05.01.2024, FedEx tracking 0123 4567 8901, Kundennummer 0912345678')).toEqual([]);
  });

  it('finds nine-digit SSNs only next to an explicit SSN word', () => {
    expect(found('us_ssn', 'SSN#072014948 on file')).toEqual(['072014948']);
    expect(found('us_ssn', 'Social security number: 679378521')).toEqual(['679378521']);
    expect(found('us_ssn', 'order 679378521 shipped')).toEqual([]);
  });

  it('finds unsigned JWTs only when their header says alg none', () => {
    const unsigned = 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.';
    expect(found('jwt', `Bearer ${unsigned}`)).toEqual([unsigned]);
    // HS256 header with an empty signature: a truncated token, not an unsigned one.
    expect(found('jwt', 'Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.')).toEqual([]);
  });

  it('finds a pasted private key without its END line, and not prose quoting PEM header lines', () => {
    const body =
      'MIIEowIBAAKCAQEAeQgFJYolwwC43d+Dw1UGyjtPWOWKOHh2gV/DX4kJyToOAkKF\nqoU9iKSfT05ijbc7foB/Bm7Xi3IC/7B3b9jzkUUwOrnV77E9uR7inpeVHbZJQl6i';
    const key = `-----BEGIN RSA PRIVATE KEY-----\n${body}`;
    expect(found('private_key', `corrupted?\n${key}`)).toEqual([key]);
    expect(found('private_key', `here:\n${key}\nthanks for looking`)).toEqual([key]);
    expect(
      found('private_key', "const H = '-----BEGIN PRIVATE KEY-----';\nconst F = '-----END PRIVATE KEY-----';"),
    ).toEqual([]);
    expect(
      found('private_key', '-----BEGIN RSA PRIVATE KEY-----\n  <paste your key here>\n-----END RSA PRIVATE KEY-----'),
    ).toEqual([]);
  });

  it('needs evidence before an AWS secret key and never takes a code identifier for one', () => {
    const secret = 'Hfafm+S1veOOf3QSn2vS9hQsDibW3L9L5clbMfsC';
    expect(found('aws_secret_access_key', `aws_secret_access_key = ${secret}`)).toEqual([secret]);
    expect(found('aws_secret_access_key', `key AKIAR40N2CWDFFSWIEXH, then ${secret}`)).toEqual([secret]);
    expect(found('aws_secret_access_key', `session ${secret}`)).toEqual([]);
    expect(found('aws_secret_access_key', 'secret: OAuth2CredentialProviderCommonPropsXyz1')).toEqual([]);
    expect(found('aws_secret_access_key', 'credentials from src/components/FooBar/Baz1/index')).toEqual([]);
  });

  it('skips placeholders in every secret detector', () => {
    expect(isPlaceholder('AKIAIOSFODNN7EXAMPLE')).toBe(true);
    expect(found('aws_access_key_id', 'AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE')).toEqual([]);
    expect(found('aws_secret_access_key', 'secret = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')).toEqual([]);
    expect(found('api_key', `OPENAI_API_KEY=sk-proj-${'x'.repeat(48)}`)).toEqual([]);
    expect(found('api_key', 'GITHUB_TOKEN=ghp_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX')).toEqual([]);
    expect(found('api_key', 'token: sk-your-openai-key-goes-here-1234')).toEqual([]);
    const real = 'ghp_R8vQ2mK7pX4tN9sL3wB6yF1hJ5dC0aE2gZ8u';
    expect(found('api_key', `GITHUB_TOKEN=${real}`)).toEqual([real]);
  });

  it('covers the newer token prefixes of the providers it knows', () => {
    for (const token of [
      `sk-svcacct-${'Ab3dEf6hIj9kLm2nOp5qRs8t'.repeat(2)}`,
      `sk-ant-admin01-${'Ab3dEf6hIj9kLm2nOp5qRs8t'.repeat(3)}`,
      `xoxe.xoxp-1-${'Ab3dEf6hIj9kLm2nOp5qRs8t'.repeat(2)}`,
      `github_pat_11ABCDEFG0${'a1B2c3D4e5'.repeat(6)}ab3dEf6hIj9k`,
    ]) {
      expect(found('api_key', `token=${token}`)).toEqual([token]);
    }
  });

  it('does not read version strings as IPv4 addresses nor SSH targets as emails', () => {
    for (const text of ['v1.2.3.4', 'version 15.19.13.127', 'pywin32==12.9.1.130', 'Chrome/124.0.0.0', '§ 7.1.14.50']) {
      expect(found('ipv4', text)).toEqual([]);
    }
    expect(found('ipv4', 'ssh admin@10.0.0.1 -p 2222')).toEqual(['10.0.0.1']);
    expect(found('email', 'git clone git@github.com:acme/api.git; scp x deploy@db.acme.io:/var/x')).toEqual([]);
    expect(found('email', '<img src="/assets/logo@2x.png">')).toEqual([]);
    expect(found('email', 'Contact: bob@example.com: he knows')).toEqual(['bob@example.com']);
  });

  it('checks IBAN check digits and country lengths', () => {
    expect(found('iban', 'pay to DE89 3704 0044 0532 0130 00 today')).toEqual(['DE89 3704 0044 0532 0130 00']);
    expect(found('iban', 'pay to DE88 3704 0044 0532 0130 00 today')).toEqual([]);
  });
});

describe('policy engine', () => {
  const policies = engine({
    profiles: {
      default: {
        denyRules: [
          { id: 'codename', message: 'Code names stay inside.', keywords: ['Project Falcon'] },
          { id: 'no-exploits', message: 'No exploit code in answers.', pattern: 'rm -rf /', direction: 'output' },
        ],
        detectors: [
          { detector: 'email', action: 'redact' },
          { detector: 'phone', action: 'alert' },
          { detector: 'private_key', action: 'block', direction: 'input' },
          { detector: 'credit_card', action: 'redact', direction: 'output' },
        ],
      },
    },
  });
  const policy = policies.profileFor(undefined);

  it('redacts with typed placeholders, the same value keeping its placeholder across texts', () => {
    const redactor = policy.newRedactor();
    const prompt = policy.checkText('Mail bob@example.com or amy@example.com; cc bob@example.com', 'input', redactor);
    expect(prompt.text).toBe('Mail [EMAIL_1] or [EMAIL_2]; cc [EMAIL_1]');
    expect(prompt.decision).toEqual({ action: 'redact', ruleIds: ['dlp:email'] });
    const answer = policy.checkText('I wrote to amy@example.com', 'output', redactor);
    expect(answer.text).toBe('I wrote to [EMAIL_2]');
  });

  it('alerts without changing the text, and combines decisions by severity', () => {
    const check = policy.checkText('call +1 212 555 0143 or bob@example.com', 'input', policy.newRedactor());
    expect(check.text).toBe('call +1 212 555 0143 or [EMAIL_1]');
    expect(check.decision).toEqual({ action: 'redact', ruleIds: ['dlp:phone', 'dlp:email'] });
  });

  it('blocks on deny rules (whole words, any case) naming the rule, never the text', () => {
    const check = policy.checkText('status of project   falcon?', 'input', policy.newRedactor());
    expect(check.blockedBy).toEqual({ ruleId: 'codename', message: 'Code names stay inside.' });
    expect(policy.checkText('projectfalcon', 'input', policy.newRedactor()).blockedBy).toBeUndefined();
    expect(JSON.stringify(check.blockedBy)).not.toMatch(/falcon/i);
  });

  it('applies each rule only in its direction', () => {
    const card = 'card 4111 1111 1111 1111';
    expect(policy.checkText(card, 'input', policy.newRedactor()).text).toBe(card);
    expect(policy.checkText(card, 'output', policy.newRedactor()).text).toBe('card [CREDIT_CARD_1]');
    expect(policy.checkText('run rm -rf / now', 'input', policy.newRedactor()).blockedBy).toBeUndefined();
    expect(policy.checkText('run rm -rf / now', 'output', policy.newRedactor()).blockedBy?.ruleId).toBe('no-exploits');
  });

  it('keeps every finding of every detector out of audit excerpts, whatever the profile does with it', () => {
    const text = 'ssn 219-09-9999 key AKIAR40N2CWDFFSWIEXH mail bob@example.com';
    expect(policy.redactAll(text, policy.newRedactor())).toBe(
      'ssn [US_SSN_1] key [AWS_ACCESS_KEY_ID_1] mail [EMAIL_1]',
    );
  });

  it('uses the default profile for teams naming none or a profile that no longer exists', () => {
    expect(policies.profileFor('gone').name).toBe('default');
    expect(policies.hasProfile('gone')).toBe(false);
  });

  it('supports custom detectors from config', () => {
    const custom = engine({
      customDetectors: { employee_id: { pattern: '\\bEMP-\\d{6}\\b' } },
      profiles: { default: { detectors: [{ detector: 'employee_id', action: 'redact' }] } },
    }).profileFor(undefined);
    expect(custom.checkText('ask EMP-123456', 'input', custom.newRedactor()).text).toBe('ask [EMPLOYEE_ID_1]');
  });

  it('refuses configs with unknown detectors, bad regexes and duplicate rule ids', () => {
    const bad = (policies: unknown) => policiesSchema.safeParse(policies).success;
    expect(bad({ profiles: { default: { detectors: [{ detector: 'dna', action: 'block' }] } } })).toBe(false);
    expect(bad({ profiles: { default: { denyRules: [{ id: 'a', message: 'm', pattern: '[' }] } } })).toBe(false);
    expect(
      bad({
        profiles: {
          default: {
            denyRules: [
              { id: 'a', message: 'm', keywords: ['x'] },
              { id: 'a', message: 'm', keywords: ['y'] },
            ],
          },
        },
      }),
    ).toBe(false);
    expect(bad({ defaultProfile: 'missing' })).toBe(false);
  });
});

describe('streamed answers', () => {
  const policy = engine({
    profiles: {
      default: {
        denyRules: [{ id: 'codename', message: 'No.', keywords: ['project falcon'], direction: 'output' }],
        detectors: [
          { detector: 'credit_card', action: 'redact' },
          { detector: 'aws_secret_access_key', action: 'redact' },
          { detector: 'private_key', action: 'block' },
        ],
      },
    },
  }).profileFor(undefined);

  /** Streams `text` in chunks of `size` and returns every released piece. */
  function stream(text: string, size: number) {
    const filter = new StreamTextFilter(policy, policy.newRedactor());
    const released: string[] = [];
    for (let i = 0; i < text.length; i += size) released.push(filter.push(text.slice(i, i + size)));
    released.push(filter.end());
    return { released, filter };
  }

  const answer =
    'Your card 4111 1111 1111 1111 is on file. The secret is Hfafm+S1veOOf3QSn2vS9hQsDibW3L9L5clbMfsC and ' +
    'nothing else matters. '.repeat(8);

  it.each([1, 3, 7, 16, 64])('never lets a finding out split across chunks of %i characters', (size) => {
    const { released } = stream(answer, size);
    const whole = released.join('');
    expect(whole).toBe(
      'Your card [CREDIT_CARD_1] is on file. The secret is [AWS_SECRET_ACCESS_KEY_1] and ' +
        'nothing else matters. '.repeat(8),
    );
    for (const piece of released) {
      expect(piece).not.toMatch(/4111|1111 1111|Hfafm|L5clbMfsC/);
    }
  });

  it('releases text before the end of the stream (it does not buffer everything)', () => {
    const { released } = stream(answer, 5);
    const beforeEnd = released.slice(0, -1).join('');
    expect(beforeEnd.length).toBeGreaterThan(answer.length / 2);
  });

  it('blocks on a deny phrase split across chunks, releasing none of it', () => {
    const { released, filter } = stream('All good. The plan for project falcon is secret. More text follows here.', 2);
    expect(filter.blockedBy?.ruleId).toBe('codename');
    expect(released.join('')).not.toMatch(/falcon/i);
  });

  describe('with the context-dependent detectors of issue 19', () => {
    const contextual = engine({
      profiles: {
        default: {
          detectors: ['private_key', 'jwt', 'aws_secret_access_key', 'us_ssn', 'phone'].map((detector) => ({
            detector,
            action: 'redact',
          })),
        },
      },
    }).profileFor(undefined);
    const keyBody =
      'MIIEowIBAAKCAQEAeQgFJYolwwC43d+Dw1UGyjtPWOWKOHh2gV/DX4kJyToOAkKF\nqoU9iKSfT05ijbc7foB/Bm7Xi3IC/7B3b9jzkUUwOrnV77E9uR7inpeVHbZJQl6i';
    const filler = 'and more words follow here. '.repeat(4);
    const text =
      `Mobil: 030 98675206 oder 0049 179 47352534, ${filler}` +
      `token eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9. ${filler}` +
      `SSN 641375865 ${filler}The secret is Hfafm+S1veOOf3QSn2vS9hQsDibW3L9L5clbMfsC ${filler}` +
      `Key:\n-----BEGIN RSA PRIVATE KEY-----\n${keyBody}`;
    const fragments = /98675206|47352534|eyJzdWIi|641375865|Hfafm|L5clbMfsC|MIIEow|Ql6i/;

    it.each([1, 3, 7, 16, 64])(
      'releases no part of a national phone, an unsigned JWT, an SSN, an AWS secret or a key without END line in chunks of %i',
      (size) => {
        const filter = new StreamTextFilter(contextual, contextual.newRedactor());
        const released: string[] = [];
        for (let i = 0; i < text.length; i += size) released.push(filter.push(text.slice(i, i + size)));
        const beforeEnd = released.join('');
        released.push(filter.end());
        expect(released.join('')).toBe(
          `Mobil: [PHONE_1] oder [PHONE_2], ${filler}token [JWT_1] ${filler}SSN [US_SSN_1] ${filler}` +
            `The secret is [AWS_SECRET_ACCESS_KEY_1] ${filler}Key:\n[PRIVATE_KEY_1]`,
        );
        for (const piece of released) expect(piece).not.toMatch(fragments);
        // The key has no END line: nothing of it may leave before the stream ends.
        expect(beforeEnd).not.toContain('-----BEGIN');
      },
    );
  });

  it('holds an unfinished private key block until its END line arrives, then blocks', () => {
    const key = `-----BEGIN PRIVATE KEY-----\n${'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n'.repeat(20)}-----END PRIVATE KEY-----`;
    const { released, filter } = stream(`Here it is:\n${key}\nDone.`, 10);
    expect(filter.blockedBy?.ruleId).toBe('dlp:private_key');
    expect(released.join('')).not.toContain('MIIEvQ');
  });
});
