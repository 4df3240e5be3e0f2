import { picosToMicrosApprox } from '../../lambdas/shared/cost/money';
import { Catalog } from '../../lambdas/shared/catalog/catalog';
import { parseGatewayConfig } from '../../lambdas/shared/catalog/schema';
import {
  IMAGE_TOKEN_BOUND,
  MESSAGE_OVERHEAD_BOUND,
  promptTokenBound,
  REQUEST_OVERHEAD_BOUND,
} from '../../lambdas/shared/chat/token-estimate';
import type { ChatStreamEvent } from '../../lambdas/shared/chat/types';
import { priceUsage } from '../../lambdas/shared/cost/pricing';
import { AnswerPolicy } from '../../lambdas/shared/exchange/answer-policy';
import type { ExchangeRequest } from '../../lambdas/shared/exchange/exchange';
import { auditRecordOf, observationOf, usageRecordOf, type Outcome } from '../../lambdas/shared/exchange/outcome';
import { applyLocalPolicy, mayUse, policyOf, resolveExchange } from '../../lambdas/shared/exchange/planning';
import { refusalOutcome } from '../../lambdas/shared/exchange/recording';
import type { AuthenticatedCaller } from '../../lambdas/shared/keys/authenticator';
import { PolicyEngine } from '../../lambdas/shared/policy/engine';
import { PolicyViolationError } from '../../lambdas/shared/policy/errors';
import { testConfig } from '../helpers/config';
import { errorOf } from '../helpers/errors';

/**
 * The exchange core's parts on their own, with no network: planning (catalog, access, output
 * cap, local policy), the views of one outcome, and the answer policy.
 */

const config = parseGatewayConfig({
  ...testConfig,
  models: [
    ...testConfig.models,
    { id: 'backup', provider: 'mock', upstreamModel: 'backup', prices: { input: 1, output: 2 } },
    {
      id: 'primary',
      provider: 'mock',
      upstreamModel: 'primary',
      prices: { input: 3, output: 15 },
      maxOutputTokens: 500,
      fallbacks: ['backup', 'mock-small'],
    },
  ],
  policies: {
    profiles: {
      default: {
        denyRules: [{ id: 'codenames', message: 'No code names.', keywords: ['project kestrel'] }],
        detectors: [
          { detector: 'email', action: 'redact' },
          { detector: 'credit_card', action: 'block', direction: 'output' },
        ],
      },
    },
  },
});
const deps = { catalog: new Catalog(config), policies: new PolicyEngine(config.policies) };

function callerWith(allowedModels: string[], keyModels?: string[]): AuthenticatedCaller {
  return {
    team: {
      teamId: 'team-a',
      name: 'A',
      softAlertPercent: 80,
      requestsPerMinute: 10,
      tokensPerMinute: 10_000,
      allowedModels,
      status: 'active',
      createdAt: '2026-11-01T00:00:00Z',
      updatedAt: '2026-11-01T00:00:00Z',
    },
    key: {
      keyId: 'abcdefghijkl',
      teamId: 'team-a',
      ...(keyModels ? { allowedModels: keyModels } : {}),
    },
  };
}

const context = { requestId: 'req-1', receivedAt: Date.UTC(2026, 10, 29, 12, 0, 0) };
const ask = (content: string, extra: Partial<ExchangeRequest> = {}): ExchangeRequest => ({
  model: 'primary',
  chat: { messages: [{ role: 'user', content: [{ type: 'text', text: content }] }] },
  stream: false,
  ...extra,
});

