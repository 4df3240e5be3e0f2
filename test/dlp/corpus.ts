/**
 * Labelled corpus for measuring the DLP detectors' precision and recall.
 *
 * Written independently of the detector code: each case lists the exact substrings a perfect
 * detector set would report, and nothing else. Clean cases (`expected: []`) include many hard
 * negatives (numbers and tokens that look like sensitive data but are not). The corpus is fully
 * deterministic: bulk values come from the seeded generators in ./corpus-generators, the tricky
 * ones are written by hand.
 *
 * Labelling conventions (see also the notes on individual cases):
 * - `value` is the substring as written (card and IBAN groups, phone punctuation included), never
 *   surrounding words, quotes, `Bearer `, a `/24` suffix or a `:8080` port.
 * - `git@github.com:org/repo.git` is not an email: `user@host:` is an SSH/SCP target (issue 19; it
 *   was labelled as the email `git@github.com` before).
 * - Documented example keys (AWS's `AKIAIOSFODNN7EXAMPLE` pair) are placeholders, never labelled
 *   (issue 19).
 * - A value that belongs to one detector is not also labelled for another: an SSN or a card number
 *   is never a phone, the digits inside an IBAN or a Slack token are never a card or a phone, the
 *   base64 body of a private key is never an AWS secret, a JWT segment is never an API key.
 * - Nine-digit SSNs without separators are labelled only right after an explicit SSN key or word
 *   (`"ssn": "219099999"`); unsigned JWTs (`alg: none`, empty signature) are labelled (issue 19). `0.0.0.0` and `255.255.255.0` ARE labelled ipv4 (every part is in 0-255);
 *   `admin@10.0.0.1` is an ipv4, not an email (a numeric last label is not a domain).
 * - Unlabelled phone-like numbers are deliberate: dates, times, timestamps, order and invoice
 *   numbers, ZIP codes, UUID parts, ISBNs, AWS account ids and the digits inside IBANs, cards,
 *   SSNs and Slack tokens are never phones.
 * - A PEM private key inside a JSON string (newlines escaped as `\n`) or an indented YAML block is
 *   labelled from `-----BEGIN` to the end of the matching END line, as it appears in the text.
 */
import {
  CARD_ISSUERS,
  IBAN_COUNTRIES,
  INVALID_SSN_KINDS,
  PRIVATE_KEY_KINDS,
  Rng,
  US_PHONE_FORMATS,
  breakLuhn,
  buildCertificate,
  buildJwt,
  buildPemBlock,
  buildPrivateKey,
  buildPublicKey,
  formatCard,
  generateAnthropicKey,
  generateAwsAccessKeyId,
  generateAwsSecretAccessKey,
  generateCard,
  generateEmail,
  generateGatewayKey,
  generateGithubFineGrainedPat,
  generateGithubToken,
  generateIban,
  generateInvalidSsn,
  generateIpv4,
  generateLuhnValidWithoutIssuer,
  generateOpenAiKey,
  generateSlackToken,
  generateSsn,
  generateUsPhone,
  groupIban,
  luhnCheckDigit,
  randomBase64,
  sha1Hex,
  sha256Hex,
  withWrongCheckDigits,
  withWrongLength,
  type CardFormat,
  type CardIssuer,
  type GithubTokenPrefix,
  type SlackTokenPrefix,
} from './corpus-generators';

/** Detector names the engine uses. */
export type DetectorName =
  | 'email'
  | 'phone'
  | 'us_ssn'
  | 'credit_card'
  | 'iban'
  | 'ipv4'
  | 'aws_access_key_id'
  | 'aws_secret_access_key'
  | 'private_key'
  | 'jwt'
  | 'api_key';

/** One labelled string: the exact substrings a perfect detector set would report. */
export interface CorpusCase {
  text: string;
  expected: { detector: DetectorName; value: string }[]; // [] for a clean (negative) text
  /** Why this case exists (e.g. 'hard negative: Luhn-failing 16 digits'). */
  note?: string;
}

export const DETECTOR_NAMES: readonly DetectorName[] = [
  'email',
  'phone',
  'us_ssn',
  'credit_card',
  'iban',
  'ipv4',
  'aws_access_key_id',
  'aws_secret_access_key',
  'private_key',
  'jwt',
  'api_key',
];

/** Raw hard-negative values used in clean cases, so the corpus test can check them. */
export interface CorpusFixtures {
  /** Card-like numbers as written that must NOT be reported (Luhn fails, or no issuer, or bad length). */
  invalidCards: string[];
  /** IBAN-like strings as written that must NOT be reported (check digits or length wrong). */
  invalidIbans: string[];
  /** SSN-shaped strings that break an SSA rule. */
  invalidSsns: string[];
}

type Label = { detector: DetectorName; value: string };
type Piece = Label | string | number;
interface Built {
  text: string;
  expected: Label[];
}

/** Tagged template: `t\`mail ${email('a@example.com')} now\`` builds the text and its labels together. */
function t(strings: TemplateStringsArray, ...pieces: Piece[]): Built {
  let text = strings[0] ?? '';
  const expected: Label[] = [];
  pieces.forEach((piece, i) => {
    if (typeof piece === 'object') {
      expected.push(piece);
      text += piece.value;
    } else {
      text += String(piece);
    }
    text += strings[i + 1] ?? '';
  });
  return { text, expected };
}

const label =
  (detector: DetectorName) =>
  (value: string): Label => ({ detector, value });
const email = label('email');
const phone = label('phone');
const ssn = label('us_ssn');
const card = label('credit_card');
const iban = label('iban');
const ip = label('ipv4');
const akid = label('aws_access_key_id');
const awsSecret = label('aws_secret_access_key');
const pkey = label('private_key');
const jwt = label('jwt');
const apiKey = label('api_key');

