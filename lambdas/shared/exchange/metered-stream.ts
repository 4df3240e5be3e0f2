import { StreamMeter } from '../chat/stream-meter';
import { startOnce, type Work } from '../lifecycle/after-response';
import type { ChatStreamEvent, TokenUsage } from '../chat/types';
import { toClientError } from '../chat/upstream-errors';
import type { CostBreakdown } from '../cost/pricing';
import { GatewayError } from '../http/errors';
import { logger } from '../observability/logger';
import { combine, type PolicyDecision } from '../policy/engine';
import { ProviderError } from '../providers/errors';
import { AnswerPolicy } from './answer-policy';
import type { ToolGate } from '../approvals/gate';
import { restoreEvents, restoresAnswer } from './restoration';
import type { Exchange } from './exchange';
import type { RouteTaken } from './outcome';
import type { ExchangeRecording } from './recording';
import type { GuardrailChecker } from '../policy/guardrail';
import type { CacheStatus } from '../response-cache/plan';

/**
 * What a streamed answer yields: the provider's events, then exactly one of `settled` (usage
 * metered and priced) or `failed` (the upstream broke off; what was delivered is metered and
 * priced). The ledger write starts just before either.
 */
export type ServedStreamEvent =
  ChatStreamEvent | ({ type: 'settled' } & StreamEnding) | ({ type: 'failed'; error: GatewayError } & StreamEnding);

/** What a finished stream was metered, priced and judged at. */
export interface StreamEnding {
  usage: TokenUsage;
  cost: CostBreakdown;
  latencyMs: number;
  policy: PolicyDecision;
}

/** A provider stream whose first event has arrived (routing is decided). */
export interface StartedStream {
  iterator: AsyncIterator<ChatStreamEvent>;
  first: IteratorResult<ChatStreamEvent>;
}

/**
 * Receives a stream's answer as the policy let it through (before any restoration) and then how
 * it ended; what `end` returns (a write) is awaited with the usage write. The response cache
 * stores a finished, untouched answer through it.
 */
export interface AnswerSink {
  add(event: ChatStreamEvent): void;
  /** The store of the answer, unstarted, when it is to be stored. */
  end(ending: { finished: boolean; decision: PolicyDecision; costPicos: bigint }): Work | undefined;
}

/** Hands each event to `sink` on its way through. */
async function* tapped(events: AsyncIterable<ChatStreamEvent>, sink: AnswerSink): AsyncGenerator<ChatStreamEvent> {
  for await (const event of events) {
    sink.add(event);
    yield event;
  }
}

/** Everything one metered stream works with, in one object. */
export interface MeteredStream {
  exchange: Exchange;
  route: RouteTaken;
  started: StartedStream;
  /** Aborts the provider call (the client left, the policy blocked, the stream went silent). */
  upstream: AbortController;
  clientSignal: AbortSignal | undefined;
  /** Longest silence allowed between two provider events. */
  idleMs: number;
  timing: { upstreamMs: number; timeToFirstTokenMs: number };
  recording: ExchangeRecording;
  guardrails: GuardrailChecker | undefined;
  /** The request's tool rules and approvals. */
  gate?: ToolGate;
  now: () => number;
  /** Receives the stream's record (unstarted) as the stream ends. */
  onRecording: (record: Work) => void;
  /** What the response cache did (teams with a cache), for the ledger and metrics. */
  cache?: CacheStatus;
  /** Where the answer goes as it flows (the response cache, when it may store it). */
  answered?: AnswerSink;
}

/**
 * The iterator's next result, or a `timeout` ProviderError when none arrives within `ms`. The
 * read left behind fails once the caller aborts the upstream; that failure is expected.
 */
async function nextWithin<T>(iterator: AsyncIterator<T>, ms: number, reason: string): Promise<IteratorResult<T>> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const next = iterator.next();
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProviderError('timeout', reason)), Math.max(0, ms));
  });
  try {
    return await Promise.race([next, expired]);
  } finally {
    clearTimeout(timer);
    next.catch(() => undefined);
  }
}