describe('planning', () => {
  it('refuses an unknown model with 404 and a forbidden one with 403, both naming `model`', () => {
    const unknown = errorOf(() => resolveExchange(deps, callerWith(['*']), ask('hi', { model: 'nope' }), context));
    expect([unknown.status, unknown.code, unknown.param]).toEqual([404, 'model_not_found', 'model']);
    const forbidden = errorOf(() => resolveExchange(deps, callerWith(['mock-*']), ask('hi'), context));
    expect([forbidden.status, forbidden.code, forbidden.param]).toEqual([403, 'model_not_allowed', 'model']);
  });

  it("caps output at the model's limit, and refuses more under the face's own name for the parameter", () => {
    const planned = resolveExchange(deps, callerWith(['*']), ask('hi'), context);
    expect(planned.upstream.maxOutputTokens).toBe(500);
    const tooMuch = errorOf(() =>
      resolveExchange(
        deps,
        callerWith(['*']),
        ask('hi', { maxOutputTokens: { value: 501, param: 'max_tokens' } }),
        context,
      ),
    );
    expect([tooMuch.status, tooMuch.param]).toEqual([400, 'max_tokens']);
  });

  it('routes to the fallbacks the caller may use, the requested model first', () => {
    const planned = resolveExchange(deps, callerWith(['primary', 'mock-small']), ask('hi'), context);
    expect(planned.candidates.map((candidate) => candidate.model.id)).toEqual(['primary', 'mock-small']);
    expect(
      mayUse(callerWith(['*'], ['mock-small']), deps.catalog.findModel('primary')!, policyOf(deps, callerWith(['*']))),
    ).toBe(false);
  });

  it('applies the local policy: redacts with placeholders, keeps the excerpt redacted, blocks on a deny rule', () => {
    const planned = resolveExchange(deps, callerWith(['*']), ask('mail jane@example.com about it'), context);
    expect(planned.promptExcerpt).toBe('mail [EMAIL_1] about it');
    applyLocalPolicy(planned);
    expect(planned.decision).toEqual({ action: 'redact', ruleIds: ['dlp:email'] });
    expect(JSON.stringify(planned.upstream)).not.toContain('jane@example.com');
    const blocked = resolveExchange(deps, callerWith(['*']), ask('status of Project Kestrel?'), context);
    expect(() => applyLocalPolicy(blocked)).toThrow(PolicyViolationError);
  });

  it('scans the prompt for the audit excerpt only when the excerpt is first read, once, and after the upstream redaction gives the same placeholders', () => {
    const planned = resolveExchange(deps, callerWith(['*']), ask('mail jane@example.com about it'), context);
    const scans = jest.spyOn(planned.policy, 'redactAll');
    applyLocalPolicy(planned);
    expect(scans).not.toHaveBeenCalled();
    expect(planned.promptExcerpt).toBe('mail [EMAIL_1] about it');
    expect(planned.promptExcerpt).toBe('mail [EMAIL_1] about it');
    expect(scans).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(planned.upstream)).toContain('[EMAIL_1]');
  });
});

describe('one outcome, many views', () => {
  const model = deps.catalog.findModel('backup')!;
  const usage = { inputTokens: 120, outputTokens: 30, cacheReadTokens: 0, cacheWriteTokens: 0 };
  const served: Outcome = {
    requestId: 'req-1',
    receivedAt: context.receivedAt,
    teamId: 'team-a',
    keyId: 'abcdefghijkl',
    requestedModel: 'primary',
    requestedEntry: 'primary',
    streamed: true,
    kind: 'ok',
    httpStatus: 200,
    decision: { action: 'redact', ruleIds: ['dlp:email'] },
    latencyMs: 250,
    route: {
      model,
      target: { connectionName: 'mock', connection: deps.catalog.connectionOf(model), upstreamModel: 'backup' },
      attempts: 3,
      attemptLog: [
        { provider: 'mock', model: 'primary', outcome: 'failed', failure: 'unavailable' },
        { provider: 'mock', model: 'primary', outcome: 'failed', failure: 'unavailable' },
        { provider: 'mock', model: 'backup', outcome: 'ok' },
      ],
    },
    usage,
    cost: priceUsage(usage, model.prices),
    upstreamMs: 200,
    timeToFirstTokenMs: 90,
    promptExcerpt: 'mail [EMAIL_1]',
  };

  it('tells the ledger, the audit trail and the metrics the same facts', () => {
    const record = usageRecordOf({ ...served, route: served.route!, usage, cost: served.cost! });
    const audit = auditRecordOf(served);
    const observation = observationOf(served);
    expect(record).toMatchObject({ model: 'backup', provider: 'mock', attempts: 3, status: 'ok', streamed: true });
    expect(record.createdAt).toBe('2026-11-29T12:00:00.000Z');
    expect(audit).toMatchObject({
      model: 'backup',
      provider: 'mock',
      costPicos: record.cost.totalPicos,
      decision: 'redact',
      ruleIds: ['dlp:email'],
      promptExcerpt: 'mail [EMAIL_1]',
      createdAt: record.createdAt,
    });
    expect(observation).toMatchObject({
      model: 'backup',
      outcome: 'ok',
      costMicros: picosToMicrosApprox(record.cost.totalPicos),
      attempts: 3,
      fellBack: true,
      failedAttempts: 2,
      timeToFirstTokenMs: 90,
    });
  });

  it('tells a refusal as a refusal: audited with the model asked for, observed with no route', () => {
    const refused = refusalOutcome(
      { caller: callerWith(['*']), request: ask('x'), context, requested: deps.catalog.findModel('primary')! },
      { kind: 'blocked', httpStatus: 400, decision: { action: 'block', ruleIds: ['codenames'] } },
      context.receivedAt + 5,
    );
    const audit = auditRecordOf(refused);
    expect(audit).toMatchObject({ model: 'primary', status: 'blocked', costPicos: 0n, latencyMs: 5 });
    expect(audit.provider).toBeUndefined();
    const observation = observationOf(refused);
    expect(observation.model).toBeUndefined();
    expect(observation.outcome).toBe('blocked');
  });
});