/** Builds the whole corpus (pure and deterministic: same output on every call). */
export function buildDlpCorpus(): { cases: CorpusCase[]; fixtures: CorpusFixtures } {
  const cases: CorpusCase[] = [];
  const fixtures: CorpusFixtures = { invalidCards: [], invalidIbans: [], invalidSsns: [] };
  const add = (built: Built, note?: string): void => {
    cases.push(note === undefined ? { ...built } : { ...built, note });
  };
  const clean = (text: string, note: string): void => {
    cases.push({ text, expected: [], note });
  };

  // ===========================================================================================
  // email
  // ===========================================================================================
  add(t`Please reach out to ${email('jane.doe@example.com')} if the export fails.`, 'email: dotted local part');
  add(t`Send the invoice to ${email('billing+q3@acme-corp.io')}, not to me.`, 'email: plus tag, hyphenated domain');
  add(
    t`Escalated by Ops <${email('oncall@ops.eu-west-1.example.net')}> at 03:12 UTC`,
    'email: deep subdomain in angle brackets',
  );
  add(t`Contact: ${email('m.oconnor@nhs-trust.co.uk')}`, 'email: multi-part TLD at end of text');
  add(t`CC: ${email('FINANCE.TEAM@EXAMPLE.ORG')}`, 'email: upper case');
  add(t`{"user": {"id": 48213, "email": "${email('priya_k@mail.example.in')}"}}`, 'email: in JSON');
  add(t`Maintainer: [Lars Berg](mailto:${email('lars.berg@example.se')})`, 'email: markdown mailto link');
  add(
    t`git clone git@github.com:acme/payments-service.git`,
    'email negative: SCP-style git remote (git@host: is an SSH target, issue 19)',
  );
  add(
    t`[remote "origin"]\n\turl = git@gitlab.example.com:platform/infra.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*`,
    'email negative: git remote in .git/config (git@host: is an SSH target, issue 19)',
  );
  add(
    t`id,name,email\n17,Ana Souza,${email('ana.souza@exemplo.com.br')}\n18,Tom Reed,${email('t.reed@example.com')}`,
    'email: CSV rows',
  );
  add(
    t`2024-03-02T11:04:55Z WARN login failed for user=${email('o.kowalski@firma.example.pl')} attempts=3`,
    'email: key=value in a log line',
  );
  add(t`From: "Support" <${email('no-reply@notifications.example.com')}>`, 'email: From header');
  add(
    t`Reply to ${email('sales-emea@example.co.uk')} or ${email('sales-apac@example.com.au')}.`,
    'email: two addresses, sentence-final period',
  );
  add(t`ADMIN_EMAILS = ["${email('root.admin@example.com')}", "${email('sre@example.com')}"]`, 'email: Python list');
  add(
    t`ERROR: duplicate key value violates unique constraint "users_email_key"\nDETAIL: Key (email)=(${email('chris.w@example.org')}) already exists.`,
    'email: Postgres error detail, closing parenthesis',
  );
  add(t`ping me at ${email('x@example.io')}!`, 'email: one-letter local part');
  add(t`Signed up as ${email('Jane.Doe@Mail.Example.COM')} yesterday`, 'email: mixed case with subdomain');
  add(t`${email('user123@my-company-mail.dev')} wrote:`, 'email: digits in local part, reply quote header');
  add(t`Forwarded to ${email('first_last.dept@sub.domain.example.com')};`, 'email: underscore and semicolon after');
  {
    const rng = new Rng(101);
    const templates: ((e: Label) => Built)[] = [
      (e) => t`New signup: ${e} (plan: pro, seats: 5)`,
      (e) => t`{"event":"password_reset","recipient":"${e}","ts":"2024-05-02T08:14:09Z"}`,
      (e) => t`Hi team, please add ${e} to the on-call rota.`,
      (e) => t`| Owner | ${e} |`,
      (e) => t`WARN mailer: bounce for <${e}>: 550 mailbox unavailable`,
      (e) => t`reply-to: ${e}`,
    ];
    const seen = new Set<string>();
    let i = 0;
    while (i < 12) {
      const value = generateEmail(rng);
      if (seen.has(value.toLowerCase())) continue;
      seen.add(value.toLowerCase());
      add(templates[i % templates.length]!(email(value)), 'email: generated');
      i++;
    }
  }
  // email negatives
  clean('Point the app at user@localhost for the dev SMTP sink.', 'email negative: no dot in domain (localhost)');
  clean('Follow @acme_support and @jane_doe for release news.', 'email negative: social handles');
  clean('The minimal form a@b is not a routable address.', 'email negative: a@b without a dot in the domain');
  clean('npm install @aws-sdk/client-s3 @aws-sdk/lib-dynamodb', 'email negative: npm package scopes');
  clean(
    "import { Component } from '@angular/core';\n\n@Component({ selector: 'app-root' })\nexport class AppComponent {}",
    'email negative: decorators and scoped imports',
  );
  clean('@media (max-width: 600px) { .nav { display: none; } }', 'email negative: CSS at-rule');
  clean('Document every parameter with @param and the result with @returns.', 'email negative: JSDoc tags');
  clean(
    `image: node@sha256:${sha256Hex('node-20-alpine')}`,
    'email negative: image digest (node@sha256:...), also a 64-hex hard negative for aws secret',
  );
  clean('"peerDependencies": { "@types/react": "^18.2.0", "@emotion/styled": "^11.11.0" }', 'email negative: scopes');
  clean('Meet @ 10:30 by the front desk, 3 @ $4.99 each for snacks.', 'email negative: bare @ signs');

  // ===========================================================================================
  // phone
  // ===========================================================================================
  add(t`Call me on ${phone('+14155552671')} when you land.`, 'phone: E.164 compact');
  add(t`Our London office: ${phone('+44 20 7946 0958')}.`, 'phone: E.164 with spaces, period after');
  add(t`Berlin support line ${phone('+49 30 123456')} (Mon-Fri).`, 'phone: short German number');
  add(t`Customer phone: ${phone('(415) 555-2671')}`, 'phone: US parentheses');
  add(t`Fax ${phone('415-555-2671')}, attn. Accounts`, 'phone: US dashes, comma after');
  add(t`{"phone": "${phone('415.555.2671')}", "verified": true}`, 'phone: US dots in JSON');
  add(t`Dial ${phone('+1 415 555 2671')} and choose option three.`, 'phone: +1 with spaces');
  add(t`Toll-free: ${phone('1-800-555-0199')}`, 'phone: 1-800 number');
  add(t`Bureau de Paris : ${phone('+33 1 42 68 53 00')}`, 'phone: French grouping');
  add(t`Sydney desk ${phone('+61 2 9876 5432')} (AEST)`, 'phone: Australian');
  add(t`Tokyo: ${phone('+81 3-1234-5678')}`, 'phone: Japanese with dashes');
  add(t`<a href="tel:${phone('+12125550143')}">${phone('+1-212-555-0143')}</a>`, 'phone: tel: link and display text');
  add(t`Mobile ${phone('+1 (646) 555-0187')}, office ${phone('(212) 555-0100')}.`, 'phone: two numbers');
  add(t`Dublin: ${phone('+353 1 555 0123')}`, 'phone: Irish');
  add(t`WhatsApp ${phone('+91 98765 43210')} after 6pm IST`, 'phone: Indian mobile 5+5');
  add(t`Contato: ${phone('+55 11 91234-5678')}`, 'phone: Brazilian mobile');
  add(t`SMS sent to ${phone('+447700900123')} (status=delivered)`, 'phone: UK mobile E.164');
  add(t`"mobile":"${phone('+4915123456789')}"`, 'phone: German mobile E.164 in JSON');
  add(t`Chicago office | ${phone('312.555.0175')} | Mon-Fri`, 'phone: dots in a table row');
  add(t`Questions? ${phone('1-888-555-0123')}.`, 'phone: 1-888 with period after');
  add(
    t`2024-02-11 09:15:02 INFO sms.send to=${phone('+61412345678')} template=otp len=6`,
    'phone: log line with a date and time around it',
  );
  {
    const rng = new Rng(202);
    const templates: ((p: Label) => Built)[] = [
      (p) => t`Please call the customer back at ${p}.`,
      (p) => t`{"name":"R. Alvarez","phone":"${p}","consent":true}`,
      (p) => t`Best,\nDana\nCustomer Success\n${p}`,
      (p) => t`contact_number,${p},verified`,
      (p) => t`Left a voicemail (${p}) about the renewal`,
      (p) => t`- Emergency contact: ${p}`,
    ];
    const seen = new Set<string>();
    let i = 0;
    while (i < 12) {
      const value = generateUsPhone(rng, US_PHONE_FORMATS[i % US_PHONE_FORMATS.length]!);
      if (seen.has(value)) continue;
      seen.add(value);
      add(templates[i % templates.length]!(phone(value)), 'phone: generated US number');
      i++;
    }
  }
  // phone negatives
  clean('Deployed on 2024-01-15 at 12:30:45 UTC.', 'phone negative: ISO date and time');
  clean('{"created_at": 1700000000, "updated_at": 1700003600}', 'phone negative: Unix timestamps');
  clean('Upgrade to v2.14.1 before Friday; v2.13.9 is end of life.', 'phone negative: version strings');
  clean('Order ORD-2024-000123 has shipped via DHL.', 'phone negative: order number');
  clean('Ship to 500 Howard St, San Francisco, CA 94107', 'phone negative: street number and ZIP code');
  clean('Total: $1,299.99 (incl. tax), was $1,499.00', 'phone negative: prices');
  clean('Your verification code is 482913. It expires in 10 minutes.', 'phone negative: 6-digit OTP');
  clean('Enter PIN 4821 at the door, then press 0 for reception.', 'phone negative: 4-digit PIN');
  clean('request_id=550e8400-e29b-41d4-a716-446655440000 status=200', 'phone negative: UUID');
  clean('UPS tracking 1Z999AA10123456784, estimated delivery Tuesday', 'phone negative: tracking number');
  clean('Invoice INV-000482-2023 is overdue by 14 days.', 'phone negative: invoice number');
  clean('Build 20240115.3 finished in 342s (cache hit rate 87%)', 'phone negative: build number');
  clean('event_time_ms=1700000000123 shard=7', 'phone negative: 13-digit millisecond timestamp');
  clean('Coordinates: 37.7749, -122.4194 (San Francisco)', 'phone negative: coordinates');
  clean('Lat/long 51.5074 N, 0.1278 W; elevation 11 m', 'phone negative: coordinates');
  clean('Exported rows 1000-2000 of 48213', 'phone negative: numeric range');
  clean('Resolution 1920x1080 at 60 Hz, HDR10', 'phone negative: resolution');
  clean('Windows error 0x80070005 (access denied)', 'phone negative: hex error code');
  clean('Annual revenue was 415,555,267 USD across 12 regions.', 'phone negative: comma-grouped amount');
  clean('Due dates: 01/15/2024 and 15.01.2024 (same day, two locales).', 'phone negative: dates');
  clean('Call duration 00:45:12.500, hold time 00:03:09', 'phone negative: durations');
  clean('Room 415, building 555, floor 2', 'phone negative: room numbers');
  clean('Sort code 20-00-00, account 12345678 (test data)', 'phone negative: UK sort code and account number');
  clean('Python 3.12.1 (main, Dec  8 2023, 18:11:51) [GCC 12.2.0] on linux', 'phone negative: interpreter banner');

  // ===========================================================================================
  // us_ssn
  // ===========================================================================================
  add(t`Applicant SSN: ${ssn('219-09-9999')}`, 'us_ssn: dashes');
  add(t`SSN ${ssn('536 22 8726')} on the W-4 does not match payroll.`, 'us_ssn: spaces');
  add(
    t`W-2 box a (employee SSN) ${ssn('412-67-3021')}, box b (EIN) 12-3456789`,
    'us_ssn: next to an EIN (EIN is not an SSN)',
  );
  {
    const rng = new Rng(303);
    const templates: ((s: Label) => Built)[] = [
      (s) => t`{"employee_id": "E-10442", "ssn": "${s}", "state": "CA"}`,
      (s) => t`ssn,last_name,first_name\n${s},Doe,John`,
      (s) => t`Patient: M. Alvarez, DOB 1984-07-21, SSN ${s}.`,
      (s) => t`Verify identity: SSN on file is ${s}; do not share.`,
      (s) => t`<ssn>${s}</ssn>`,
      (s) => t`Social Security Number (${s})`,
      (s) => t`taxpayer_id=${s} filing_status=single`,
    ];
    const seen = new Set<string>(['219-09-9999', '536 22 8726', '412-67-3021']);
    let i = 0;
    while (i < 21) {
      const value = generateSsn(rng, i % 3 === 2 ? ' ' : '-');
      if (seen.has(value)) continue;
      seen.add(value);
      add(templates[i % templates.length]!(ssn(value)), 'us_ssn: generated');
      i++;
    }
    // negatives: each SSA rule broken, both separators
    const negTemplates = [
      (s: string) => `SSN: ${s}`,
      (s: string) => `{"ssn": "${s}"}`,
      (s: string) => `applicant ssn ${s} rejected by validator`,
    ];
    let n = 0;
    for (const kind of INVALID_SSN_KINDS) {
      for (const sep of ['-', ' '] as const) {
        const value = generateInvalidSsn(rng, kind, sep);
        fixtures.invalidSsns.push(value);
        clean(negTemplates[n % negTemplates.length]!(value), `us_ssn negative: ${kind} ('${sep}')`);
        n++;
      }
    }
  }
  add(t`{"ssn": "${ssn('219099999')}"}`, 'us_ssn: 9 digits without separators under an explicit ssn key (issue 19)');
  clean('Customer id 536228726 requested a callback.', 'us_ssn negative: plain 9-digit id');
  clean('SSN ending in 6789 verified by phone.', 'us_ssn negative: last four only');
  clean('Masked: ***-**-6789 and XXX-XX-1234', 'us_ssn negative: masked');
  clean('CAS registry number 7732-18-5 (water)', 'us_ssn negative: CAS number');

  // ===========================================================================================
  // credit_card
  // ===========================================================================================
  add(t`Test with ${card('4111 1111 1111 1111')} and any future expiry.`, 'credit_card: Visa test number, spaces');
  add(t`Amex: ${card('3782-822463-10005')}`, 'credit_card: Amex 4-6-5 with dashes');
  add(t`card=${card('5555555555554444')}&cvc=123`, 'credit_card: Mastercard plain in a query string');
  add(t`Discover ${card('6011111111111117')}, JCB ${card('3530111333300000')}.`, 'credit_card: two cards');
  add(t`Diners Club: ${card('3056 930902 5904')}`, 'credit_card: Diners 14 digits 4-6-4');
  add(t`Visa (13 digits) ${card('4222222222222')} is still accepted`, 'credit_card: 13-digit Visa');
  add(t`"pan": "${card('2223003122003222')}"`, 'credit_card: Mastercard 2-series');
  add(t`UnionPay ${card('6200000000000005')})`, 'credit_card: UnionPay, parenthesis after');
  {
    const rng = new Rng(404);
    const templates: ((c: Label, issuer: CardIssuer) => Built)[] = [
      (c) => t`Please charge ${c} for the annual plan.`,
      (c) => t`{"card_number": "${c}", "exp_month": 9, "exp_year": 2027, "cvc": "314"}`,
      (c) => t`payment failed card=${c} reason=insufficient_funds`,
      (c) => t`Card on file: ${c}`,
      (c) => t`My card number is ${c}, expiry 11/26.`,
      (c, issuer) => t`| ${issuer} | ${c} | active |`,
      (c) => t`<input name="cc-number" value="${c}">`,
      (c) => t`Customer read out "${c}" during the call`,
    ];
    const formats: CardFormat[] = ['plain', 'spaces', 'dashes'];
    let i = 0;
    for (let round = 0; round < 4; round++) {
      for (const issuer of CARD_ISSUERS) {
        const digits = generateCard(rng, issuer);
        const value = formatCard(digits, formats[i % formats.length]!);
        add(templates[i % templates.length]!(card(value), issuer), `credit_card: generated ${issuer}`);
        i++;
      }
    }
    // hard negatives: one digit changed (Luhn fails), issuer prefix kept
    const negTemplates = [
      (c: string) => `Please charge ${c} for the annual plan.`,
      (c: string) => `{"card_number": "${c}", "exp": "09/27"}`,
      (c: string) => `card=${c} declined (invalid number)`,
      (c: string) => `Card on file: ${c}`,
    ];
    let n = 0;
    for (const issuer of [...CARD_ISSUERS, 'visa', 'mastercard', 'amex', 'visa', 'discover'] as CardIssuer[]) {
      const digits = breakLuhn(rng, generateCard(rng, issuer));
      const value = formatCard(digits, formats[n % formats.length]!);
      fixtures.invalidCards.push(value);
      clean(negTemplates[n % negTemplates.length]!(value), `credit_card negative: ${issuer} prefix, Luhn fails`);
      n++;
    }
    // hard negatives: Luhn-valid, but no issuer starts with 9 or 1
    for (const first of ['9', '1', '9', '1', '9'] as const) {
      const digits = generateLuhnValidWithoutIssuer(rng, first);
      const value = formatCard(digits, formats[n % formats.length]!);
      fixtures.invalidCards.push(value);
      clean(
        negTemplates[n % negTemplates.length]!(value),
        `credit_card negative: Luhn-valid 16 digits, no issuer prefix (${first})`,
      );
      n++;
    }
    // Luhn-valid Visa-like numbers of the wrong length
    const twelve = '4' + rng.digits(10);
    const short = twelve + luhnCheckDigit(twelve);
    fixtures.invalidCards.push(short);
    clean(`Reference number ${short} (12 digits) for your records`, 'credit_card negative: Luhn-valid but 12 digits');
    const twenty = '4' + rng.digits(18);
    const long = twenty + luhnCheckDigit(twenty);
    fixtures.invalidCards.push(long);
    clean(`Batch id ${long}`, 'credit_card negative: Luhn-valid, Visa prefix, but 20 digits');
  }
  for (const isbn of ['978-3-16-148410-0', '978-0-306-40615-7', '9781492052203']) {
    fixtures.invalidCards.push(isbn);
  }
  clean('ISBN 978-3-16-148410-0 (hardcover edition)', 'credit_card negative: ISBN-13 with hyphens');
  clean('Cited as: Smith, J. (2019). Systems. ISBN 978-0-306-40615-7.', 'credit_card negative: ISBN-13');
  clean('isbn13,title\n9781492052203,Designing Data-Intensive Apps', 'credit_card negative: plain ISBN-13');
  clean('Order #100023348812 confirmed; 3 items, total $86.40', 'credit_card negative: 12-digit order number');
  clean('Card ending in 4242 was charged $19.00.', 'credit_card negative: last four only');
  clean('Masked PAN: 4111 **** **** 1111', 'credit_card negative: masked PAN');

  // ===========================================================================================
  // iban
  // ===========================================================================================
  add(t`Please wire the deposit to IBAN ${iban('DE89 3704 0044 0532 0130 00')}.`, 'iban: German, grouped');
  add(t`IBAN: ${iban('GB29NWBK60161331926819')}`, 'iban: UK compact');
  add(t`Rekening ${iban('NL91 ABNA 0417 1643 00')} (ABN AMRO)`, 'iban: Dutch, grouped');
  add(t`Coordonnées bancaires : ${iban('FR1420041010050500013M02606')}, BIC PSSTFRPPXXX`, 'iban: French compact');
  {
    const rng = new Rng(505);
    const templates: ((i: Label) => Built)[] = [
      (i) => t`Please wire the deposit to IBAN ${i}.`,
      (i) => t`Bankverbindung: ${i} (BIC DEUTDEFFXXX)`,
      (i) => t`{"beneficiary": "Northwind GmbH", "iban": "${i}", "amount": "1250.00"}`,
      (i) => t`IBAN: ${i}`,
      (i) => t`Refund to ${i}, reference INV-2024-0042`,
      (i) => t`supplier_id;iban;currency\n771;${i};EUR`,
      (i) => t`> Our account: ${i}\n> Thanks!`,
      (i) => t`pay out to "${i}" tomorrow`,
    ];
    let k = 0;
    for (let round = 0; round < 2; round++) {
      for (const country of IBAN_COUNTRIES) {
        const compact = generateIban(rng, country);
        const value = (k + round) % 2 === 0 ? compact : groupIban(compact);
        add(templates[k % templates.length]!(iban(value)), `iban: generated ${country}`);
        k++;
        const other = generateIban(rng, country);
        const value2 = (k + round) % 2 === 0 ? other : groupIban(other);
        add(templates[k % templates.length]!(iban(value2)), `iban: generated ${country}`);
        k++;
      }
    }
    const negTemplates = [
      (v: string) => `Please wire the deposit to IBAN ${v}.`,
      (v: string) => `{"iban": "${v}"}`,
      (v: string) => `IBAN: ${v}`,
    ];
    let n = 0;
    for (const country of IBAN_COUNTRIES) {
      const wrong = withWrongCheckDigits(rng, generateIban(rng, country));
      const value = n % 2 === 0 ? wrong : groupIban(wrong);
      fixtures.invalidIbans.push(value);
      clean(negTemplates[n % negTemplates.length]!(value), `iban negative: ${country} with wrong check digits`);
      n++;
    }
    for (const country of ['DE', 'GB', 'NL', 'IT'] as const) {
      const wrong = withWrongLength(rng, generateIban(rng, country));
      fixtures.invalidIbans.push(wrong);
      clean(
        negTemplates[n % negTemplates.length]!(wrong),
        `iban negative: ${country}, mod-97 correct but wrong length for the country`,
      );
      n++;
    }
  }
  for (const garbage of ['de12 abcd efgh ijkl mnop qr', 'gb00xxxx00000000000000', 'nl99 bank 0000 0000 00']) {
    fixtures.invalidIbans.push(garbage);
  }
  clean('iban placeholder: de12 abcd efgh ijkl mnop qr', 'iban negative: lowercase garbage');
  clean('{"iban": "gb00xxxx00000000000000"}', 'iban negative: lowercase placeholder');
  clean('Format example: nl99 bank 0000 0000 00', 'iban negative: lowercase example');
  fixtures.invalidIbans.push('DE00 0000 0000 0000 0000 00');
  clean('Enter your IBAN (e.g. DE00 0000 0000 0000 0000 00)', 'iban negative: all-zero placeholder');
  clean('SWIFT/BIC: DEUTDEFFXXX, sort code 40-47-84', 'iban negative: BIC and sort code only');

  // ===========================================================================================
  // ipv4
  // ===========================================================================================
  add(t`Listening on ${ip('192.168.1.10')}:8080`, 'ipv4: with port (port not included)');
  add(
    t`Allow ${ip('10.0.0.0')}/8 and ${ip('172.16.0.0')}/12 in the security group.`,
    'ipv4: CIDR (suffix not included)',
  );
  add(t`nameserver ${ip('8.8.8.8')}\nnameserver ${ip('1.1.1.1')}`, 'ipv4: resolv.conf');
  add(t`netmask ${ip('255.255.255.0')} gateway ${ip('192.168.1.1')}`, 'ipv4: netmask and gateway');
  add(t`ssh admin@${ip('10.0.0.1')} -p 2222`, 'ipv4: ssh target (admin@IP is not an email)');
  add(t`Server bound to ${ip('0.0.0.0')}:3000`, 'ipv4: 0.0.0.0 counts (every octet in 0-255)');
  add(t`curl http://${ip('127.0.0.1')}:9000/healthz`, 'ipv4: loopback in a URL');
  add(t`X-Forwarded-For: ${ip('203.0.113.7')}, ${ip('10.1.2.3')}`, 'ipv4: proxy chain');
  add(t`{"client_ip":"${ip('198.51.100.23')}","method":"GET"}`, 'ipv4: JSON');
  add(t`Blocked ${ip('45.33.32.156')}.`, 'ipv4: sentence-final period');
  add(t`peer (${ip('100.64.12.9')}) timed out`, 'ipv4: in parentheses');
  add(t`ip route add default via ${ip('172.31.255.254')}`, 'ipv4: octets near the upper bound');
  add(t`hosts: ${ip('192.0.2.250')} db1.internal`, 'ipv4: hosts-file style');
  {
    const rng = new Rng(606);
    const templates: ((a: Label) => Built)[] = [
      (a) => t`${a} - - [15/Jan/2024:10:22:31 +0000] "GET /health HTTP/1.1" 200 2`,
      (a) => t`Error: connect ECONNREFUSED ${a}:5432`,
      (a) => t`DB_HOST=${a}`,
      (a) => t`Failed password for root from ${a} port 52144 ssh2`,
      (a) => t`"PrivateIpAddress": "${a}",`,
      (a) => t`upstream backend { server ${a}:8443; }`,
      (a) => t`Ping ${a}: 64 bytes, ttl=57, time=12.4 ms`,
      (a) => t`- allowlist: ${a}/32`,
    ];
    const seen = new Set<string>();
    let i = 0;
    while (i < 16) {
      const value = generateIpv4(rng);
      if (seen.has(value)) continue;
      seen.add(value);
      add(templates[i % templates.length]!(ip(value)), 'ipv4: generated');
      i++;
    }
  }
  clean('Invalid address 256.1.1.1 rejected by the parser.', 'ipv4 negative: octet above 255');
  clean('Short form 1.2.3 is not an address.', 'ipv4 negative: three parts');
  clean('OID-like 1.2.3.4.5 in the config', 'ipv4 negative: five parts');
  clean('Released v1.2.3 and 2.0.1-beta today.', 'ipv4 negative: version strings');
  clean('pi is roughly 3.14159 and e is 2.71828', 'ipv4 negative: decimals');
  clean('Meeting on 15.01.2024 at 14.30', 'ipv4 negative: dotted date');
  clean('Windows 10.0.19045.3930 is installed.', 'ipv4 negative: build number with a part above 255');
  clean('Address 300.168.1.1 and 192.168.1.999 are both invalid.', 'ipv4 negative: octets out of range');
  clean('Section 4.2.1 of the RFC covers this.', 'ipv4 negative: section number');
  clean('pip install requests==2.31.0 urllib3==1.26.18', 'ipv4 negative: pinned versions');

  // ===========================================================================================
  // aws_access_key_id / aws_secret_access_key
  // ===========================================================================================
  add(
    t`[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nregion = us-east-1`,
    'aws negative: the documentation example pair is a placeholder (issue 19)',
  );
  {
    const rng = new Rng(707);
    const prefixes = ['AKIA', 'ASIA', 'ABIA', 'ACCA'] as const;
    const pairTemplates: ((id: Label, secret: Label) => Built)[] = [
      (id, s) => t`[prod]\naws_access_key_id = ${id}\naws_secret_access_key = ${s}`,
      (id, s) => t`export AWS_ACCESS_KEY_ID=${id}\nexport AWS_SECRET_ACCESS_KEY=${s}`,
      (id, s) =>
        t`s3 = boto3.client("s3", aws_access_key_id="${id}", aws_secret_access_key="${s}", region_name="eu-west-1")`,
      (id, s) => t`{"AccessKeyId": "${id}", "SecretAccessKey": "${s}", "Expiration": "2024-06-01T12:00:00Z"}`,
      (id, s) =>
        t`env:\n  - name: AWS_ACCESS_KEY_ID\n    value: ${id}\n  - name: AWS_SECRET_ACCESS_KEY\n    value: ${s}`,
      (id, s) => t`Here are my creds, why does s3 ls fail? key ${id} secret ${s}`,
      (id, s) => t`| ${id} | ${s} | ci-deployer |`,
    ];
    for (let i = 0; i < 14; i++) {
      const id = generateAwsAccessKeyId(rng, prefixes[i % prefixes.length]!);
      const secret = generateAwsSecretAccessKey(rng);
      add(pairTemplates[i % pairTemplates.length]!(akid(id), awsSecret(secret)), 'aws: generated key id + secret');
    }
    const idTemplates: ((id: Label) => Built)[] = [
      (id) => t`User arn:aws:iam::123456789012:user/ci created access key ${id}.`,
      (id) => t`WARN rotated key ${id} is older than 90 days`,
      (id) => t`"accessKeyId":"${id}"`,
      (id) => t`Revoke ${id} now`,
    ];
    for (let i = 0; i < 8; i++) {
      const id = generateAwsAccessKeyId(rng, prefixes[(i + 1) % prefixes.length]!);
      add(idTemplates[i % idTemplates.length]!(akid(id)), 'aws_access_key_id: generated, alone');
    }
    const secretTemplates: ((s: Label) => Built)[] = [
      (s) => t`AWS_SECRET_ACCESS_KEY=${s}`,
      (s) => t`secret_access_key: "${s}"`,
      (s) => t`The secret is ${s} (please rotate after the demo).`,
      (s) => t`aws configure set aws_secret_access_key ${s}`,
    ];
    for (let i = 0; i < 8; i++) {
      add(
        secretTemplates[i % secretTemplates.length]!(awsSecret(generateAwsSecretAccessKey(rng))),
        'aws_secret_access_key: generated, alone',
      );
    }
    // negatives
    clean(
      `aws_access_key_id = AKIA${rng.string(15, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`,
      'aws_access_key_id negative: AKIA + 15 characters',
    );
    clean(`key: akia${rng.string(16, 'abcdefghijklmnopqrstuvwxyz234567')}`, 'aws_access_key_id negative: lower case');
    clean(
      'IAM user id AIDAJQABLZS4A3QDU576 and role id AROA3XFRBF535PLBIFPI4',
      'aws_access_key_id negative: AIDA/AROA unique ids',
    );
    clean('Ticket ref ABCDEFGHIJ0123456789 (20 chars)', 'aws_access_key_id negative: other 20-char uppercase token');
    clean(
      `token=AKIA${rng.string(17, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567')}`,
      'aws_access_key_id negative: AKIA + 17 characters (part of a longer token)',
    );
    for (let i = 0; i < 3; i++) {
      const sha = sha1Hex(`commit-${i}`);
      clean(
        [
          `commit ${sha}\nAuthor: Release Bot\nDate:   Mon Jan 15 10:22:31 2024 +0000`,
          `Fixed in ${sha}.`,
          `"sha": "${sha}"`,
        ][i]!,
        'aws_secret_access_key negative: 40-char lowercase hex (git SHA-1)',
      );
    }
    clean(
      `X-Checksum-Sha1: ${sha1Hex('report.pdf').toUpperCase()}`,
      'aws_secret_access_key negative: 40-char uppercase hex',
    );
    for (let i = 0; i < 2; i++) {
      clean(
        [`sha256sum: ${sha256Hex('release-1.4.2.tar.gz')}  release.tar.gz`, `"integrity": "${sha256Hex('pkg')}"`][i]!,
        'aws_secret_access_key negative: 64-char hex (SHA-256)',
      );
    }
    clean(`SESSION_KEY=${randomBase64(rng, 32)}`, 'aws_secret_access_key negative: 44-char base64 (32 bytes)');
    clean(`"nonce": "${randomBase64(rng, 32)}"`, 'aws_secret_access_key negative: 44-char base64');
    clean(`signature: ${randomBase64(rng, 64)}`, 'aws_secret_access_key negative: 88-char base64 (64 bytes)');
    clean(
      `data:application/octet-stream;base64,${randomBase64(rng, 96)}`,
      'aws_secret_access_key negative: long base64',
    );
    clean(
      'const BANNER = "ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMN";',
      'aws_secret_access_key negative: 40 uppercase letters',
    );
    clean('slug: thisisaverylongidentifierwithoutanybreak', 'aws_secret_access_key negative: 40 lowercase letters');
    clean(
      'class ThisIsAVeryLongCamelCaseIdentifierNameXy {}',
      'aws_secret_access_key negative: 40 mixed-case letters without a digit, / or +',
    );
  }

  // ===========================================================================================
  // private_key
  // ===========================================================================================
  {
    const rng = new Rng(808);
    const templates: ((k: Label) => Built)[] = [
      (k) => t`${k}`,
      (k) => t`Can you tell me why ssh rejects this key?\n\n\`\`\`\n${k}\n\`\`\`\n`,
      (k) => t`$ cat server.key\n${k}\n$ openssl rsa -check -noout`,
      (k) => t`private_key_pem = <<EOT\n${k}\nEOT`,
    ];
    let i = 0;
    for (const kind of PRIVATE_KEY_KINDS) {
      for (let j = 0; j < 4; j++) {
        const block = buildPrivateKey(rng, kind, { ecPkcs8: kind === 'PRIVATE KEY' && j % 2 === 1 });
        add(templates[(i + j) % templates.length]!(pkey(block)), `private_key: ${kind}`);
      }
      i++;
    }
    const encryptedRsa = buildPrivateKey(rng, 'RSA PRIVATE KEY', {
      headers: ['Proc-Type: 4,ENCRYPTED', 'DEK-Info: AES-128-CBC,3F17F5316E2BAC89D1A6F3B8C2E0A4D7'],
    });
    add(
      t`Legacy key from the old VPN box:\n${pkey(encryptedRsa)}\n`,
      'private_key: RSA with Proc-Type/DEK-Info headers',
    );
    const ec = buildPrivateKey(rng, 'EC PRIVATE KEY');
    const indented = ec.split('\n').join('\n    ');
    add(
      t`tls:\n  cert: /etc/tls/server.crt\n  key: |\n    ${pkey(indented)}\n  minVersion: TLS1.2`,
      'private_key: indented YAML block scalar (value keeps the indentation of inner lines)',
    );
    const gcp = buildPrivateKey(rng, 'PRIVATE KEY');
    const escaped = gcp.split('\n').join('\\n');
    add(
      t`{"type": "service_account", "project_id": "acme-prod", "private_key_id": "${sha1Hex('gcp-key-id')}", "private_key": "${pkey(escaped)}\\n", "client_id": "104857392019283746512"}`,
      'private_key: GCP service-account JSON, newlines escaped as \\n (value as it appears)',
    );
    const ssh = buildPrivateKey(rng, 'OPENSSH PRIVATE KEY');
    add(
      t`DEBUG loaded deploy key from disk:\n${pkey(ssh)}\nDEBUG key type ssh-ed25519, comment deploy@ci`,
      'private_key: OpenSSH key dumped in a debug log',
    );
    // negatives
    clean(buildPublicKey(rng), 'private_key negative: PUBLIC KEY block');
    clean(`ca.pem:\n${buildCertificate(rng)}`, 'private_key negative: CERTIFICATE block');
    clean(buildPemBlock(rng, 'CERTIFICATE REQUEST', 300), 'private_key negative: CSR block');
    clean(
      'Never paste your private key into chat. If a private key leaks, revoke the certificate and generate a new key pair.',
      'private_key negative: prose about private keys',
    );
    clean(
      'The file must start with -----BEGIN PRIVATE KEY----- and end with the matching END line.',
      'private_key negative: a lone BEGIN marker in documentation, no body or END',
    );
    clean(
      `ssh-ed25519 ${Buffer.concat([Buffer.from('0000000b7373682d65643235353139', 'hex'), Buffer.from('00000020', 'hex'), rng.bytes(32)]).toString('base64')} deploy@ci`,
      'private_key negative: OpenSSH public key line',
    );
  }

  // ===========================================================================================
  // jwt
  // ===========================================================================================
  add(
    t`Authorization: Bearer ${jwt('eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c')}`,
    'jwt: the jwt.io example; value excludes "Bearer "',
  );
  {
    const rng = new Rng(909);
    const headers: { header: Record<string, unknown>; sig: number }[] = [
      { header: { alg: 'HS256', typ: 'JWT' }, sig: 32 },
      { header: { alg: 'RS256', typ: 'JWT', kid: '2024-01-rotation' }, sig: 256 },
      { header: { alg: 'ES256', kid: 'k1' }, sig: 64 },
      { header: { typ: 'JWT', alg: 'HS512' }, sig: 64 },
    ];
    const payloads: Record<string, unknown>[] = [
      { sub: 'auth0|64f1c2a9', aud: 'https://api.example.com', scope: 'read:orders', exp: 1700003600 },
      { iss: 'https://login.example.org/', sub: 'user-4821', roles: ['admin'], iat: 1700000000 },
      { sub: '1234567890', name: 'Jane Roe', admin: true },
      { tenant: 'acme', team: 'search', exp: 1893456000 },
      { iss: 'gateway', sub: 'svc-batch', aud: ['billing', 'usage'], nbf: 1700000100 },
    ];
    const templates: ((j: Label) => Built)[] = [
      (j) => t`Authorization: Bearer ${j}`,
      (j) => t`Set-Cookie: session=${j}; Path=/; HttpOnly; Secure`,
      (j) => t`{"access_token":"${j}","token_type":"Bearer","expires_in":3600}`,
      (j) => t`GET /callback?id_token=${j}&state=af0ifjsldkj HTTP/1.1`,
      (j) => t`DEBUG auth: verifying token ${j} for tenant acme`,
      (j) => t`localStorage.setItem('jwt', '${j}');`,
      (j) => t`export TOKEN="${j}"`,
      (j) => t`Token expired: ${j}.`,
    ];
    for (let i = 0; i < 24; i++) {
      const h = headers[i % headers.length]!;
      const token = buildJwt(rng, h.header, payloads[i % payloads.length]!, h.sig);
      add(templates[i % templates.length]!(jwt(token)), `jwt: generated ${String(h.header['alg'])}`);
    }
  }
  clean('Loaded class com.example.billing.InvoiceService from app.jar', 'jwt negative: dotted Java identifier');
  clean('token=dGhpcyBpcw.bm90IGEgand0.c2lnbmF0dXJlMTIz', 'jwt negative: three base64 segments not starting with eyJ');
  clean('header.payload = eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ', 'jwt negative: eyJ... with only two segments');
  clean('jwt: eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.abc123', 'jwt negative: signature shorter than 10 characters');
  add(
    t`unsigned: ${jwt('eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.')}`,
    'jwt: unsigned (alg none, empty signature), a token all the same (issue 19)',
  );
  clean('See www.example.co.uk and logger.info.format for details.', 'jwt negative: dotted names');
  clean('The token has three parts: header.payload.signature', 'jwt negative: prose');

  // ===========================================================================================
  // api_key
  // ===========================================================================================
  add(
    t`xoxb token for the deploy bot: ${apiKey('xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx')}`,
    'api_key: Slack bot token (documentation shape)',
  );
  {
    const rng = new Rng(1010);
    const templates: ((k: Label) => Built)[] = [
      (k) => t`OPENAI_API_KEY=${k}`,
      (k) => t`const client = new OpenAI({ apiKey: "${k}" });`,
      (k) => t`Authorization: Bearer ${k}`,
      (k) => t`I accidentally committed ${k} to the repo, how do I revoke it?`,
      (k) => t`{"token": "${k}", "scopes": ["repo"]}`,
      (k) => t`api_key: '${k}'`,
      (k) => t`curl -H "x-api-key: ${k}" https://api.example.com/v1/messages`,
    ];
    const keys: { value: string; note: string }[] = [];
    for (let i = 0; i < 4; i++) keys.push({ value: generateOpenAiKey(rng, 'legacy'), note: 'OpenAI legacy sk-' });
    for (let i = 0; i < 4; i++) keys.push({ value: generateOpenAiKey(rng, 'project'), note: 'OpenAI sk-proj-' });
    for (let i = 0; i < 5; i++) keys.push({ value: generateAnthropicKey(rng), note: 'Anthropic sk-ant-api03-' });
    for (const prefix of ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'ghp_', 'ghs_'] as GithubTokenPrefix[]) {
      keys.push({ value: generateGithubToken(rng, prefix), note: `GitHub ${prefix}` });
    }
    for (let i = 0; i < 3; i++) keys.push({ value: generateGithubFineGrainedPat(rng), note: 'GitHub github_pat_' });
    for (const prefix of ['xoxb', 'xoxp', 'xoxa', 'xoxr', 'xoxs'] as SlackTokenPrefix[]) {
      keys.push({ value: generateSlackToken(rng, prefix), note: `Slack ${prefix}-` });
    }
    for (let i = 0; i < 5; i++) keys.push({ value: generateGatewayKey(rng), note: 'gateway gwk_ key' });
    keys.forEach((k, i) => add(templates[i % templates.length]!(apiKey(k.value)), `api_key: generated ${k.note}`));
  }
  clean('OPENAI_API_KEY=sk-1', 'api_key negative: sk- with a short suffix');
  clean('apiKey: "sk-your-key-here"', 'api_key negative: placeholder');
  clean('Keys start with sk- followed by a long random string.', 'api_key negative: prose');
  clean('We use the ghp prefix to recognise classic GitHub tokens.', 'api_key negative: the word ghp');
  clean('GITHUB_TOKEN=ghp_XXXXXXXXXXXX', 'api_key negative: ghp_ placeholder, far too short');
  clean('The bot token looks like xoxb followed by numbers.', 'api_key negative: xoxb alone');
  clean('SLACK_TOKEN=xoxb-your-token', 'api_key negative: Slack placeholder');
  clean(
    "apiKey: 'gwk_aaaaaaaaaaaa_nope'",
    'api_key negative: gateway key with a 4-char secret (from the gateway tests)',
  );
  clean('Fine-grained tokens start with github_pat_ and are much longer.', 'api_key negative: github_pat_ alone');
  clean('.sk-button { color: red; } .sk-spinner { width: 2em; }', 'api_key negative: CSS classes with sk-');
  clean('Anthropic keys look like sk-ant-api03-... (truncated in docs)', 'api_key negative: truncated prefix');

  // ===========================================================================================
  // Several detectors in one text
  // ===========================================================================================
  {
    const rng = new Rng(1111);
    const id = generateAwsAccessKeyId(rng, 'AKIA');
    const secret = generateAwsSecretAccessKey(rng);
    const openai = generateOpenAiKey(rng, 'legacy');
    const slack = generateSlackToken(rng, 'xoxb');
    add(
      t`# production secrets - do not commit\nAWS_ACCESS_KEY_ID=${akid(id)}\nAWS_SECRET_ACCESS_KEY=${awsSecret(secret)}\nOPENAI_API_KEY=${apiKey(openai)}\nSLACK_BOT_TOKEN=${apiKey(slack)}\nDB_HOST=${ip('10.20.30.40')}\nADMIN_EMAIL=${email('admin@acme-corp.io')}\n`,
      'multi: leaked .env file',
    );

    const cardNo = formatCard(generateCard(rng, 'visa'), 'spaces');
    const deIban = groupIban(generateIban(rng, 'DE'));
    add(
      t`{"customer": {"name": "Maria Lopez", "email": "${email('maria.lopez@example.com')}", "phone": "${phone('+34 612 345 678')}", "ssn": "${ssn('287-65-4320')}", "card": "${card(cardNo)}", "iban": "${iban(deIban)}", "created": "2024-01-15T09:30:00Z"}}`,
      'multi: CRM record with every personal field',
    );

    const mc = formatCard(generateCard(rng, 'mastercard'), 'plain');
    const esIban = generateIban(rng, 'ES');
    add(
      t`Hi, I'm Sam (${email('sam.taylor@example.net')}, ${phone('(503) 555-0148')}). My card ${card(mc)} was charged twice on 2024-02-03. Please refund to ${iban(esIban)}. Thanks!`,
      'multi: support ticket prose',
    );

    const token = buildJwt(rng, { alg: 'HS256', typ: 'JWT' }, { sub: 'u_7731', exp: 1700007200 });
    add(
      t`${ip('203.0.113.9')} - - [15/Jan/2024:10:22:31 +0000] "GET /api/v1/me?access_token=${jwt(token)} HTTP/1.1" 200 512 "-" "curl/8.4.0"`,
      'multi: access log with a JWT in the query string',
    );

    add(
      t`Error: connect ETIMEDOUT ${ip('10.0.4.21')}:5432\n    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1555:16)\n    at processTicksAndRejections (node:internal/process/task_queues:95:5)\nReported by ${email('ops-alerts@example.com')}`,
      'multi: Node.js stack trace',
    );

    add(
      t`--\nPriya Raman | Head of Finance\nNorthwind Traders, 1 Main St, Cambridge, MA 02142\n${email('priya.raman@northwind-traders.com')} | ${phone('+1 617 555 0134')}\nThis email and any attachments are confidential.`,
      'multi: email signature with a ZIP code (ZIP is not a phone)',
    );

    const pyId = generateAwsAccessKeyId(rng, 'AKIA');
    const pySecret = generateAwsSecretAccessKey(rng);
    add(
      t`import boto3\n\n# TODO move to secrets manager\nsession = boto3.Session(\n    aws_access_key_id="${akid(pyId)}",\n    aws_secret_access_key="${awsSecret(pySecret)}",\n)\nprint(session.client("sts").get_caller_identity())`,
      'multi: Python source with hard-coded credentials',
    );

    const anthropic = generateAnthropicKey(rng);
    add(
      t`curl https://api.anthropic.com/v1/messages \\\n  -H "x-api-key: ${apiKey(anthropic)}" \\\n  -H "anthropic-version: 2023-06-01" \\\n  -H "content-type: application/json" \\\n  -d '{"model": "claude-3-5-sonnet-latest", "max_tokens": 1024, "messages": [{"role": "user", "content": "Hello"}]}'`,
      'multi: curl command with an Anthropic key',
    );

    const bearer = buildJwt(rng, { alg: 'RS256', typ: 'JWT', kid: 'a1b2' }, { sub: 'svc', aud: 'orders' }, 256);
    add(
      t`POST /v1/orders HTTP/1.1\nHost: api.example.com\nAuthorization: Bearer ${jwt(bearer)}\nX-Forwarded-For: ${ip('198.51.100.77')}, ${ip('10.0.12.5')}\nContent-Type: application/json\n\n{"sku": "SKU-88213", "qty": 2}`,
      'multi: HTTP request dump',
    );

    add(
      t`name,email,phone,ssn\nJohn Smith,${email('john.smith@example.com')},${phone('415-555-0162')},${ssn('523-45-1987')}\nAna Lima,${email('ana.lima@example.com')},${phone('+1 212 555 0177')},${ssn('611 02 4410')}`,
      'multi: CSV export of people',
    );

    const ghs = generateGithubToken(rng, 'ghs_');
    add(
      t`Run actions/checkout@v4\n  with:\n    token: ${apiKey(ghs)}\nSyncing repository: acme/api\n$ git remote add origin git@github.com:acme/api.git`,
      'multi: CI log with a GitHub token and an SCP-style remote',
    );

    const nlIban = groupIban(generateIban(rng, 'NL'));
    add(
      t`Summarise this customer email:\n"""\nDear team, my new account is ${iban(nlIban)} and you can reach me on ${phone('+31 20 555 0123')} or ${email('k.devries@example.nl')}.\n"""`,
      'multi: prompt embedding a customer email',
    );

    const slack2 = generateSlackToken(rng, 'xoxp');
    add(
      t`@channel rotating the user token ${apiKey(slack2)} now, new one is in Vault. ping @sre if CI breaks`,
      'multi: chat message with a token and @handles',
    );

    const leaked = formatCard(generateCard(rng, 'amex'), 'plain');
    add(
      t`{"type":"charge.failed","data":{"card":{"last4":"4242","brand":"visa"},"raw_pan":"${card(leaked)}","billing_email":"${email('billing@globex.com.au')}","ip":"${ip('192.0.2.44')}"}}`,
      'multi: webhook payload (last4 alone is not a card)',
    );

    const gwk = generateGatewayKey(rng);
    add(
      t`curl -H "Authorization: Bearer ${apiKey(gwk)}" http://${ip('10.0.0.5')}:8080/v1/models`,
      'multi: gateway key used against a private IP',
    );

    const tfId = generateAwsAccessKeyId(rng, 'AKIA');
    const tfSecret = generateAwsSecretAccessKey(rng);
    const tfKey = buildPrivateKey(rng, 'RSA PRIVATE KEY', { bodyBytes: 300 });
    add(
      t`access_key = "${akid(tfId)}"\nsecret_key = "${awsSecret(tfSecret)}"\nssh_private_key = <<EOF\n${pkey(tfKey)}\nEOF\nallowed_cidr = "${ip('203.0.113.0')}/24"`,
      'multi: terraform.tfvars',
    );

    const frIban = groupIban(generateIban(rng, 'FR'));
    add(
      t`Bitte überweisen Sie 1.299,99 EUR bis 15.02.2024 auf ${iban(frIban)}. Rückfragen: ${phone('+49 30 1234567')}`,
      'multi: German invoice text with a European price and date',
    );

    const proj = generateOpenAiKey(rng, 'project');
    add(
      t`| Service | Host | Credential |\n|---|---|---|\n| llm | ${ip('172.20.1.15')} | ${apiKey(proj)} |\n| smtp | ${ip('172.20.1.16')} | ${email('relay@mail.example.com')} |`,
      'multi: markdown table',
    );

    const jcb = formatCard(generateCard(rng, 'jcb'), 'dashes');
    add(
      t`Name: K. Sato\nPhone: ${phone('+81 90-1234-5678')}\nCard: ${card(jcb)}\nSSN: ${ssn('078-12-5544')}\nNote: call after 18:00 JST`,
      'multi: form dump',
    );

    const ghp = generateGithubToken(rng, 'ghp_');
    const sessionJwt = buildJwt(rng, { alg: 'HS256', typ: 'JWT' }, { sub: 'dev', iat: 1700000000 });
    add(
      t`[2024-04-01 12:00:01] config loaded: {"github_token": "${apiKey(ghp)}", "session": "${jwt(sessionJwt)}", "webhook": "https://hooks.example.com/T000/B000"}`,
      'multi: config dump in a log line',
    );
  }

  // ===========================================================================================
  // Clean everyday texts (no sensitive data)
  // ===========================================================================================
  clean('The quarterly report is attached; revenue grew 12% year over year.', 'clean: prose');
  clean("SELECT id, created_at FROM orders WHERE status = 'shipped' ORDER BY id DESC LIMIT 50;", 'clean: SQL');
  clean(
    'Traceback (most recent call last):\n  File "/app/main.py", line 42, in <module>\n    main()\n  File "/app/main.py", line 17, in main\n    user = users[payload["user_id"]]\nKeyError: \'user_id\'',
    'clean: Python traceback',
  );
  clean('Meeting moved to Thursday 14:00 CET, room B2.', 'clean: calendar note');
  clean(
    '{"retries": 3, "timeout_ms": 30000, "model": "gpt-4o-mini", "temperature": 0.2, "max_tokens": 1024}',
    'clean: JSON config',
  );
  clean('## Install\n\n```sh\nnpm ci\nnpm test\n```\n\nSee `CONTRIBUTING.md` for details.', 'clean: markdown');
  clean('Pod api-7d9f8b6c5-x2k4q restarted 3 times in the last 24h (OOMKilled).', 'clean: Kubernetes event');
  clean('docker run -p 8080:8080 ghcr.io/acme/api:1.4.2', 'clean: docker command with a version tag');
  clean('commit 3f2a9c1 Merge pull request #4821 from acme/feature/dlp', 'clean: short git hash and PR number');
  clean('Use an IAM role instead of long-lived access keys wherever possible.', 'clean: security advice');
  clean('Please enter your credit card number only on the payment page.', 'clean: mentions a card number');
  clean('Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.', 'clean: filler');
  clean('Temperature 21.5°C, humidity 48%, wind 12 km/h from the north-west.', 'clean: weather');
  clean('Dependencies: react 18.2.0, typescript 5.9.2, node 20.20.2', 'clean: version list');
  clean('Final score 3-2 after extra time; attendance 45,213.', 'clean: sports result');
  clean('ls -la /var/log && tail -n 200 app.log | grep -i error', 'clean: shell');
  clean(
    'function add(a: number, b: number): number {\n  return a + b;\n}\n\nconsole.log(add(2, 3)); // 5',
    'clean: TypeScript snippet',
  );
  clean('Rate limit: 600 requests per minute, burst 50, window 60s.', 'clean: limits');
  clean('The invoice total is EUR 4,380.00 payable within 30 days.', 'clean: invoice prose');
  clean('Checksum (CRC32): 0x1c291ca3, size 1048576 bytes', 'clean: checksum and size');
  clean('Flight LH 455 departs 10:35 from gate B44, seat 23A.', 'clean: travel');
  clean('Ask the model to summarise the attached PDF in three bullet points.', 'clean: prompt');
  clean('ARN arn:aws:lambda:eu-west-1:123456789012:function:gateway-chat', 'clean: ARN with an account id');
  clean('GET /v1/models 200 12ms; GET /v1/chat/completions 200 843ms', 'clean: request summary');

  return { cases, fixtures };
}

const built = buildDlpCorpus();

/** The labelled corpus. */
export const DLP_CORPUS: CorpusCase[] = built.cases;

/** The raw hard-negative values the corpus embeds (for the corpus sanity test). */
export const DLP_CORPUS_FIXTURES: CorpusFixtures = built.fixtures;