/** The client error for a stream that broke off. */
function streamFailure(error: unknown, route: RouteTaken): GatewayError {
  if (error instanceof GatewayError) return error;
  const failure =
    error instanceof ProviderError ? error : new ProviderError('upstream_error', String(error), { cause: error });
  return toClientError(failure, route.target.connectionName);
}

/**
 * The rest of a started stream, checked by the policy as it flows and metered; as the provider
 * finishes (or the consumer stops reading) the stream is priced and its record handed to
 * `onRecording`, unstarted, before the last event: the consumer starts it once the client has its
 * last byte.
 *
 * @example
 * for await (const event of meteredEvents(stream)) send(event);
 */
export async function* meteredEvents(stream: MeteredStream): AsyncGenerator<ServedStreamEvent> {
  const { exchange, route, started, now } = stream;
  // The meter sees the provider's events before the policy filters them: the caller pays for
  // what the model produced, including text a redaction or a block withheld.
  const meter = new StreamMeter();
  let upstreamDone = false;
  // A stream that goes silent is given up like a call that never answers, and one still
  // running at the deadline is cut: either way it ends with an error event and is recorded.
  const deadline = exchange.context.streamDeadline ?? Infinity;
  async function* providerEvents() {
    let next = started.first;
    while (!next.done) {
      meter.observe(next.value);
      yield next.value;
      const left = deadline - now();
      next = await nextWithin(
        started.iterator,
        Math.min(stream.idleMs, left),
        stream.idleMs <= left
          ? `no event from the provider for ${stream.idleMs} ms`
          : 'the stream reached its deadline',
      );
    }
    upstreamDone = true;
  }
  const answers = new AnswerPolicy(exchange.policy, exchange.redactor, stream.guardrails, stream.gate);
  let completed = false;
  let failure: GatewayError | undefined;
  let ended: StreamEnding | undefined;
  try {
    const filtered = answers.filterStream(providerEvents());
    const checked = stream.answered ? tapped(filtered, stream.answered) : filtered;
    const restoring = restoresAnswer(exchange.policy, exchange.redactor, exchange.caller.key.keyId);
    for await (const event of restoring ? restoreEvents(checked, exchange.redactor) : checked) yield event;
    // Either the provider finished, or the policy blocked the answer (the upstream is stopped below).
    completed = true;
  } catch (error) {
    failure = streamFailure(error, route);
    logger.warn('stream broke off', {
      requestId: exchange.context.requestId,
      provider: route.target.connectionName,
      failure: failure.code,
    });
  } finally {
    // Runs on completion, on a failure, and when the consumer stops reading (client gone):
    // stop the upstream, then price and record what the provider produced.
    if (!upstreamDone) {
      stream.upstream.abort();
      void started.iterator.return?.()?.catch(() => undefined);
    }
    // 499 (nginx's "client closed request"): the client left; whatever the upstream did after
    // that is a consequence, not the cause.
    const clientGone = stream.clientSignal?.aborted === true || (!completed && !failure);
    const decision = combine(exchange.decision, answers.decision);
    const { outcome, record } = stream.recording.settle(exchange, route, {
      usage: meter.usage(exchange.promptTokens, upstreamDone),
      kind: completed ? 'ok' : 'error',
      httpStatus: completed ? 200 : clientGone ? 499 : failure!.status,
      decision,
      ...stream.timing,
      responseExcerpt: () => answers.responseExcerpt(),
      cache: stream.cache,
    });
    ended = { usage: outcome.usage!, cost: outcome.cost!, latencyMs: outcome.latencyMs, policy: decision };
    const store = stream.answered?.end({
      finished: completed && upstreamDone,
      decision: answers.decision,
      costPicos: outcome.cost!.totalPicos,
    });
    stream.onRecording(store ? startOnce(() => Promise.all([record(), store()])) : record);
  }
  if (failure) yield { type: 'failed', error: failure, ...ended };
  else yield { type: 'settled', ...ended };
}
