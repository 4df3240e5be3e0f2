import { DETECTORS, scan } from '../../lambdas/shared/policy/detectors';
import { PolicyEngine } from '../../lambdas/shared/policy/engine';
import { policiesSchema } from '../../lambdas/shared/policy/schema';
import { StreamTextFilter } from '../../lambdas/shared/policy/stream-filter';
import { evaluateDetectors } from '../dlp/evaluate';
import { DLP_CORPUS } from '../dlp/corpus';

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
    const text = 'ssn 219-09-9999 key AKIAIOSFODNN7EXAMPLE mail bob@example.com';
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
    'Your card 4111 1111 1111 1111 is on file. The secret is wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY and ' +
    'nothing else matters. '.repeat(8);

  it.each([1, 3, 7, 16, 64])('never lets a finding out split across chunks of %i characters', (size) => {
    const { released } = stream(answer, size);
    const whole = released.join('');
    expect(whole).toBe(
      'Your card [CREDIT_CARD_1] is on file. The secret is [AWS_SECRET_ACCESS_KEY_1] and ' +
        'nothing else matters. '.repeat(8),
    );
    for (const piece of released) {
      expect(piece).not.toMatch(/4111|1111 1111|wJalr|EXAMPLEKEY/);
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

  it('holds an unfinished private key block until its END line arrives, then blocks', () => {
    const key = `-----BEGIN PRIVATE KEY-----\n${'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n'.repeat(20)}-----END PRIVATE KEY-----`;
    const { released, filter } = stream(`Here it is:\n${key}\nDone.`, 10);
    expect(filter.blockedBy?.ruleId).toBe('dlp:private_key');
    expect(released.join('')).not.toContain('MIIEvQ');
  });
});