describe('answer policy', () => {
  const policy = deps.policies.profileFor(undefined);
  const card = '4111 1111 1111 1111';

  it('ends a non-streamed answer with content_filter when an output rule blocks, and says why', async () => {
    const answers = new AnswerPolicy(policy, policy.newRedactor(), undefined);
    const checked = await answers.checkCompletion({
      text: `your card is ${card}`,
      toolCalls: [],
      finishReason: 'stop',
      usage: { inputTokens: 1, outputTokens: 1, cacheReadTokens: 0, cacheWriteTokens: 0 },
    });
    expect(checked).toMatchObject({ text: '', finishReason: 'content_filter' });
    expect(answers.decision).toEqual({ action: 'block', ruleIds: ['dlp:credit_card'] });
  });

  it('never releases part of a blocked finding from a stream, whatever the chunking', async () => {
    for (const size of [1, 3, 7]) {
      const text = `Sure. The card number is ${card} as requested.`;
      async function* events(): AsyncGenerator<ChatStreamEvent> {
        for (let i = 0; i < text.length; i += size) yield { type: 'text', text: text.slice(i, i + size) };
        yield { type: 'finish', finishReason: 'stop' };
      }
      const released: ChatStreamEvent[] = [];
      for await (const event of new AnswerPolicy(policy, policy.newRedactor(), undefined).filterStream(events())) {
        released.push(event);
      }
      const said = released.map((event) => (event.type === 'text' ? event.text : '')).join('');
      expect(said).not.toMatch(/4111|1111 1111/);
      expect(released.at(-1)).toEqual({ type: 'finish', finishReason: 'content_filter' });
    }
  });
});

describe('prompt-token bound', () => {
  it('counts one token per UTF-8 byte of every text, plus the stated per-message, per-image and per-request maximums', () => {
    const emoji = '🙂'.repeat(10); // 40 bytes
    const bound = promptTokenBound({
      messages: [
        { role: 'system', content: 'Be brief.' },
        {
          role: 'user',
          content: [
            { type: 'text', text: emoji },
            { type: 'image', mediaType: 'image/png', base64: 'iVBORw0KGgo=' },
          ],
        },
      ],
      tools: [{ name: 'look', parameters: { type: 'object' } }],
    });
    expect(bound).toBe(
      REQUEST_OVERHEAD_BOUND + 2 * MESSAGE_OVERHEAD_BOUND + 9 + 40 + IMAGE_TOKEN_BOUND + 4 + '{"type":"object"}'.length,
    );
  });

  it('is recomputed after redaction, never lower than before', () => {
    const planned = resolveExchange(deps, callerWith(['*']), ask('a@b.co'), context);
    const before = planned.promptTokenBound;
    applyLocalPolicy(planned);
    // '[EMAIL_1]' is longer than 'a@b.co': the bound grows with it.
    expect(planned.promptTokenBound).toBe(before + '[EMAIL_1]'.length - 'a@b.co'.length);
  });
});
