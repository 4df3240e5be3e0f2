import fc from 'fast-check';
import { parseGatewayConfig } from '../../lambdas/shared/catalog/schema';
import { PolicyEngine } from '../../lambdas/shared/policy/engine';
import { RestoringChannel, MAX_PLACEHOLDER_CHARS } from '../../lambdas/shared/policy/redactor';
import { testConfig } from '../helpers/config';

/** A request's redactor after a prompt with two reversible findings and one plain redaction. */
function redacted() {
  const config = parseGatewayConfig({
    ...testConfig,
    policies: {
      profiles: {
        default: {
          detectors: [
            { detector: 'email', action: 'redact_reversible' },
            { detector: 'credit_card', action: 'redact' },
          ],
        },
      },
    },
  });
  const policy = new PolicyEngine(config.policies).profileFor(undefined);
  const redactor = policy.newRedactor();
  const checked = policy.checkText('a@example.com, b@example.com, card 4111 1111 1111 1111', 'input', redactor);
  return { policy, redactor, checked };
}

describe('reversible redaction', () => {
  it('redacts like a redaction (decision redact) and restores only reversible placeholders', () => {
    const { redactor, checked } = redacted();
    expect(checked.text).toBe('[EMAIL_1], [EMAIL_2], card [CREDIT_CARD_1]');
    expect(checked.decision.action).toBe('redact');
    expect(redactor.restore('to [EMAIL_2] and [EMAIL_1]; [CREDIT_CARD_1]; [EMAIL_3]; [EMAIL 1]')).toBe(
      'to b@example.com and a@example.com; [CREDIT_CARD_1]; [EMAIL_3]; [EMAIL 1]',
    );
  });

  it('restores the same text however a stream splits it into deltas', () => {
    const { redactor } = redacted();
    const pieces = fc.constantFrom(
      '[EMAIL_1]',
      '[EMAIL_2]',
      '[EMAIL_9]',
      '[',
      ']',
      'EMAIL',
      '_1',
      ' ',
      'x',
      '[x]',
      '[[',
    );
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 10 }), (parts, cuts) => {
        const text = parts.join('');
        const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
        const channel = new RestoringChannel(redactor);
        let out = '';
        let from = 0;
        for (const point of [...points, text.length]) {
          out += channel.push(text.slice(from, point));
          from = point;
        }
        out += channel.end();
        expect(out).toBe(redactor.restore(text));
      }),
      { numRuns: 500 },
    );
  });

  it('holds back at most one placeholder length, so a stream of brackets is not withheld', () => {
    const { redactor } = redacted();
    const channel = new RestoringChannel(redactor);
    const released = channel.push('[' + 'A'.repeat(200));
    expect(released.length).toBe(201);
    expect(channel.push('x [EMA')).toBe('x ');
    expect(channel.push('IL_1]')).toBe('a@example.com');
    expect(MAX_PLACEHOLDER_CHARS).toBeLessThan(100);
  });

  it('gives values back to every key of the profile by default (restoreFor: ["*"])', () => {
    const { policy } = redacted();
    expect(policy.restoresFor('abcdefghijkl')).toBe(true);
  });
});
