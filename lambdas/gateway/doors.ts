import { Readable } from 'node:stream';
import type { HttpResponse, StreamingHttpResponse } from '../shared/http';
import type { Defer, Work } from '../shared/lifecycle/after-response';

/** A streamed answer as the routes hand it to a door: its headers, its frames, and its record. */
export interface SseReply {
  headers: Record<string, string>;
  frames: AsyncGenerator<string>;
  /** Aborts the upstream call (the client went away). */
  abort: AbortController;
  /** Writes the stream's usage record (unstarted; never rejects). */
  record: Work;
}

/**
 * How a door delivers an answer: the two doors share every route and differ only here. `R` is
 * the response type the door's Lambda returns.
 */
export interface Door<R> {
  stream(reply: SseReply): Promise<R>;
  /**
   * When a non-streamed answer's usage write runs: before the answer leaves, or after the client
   * has it, within the same invocation.
   */
  afterAnswer(record: Work): Promise<void>;
}

const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
};

/**
 * The HTTP API door: it buffers responses, so a stream is sent as one complete, valid SSE body.
 * Its record is written after the answer when the function can work past its answer (`defer`,
 * given when the post-response extension holds the invocation open: `shared/lifecycle`, which
 * starts it once the answer is handed back), else before the answer leaves (a Lambda is frozen
 * once its handler returns: an unawaited write could be lost).
 *
 * @example
 * const door = bufferedDoor(defer); // defer: from withAfterResponse, or undefined
 */
export function bufferedDoor(defer?: Defer): Door<HttpResponse> {
  const recordedAfter = async (record: Work) => {
    if (defer) defer(record);
    else await record();
  };
  return {
    afterAnswer: recordedAfter,
    async stream(reply) {
      let sse = '';
      try {
        for await (const frame of reply.frames) sse += frame;
      } finally {
        await recordedAfter(reply.record);
      }
      return { statusCode: 200, headers: { ...SSE_HEADERS, ...reply.headers }, body: sse };
    },
  };
}

/**
 * The streaming door: SSE frames written as the provider produces them. The stream's record, and
 * a non-streamed answer's, is handed to `afterResponse`, which the invocation starts and awaits
 * once the client has its last byte (Lambda freezes an instance whose handler has returned: an
 * unawaited write could be lost).
 *
 * @example
 * const pending = new AfterResponse(); // drained before the invocation returns
 * const door = streamingDoor((work) => pending.defer(work));
 */
export function streamingDoor(afterResponse: Defer): Door<StreamingHttpResponse> {
  return {
    async afterAnswer(record) {
      afterResponse(record);
    },
    async stream(reply) {
      afterResponse(reply.record);
      return {
        statusCode: 200,
        headers: { ...SSE_HEADERS, ...reply.headers },
        body: sseReadable(reply.frames, reply.abort),
      };
    },
  };
}

/**
 * A Readable over the SSE frames of a stream. Destroying it (the client went away, or the
 * response stream failed) aborts the upstream call first, so the pending provider read ends at
 * once and the stream's usage is recorded without waiting for the next token. A stream that
 * never started is started once, so its first (already received) event is metered too.
 */
function sseReadable(frames: AsyncGenerator<string>, abort: AbortController): Readable {
  let started = false;
  return new Readable({
    read() {
      started = true;
      frames.next().then(
        (next) => this.push(next.done ? null : next.value),
        (error: unknown) => this.destroy(error as Error),
      );
    },
    destroy(error, callback) {
      abort.abort();
      const close = async () => {
        if (!started) await frames.next();
        await frames.return(undefined);
      };
      close().then(
        () => callback(error),
        () => callback(error),
      );
    },
  });
}
