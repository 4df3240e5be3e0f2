import {
  constants,
  createServer,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type Http2Session,
  type IncomingHttpHeaders,
} from 'node:http2';
import { createServer as createHttp1Server, type Server as Http1Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { sleep } from './fake-http-server';

/** A request the fake received, decoded. */
export interface FakeBedrockRequest {
  operation: 'converse' | 'converse-stream';
  modelId: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** An ApplyGuardrail call the fake received. */
export interface FakeGuardrailRequest {
  guardrailId: string;
  version: string;
  source: 'INPUT' | 'OUTPUT';
  /** The text blocks sent, joined. */
  text: string;
}

/** An ApplyGuardrail response body, as the service sends it. */
export interface FakeGuardrailReply {
  action: 'NONE' | 'GUARDRAIL_INTERVENED';
  actionReason?: string;
  outputs?: { text: string }[];
  assessments?: Record<string, unknown>[];
}

/** Token counts of a structured reply (`totalTokens` is derived). */
export interface FakeBedrockUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

/**
 * A structured answer the fake renders as a Converse JSON body or as a ConverseStream event
 * stream, depending on the operation called.
 */
export type FakeBedrockReply =
  /** A raw Converse JSON body (`converse` only; a `converse-stream` call answers a misuse error). */
  | { kind: 'ok'; body: Record<string, unknown>; delayMs?: number }
  /** A Bedrock error as an HTTP status before any byte of the body, for either operation. */
  | { kind: 'error'; status: number; errorType: string; message: string; delayMs?: number }
  | {
      kind: 'message';
      /** One text block when non-empty. */
      text?: string;
      toolUses?: { toolUseId: string; name: string; input: Record<string, unknown> }[];
      /** Default `tool_use` when there are tool uses, else `end_turn`. */
      stopReason?: string;
      usage: FakeBedrockUsage;
      /** Before the response starts. */
      delayMs?: number;
      /** converse-stream: between events. */
      chunkDelayMs?: number;
      /**
       * converse-stream: after this many contentBlockDelta events (after the last one when the
       * reply has fewer; 0 means right after messageStart), reset the HTTP/2 stream abruptly
       * (RST_STREAM INTERNAL_ERROR): no messageStop, no metadata.
       */
      cutAfterDeltas?: number;
      /**
       * converse-stream: after this many contentBlockDelta events (same counting as
       * `cutAfterDeltas`), send an exception message of this type (the union member name, e.g.
       * `modelStreamErrorException`, `throttlingException`) and end the stream. When both are set,
       * whichever comes first wins (the cut on a tie).
       */
      exceptionAfterDeltas?: { count: number; exceptionType: string; message: string };
    };

/** The structured kind of {@link FakeBedrockReply}. */
export type FakeBedrockMessageReply = Extract<FakeBedrockReply, { kind: 'message' }>;

/**
 * One foundation model as the control plane's ListFoundationModels returns it. Lifecycle times
 * are given as `Date`s and sent as the service sends them: RFC 3339 date-time strings (the
 * Bedrock service model's timestamp format; the SDK refuses epoch numbers there). A time left out
 * is absent from the answer, as the API makes each of them optional.
 */
export interface FakeFoundationModel {
  modelId: string;
  modelName?: string;
  providerName?: string;
  status: 'ACTIVE' | 'LEGACY';
  startOfLifeTime?: Date;
  legacyTime?: Date;
  publicExtendedAccessTime?: Date;
  endOfLifeTime?: Date;
  /** Regions whose list contains it (all when absent); the region is read from the request's SigV4 scope. */
  regions?: string[];
}

/** A ListFoundationModels call the fake received. */
export interface FakeListFoundationModelsRequest {
  /** From the SigV4 credential scope of the Authorization header. */
  region: string | undefined;
  query: Record<string, string>;
}

/** The binary `application/vnd.amazon.eventstream` framing (prelude, headers, payload, CRCs). */
const codec = new EventStreamCodec(
  (bytes: Uint8Array | string) =>
    typeof bytes === 'string' ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'),
  (text: string) => new Uint8Array(Buffer.from(text, 'utf8')),
);

const REQUEST_ID = 'fake-request';
/** The real service pads every event payload with a `p` member of varying length (hides sizes). */
const PADDING = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** One frame of a ConverseStream answer. */
export type StreamFrame =
  | { messageType: 'event'; eventType: string; payload: Record<string, unknown> }
  | { messageType: 'exception'; exceptionType: string; payload: Record<string, unknown> };

/** One frame as the binary event-stream message the service sends (with the service's `p` padding). */
export function encodeFrame(frame: StreamFrame, sequence: number): Uint8Array {
  const json = (value: unknown) => new Uint8Array(Buffer.from(JSON.stringify(value), 'utf8'));
  if (frame.messageType === 'exception') {
    return codec.encode({
      headers: {
        ':exception-type': { type: 'string', value: frame.exceptionType },
        ':content-type': { type: 'string', value: 'application/json' },
        ':message-type': { type: 'string', value: 'exception' },
      },
      body: json(frame.payload),
    });
  }
  return codec.encode({
    headers: {
      ':event-type': { type: 'string', value: frame.eventType },
      ':content-type': { type: 'string', value: 'application/json' },
      ':message-type': { type: 'string', value: 'event' },
    },
    body: json({ ...frame.payload, p: PADDING.slice(0, 4 + ((sequence * 7) % (PADDING.length - 4))) }),
  });
}

/** Splits text per word (each piece keeps its trailing whitespace); the pieces concatenate back. */
function splitWords(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/** Splits a JSON text into 2 or 3 fragments (by code point), fewer only when it is shorter. */
function splitFragments(text: string): string[] {
  const chars = Array.from(text);
  const count = Math.min(3, chars.length);
  const size = Math.ceil(chars.length / Math.max(count, 1));
  const pieces: string[] = [];
  for (let i = 0; i < chars.length; i += size) pieces.push(chars.slice(i, i + size).join(''));
  return pieces;
}

function defaultStopReason(reply: FakeBedrockMessageReply): string {
  return reply.stopReason ?? ((reply.toolUses?.length ?? 0) > 0 ? 'tool_use' : 'end_turn');
}

export function usageBody(usage: FakeBedrockUsage): Record<string, number> {
  const cacheRead = usage.cacheReadInputTokens ?? 0;
  const cacheWrite = usage.cacheWriteInputTokens ?? 0;
  return {
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    // Bedrock counts cache reads and writes in the total as well.
    totalTokens: usage.inputTokens + usage.outputTokens + cacheRead + cacheWrite,
    ...(usage.cacheReadInputTokens === undefined ? {} : { cacheReadInputTokens: usage.cacheReadInputTokens }),
    ...(usage.cacheWriteInputTokens === undefined ? {} : { cacheWriteInputTokens: usage.cacheWriteInputTokens }),
  };
}

/** The Converse JSON body of a structured reply. */
export function converseBody(reply: FakeBedrockMessageReply, latencyMs: number): Record<string, unknown> {
  const content: Record<string, unknown>[] = [];
  if (reply.text) content.push({ text: reply.text });
  for (const toolUse of reply.toolUses ?? []) content.push({ toolUse: { ...toolUse } });
  return {
    output: { message: { role: 'assistant', content } },
    stopReason: defaultStopReason(reply),
    usage: usageBody(reply.usage),
    metrics: { latencyMs },
  };
}

/** The ConverseStream events of a structured reply, before any cut or exception. */
export function streamEvents(reply: FakeBedrockMessageReply): StreamFrame[] {
  const event = (eventType: string, payload: Record<string, unknown>): StreamFrame => ({
    messageType: 'event',
    eventType,
    payload,
  });
  const events: StreamFrame[] = [event('messageStart', { role: 'assistant' })];
  let index = 0;
  if (reply.text) {
    // Like the real service, a text block has no contentBlockStart.
    for (const piece of splitWords(reply.text)) {
      events.push(event('contentBlockDelta', { contentBlockIndex: index, delta: { text: piece } }));
    }
    events.push(event('contentBlockStop', { contentBlockIndex: index }));
    index += 1;
  }
  for (const toolUse of reply.toolUses ?? []) {
    events.push(
      event('contentBlockStart', {
        contentBlockIndex: index,
        start: { toolUse: { toolUseId: toolUse.toolUseId, name: toolUse.name } },
      }),
    );
    for (const fragment of splitFragments(JSON.stringify(toolUse.input))) {
      events.push(event('contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: fragment } } }));
    }
    events.push(event('contentBlockStop', { contentBlockIndex: index }));
    index += 1;
  }
  events.push(event('messageStop', { stopReason: defaultStopReason(reply) }));
  return events;
}

function gone(res: Http2ServerResponse): boolean {
  return res.destroyed || res.stream.destroyed || res.stream.closed;
}

function sendError(res: Http2ServerResponse, status: number, errorType: string, message: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-amzn-errortype': `${errorType}:http://internal.amazon.com/coral/com.amazon.bedrock/`,
    'x-amzn-requestid': REQUEST_ID,
  });
  res.end(JSON.stringify({ message }));
}

/**
 * Writes a ConverseStream answer: HTTP 200 `application/vnd.amazon.eventstream`, then one binary
 * event-stream message per event, then the end of the HTTP/2 stream (or a reset, or an
 * exception message, as the reply asks).
 */
async function writeStream(
  res: Http2ServerResponse,
  reply: FakeBedrockMessageReply,
  receivedAt: number,
): Promise<void> {
  const events = streamEvents(reply);
  const totalDeltas = events.filter((e) => e.messageType === 'event' && e.eventType === 'contentBlockDelta').length;
  const cutAt = reply.cutAfterDeltas === undefined ? undefined : Math.min(reply.cutAfterDeltas, totalDeltas);
  const exception = reply.exceptionAfterDeltas;
  const exceptionAt = exception === undefined ? undefined : Math.min(exception.count, totalDeltas);

  res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': REQUEST_ID });
  let deltas = 0;
  let sequence = 0;
  for (const frame of events) {
    if (sequence > 0) await sleep(reply.chunkDelayMs ?? 0);
    if (gone(res)) return;
    res.write(encodeFrame(frame, sequence++));
    if (frame.messageType === 'event' && frame.eventType === 'contentBlockDelta') deltas += 1;
    if (cutAt !== undefined && deltas === cutAt && (exceptionAt === undefined || cutAt <= exceptionAt)) {
      // Let the frames written so far reach the client, then reset the stream mid-answer.
      await sleep(Math.max(reply.chunkDelayMs ?? 0, 10));
      if (!gone(res)) res.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
      return;
    }
    if (exception !== undefined && deltas === exceptionAt) {
      await sleep(reply.chunkDelayMs ?? 0);
      if (gone(res)) return;
      res.end(
        encodeFrame(
          { messageType: 'exception', exceptionType: exception.exceptionType, payload: { message: exception.message } },
          sequence,
        ),
      );
      return;
    }
  }
  await sleep(reply.chunkDelayMs ?? 0);
  if (gone(res)) return;
  const metadata: StreamFrame = {
    messageType: 'event',
    eventType: 'metadata',
    payload: { usage: usageBody(reply.usage), metrics: { latencyMs: Date.now() - receivedAt } },
  };
  res.end(encodeFrame(metadata, sequence));
}

/**
 * A local stand-in for the Bedrock runtime that speaks its REST-JSON protocol over HTTP/2 (the
 * SDK's Bedrock runtime client uses HTTP/2, cleartext against an `http://` endpoint):
 * - `POST /model/{modelId}/converse`: JSON in and out;
 * - `POST /model/{modelId}/converse-stream`: JSON in, HTTP 200 with a binary AWS event stream
 *   (`application/vnd.amazon.eventstream`) out: messageStart, contentBlock{Start,Delta,Stop},
 *   messageStop, metadata, or in-stream exception messages;
 * - `POST /guardrail/{id}/version/{version}/apply` (ApplyGuardrail): JSON in and out, answered
 *   by the guardrail responder (no intervention by default);
 * - errors before the answer as an HTTP status with the exception name in `x-amzn-errortype`;
 * exactly what `@aws-sdk/client-bedrock-runtime` parses (ConverseCommand, ConverseStreamCommand);
 * - and, on its own HTTP/1.1 endpoint ({@link FakeBedrock.startControlPlane}), the control
 *   plane's `GET /foundation-models` (ListFoundationModels of `@aws-sdk/client-bedrock`).
 */
export class FakeBedrock {
  readonly requests: FakeBedrockRequest[] = [];
  readonly guardrailRequests: FakeGuardrailRequest[] = [];
  readonly listFoundationModelsRequests: FakeListFoundationModelsRequest[] = [];
  private foundationModels: FakeFoundationModel[] = [];
  private controlPlane: Http1Server | undefined;
  private guardrail: (request: FakeGuardrailRequest) => FakeGuardrailReply = () => ({ action: 'NONE' });
  private server: Http2Server | undefined;
  private readonly sessions = new Set<Http2Session>();

  constructor(private respond: (request: FakeBedrockRequest) => FakeBedrockReply) {}

  /** Replaces the reply logic (per test). */
  setResponder(respond: (request: FakeBedrockRequest) => FakeBedrockReply): void {
    this.respond = respond;
  }

  /** Replaces the ApplyGuardrail logic (per test). */
  setGuardrail(respond: (request: FakeGuardrailRequest) => FakeGuardrailReply): void {
    this.guardrail = respond;
  }

  private applyGuardrail(match: RegExpExecArray, body: Record<string, unknown>, res: Http2ServerResponse): void {
    const content = (body['content'] ?? []) as { text?: { text?: string } }[];
    const request: FakeGuardrailRequest = {
      guardrailId: decodeURIComponent(match[1]!),
      version: decodeURIComponent(match[2]!),
      source: body['source'] as FakeGuardrailRequest['source'],
      text: content.map((block) => block.text?.text ?? '').join(''),
    };
    this.guardrailRequests.push(request);
    let reply: FakeGuardrailReply;
    try {
      reply = this.guardrail(request);
    } catch (error) {
      // A responder that throws plays a failing service: a 500 the SDK retries, then gives up on.
      sendError(res, 500, 'InternalServerException', `FakeBedrock: the guardrail responder threw: ${String(error)}`);
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': REQUEST_ID });
    res.end(
      JSON.stringify({
        usage: { topicPolicyUnits: 1, contentPolicyUnits: 1, wordPolicyUnits: 1, sensitiveInformationPolicyUnits: 1 },
        action: reply.action,
        ...(reply.actionReason ? { actionReason: reply.actionReason } : {}),
        outputs: reply.outputs ?? [],
        assessments: reply.assessments ?? [],
      }),
    );
  }

  /** Replaces the foundation models the control plane lists (per test). */
  setFoundationModels(models: FakeFoundationModel[]): void {
    this.foundationModels = models;
  }

  /**
   * Starts the control-plane stand-in (`bedrock.{region}.amazonaws.com`; HTTP/1.1 like the
   * service, which the SDK's Bedrock client speaks by default) and returns its endpoint URL:
   * `GET /foundation-models` (ListFoundationModels) answers HTTP 200 `application/json`
   * `{ "modelSummaries": [ { modelArn, modelId, modelName, providerName, inputModalities,
   * outputModalities, responseStreamingSupported, customizationsSupported,
   * inferenceTypesSupported, modelLifecycle: { status, startOfLifeTime?, legacyTime?,
   * publicExtendedAccessTime?, endOfLifeTime? } } ] }` (Amazon Bedrock API reference,
   * ListFoundationModels and FoundationModelLifecycle), filtered by `byProvider` when given.
   */
  async startControlPlane(): Promise<string> {
    this.controlPlane = createHttp1Server((req, res) => {
      const url = new URL(req.url ?? '/', 'http://fake');
      if (req.method !== 'GET' || url.pathname !== '/foundation-models') {
        res.writeHead(404, { 'content-type': 'application/json', 'x-amzn-errortype': 'UnknownOperationException' });
        res.end('{}');
        return;
      }
      const region = /Credential=[^/]+\/\d{8}\/([^/]+)\/bedrock\//.exec(String(req.headers.authorization ?? ''))?.[1];
      const query = Object.fromEntries(url.searchParams.entries());
      this.listFoundationModelsRequests.push({ region, query });
      // The service model marks these timestamps as RFC 3339 date-times (the SDK refuses numbers).
      const dateTime = (date: Date | undefined) => date?.toISOString();
      const modelSummaries = this.foundationModels
        .filter((m) => region === undefined || m.regions === undefined || m.regions.includes(region))
        .filter(
          (m) =>
            query['byProvider'] === undefined || m.providerName?.toLowerCase() === query['byProvider'].toLowerCase(),
        )
        .map((m) => ({
          modelArn: `arn:aws:bedrock:${region ?? 'us-east-1'}::foundation-model/${m.modelId}`,
          modelId: m.modelId,
          modelName: m.modelName ?? m.modelId,
          providerName: m.providerName ?? m.modelId.split('.')[0],
          inputModalities: ['TEXT'],
          outputModalities: ['TEXT'],
          responseStreamingSupported: true,
          customizationsSupported: [],
          inferenceTypesSupported: ['INFERENCE_PROFILE'],
          modelLifecycle: {
            status: m.status,
            startOfLifeTime: dateTime(m.startOfLifeTime),
            legacyTime: dateTime(m.legacyTime),
            publicExtendedAccessTime: dateTime(m.publicExtendedAccessTime),
            endOfLifeTime: dateTime(m.endOfLifeTime),
          },
        }));
      res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': REQUEST_ID });
      // JSON.stringify leaves out the undefined (absent) lifecycle times.
      res.end(JSON.stringify({ modelSummaries }));
    });
    await new Promise<void>((resolve) => this.controlPlane!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.controlPlane.address() as AddressInfo).port}`;
  }

  /** Starts listening on a free port and returns the endpoint URL. */
  async start(): Promise<string> {
    this.server = createServer((req: Http2ServerRequest, res: Http2ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const receivedAt = Date.now();
        const guardrail = /^\/guardrail\/([^/]+)\/version\/([^/]+)\/apply$/.exec(req.url ?? '');
        if (req.method === 'POST' && guardrail) {
          this.applyGuardrail(guardrail, JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}'), res);
          return;
        }
        const match = /^\/model\/([^/]+)\/(converse|converse-stream)$/.exec(req.url ?? '');
        if (req.method !== 'POST' || !match) {
          res.writeHead(404, { 'x-amzn-errortype': 'UnknownOperationException' });
          res.end('{}');
          return;
        }
        const request: FakeBedrockRequest = {
          operation: match[2] as FakeBedrockRequest['operation'],
          modelId: decodeURIComponent(match[1]!),
          headers: req.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>,
        };
        this.requests.push(request);
        let reply: FakeBedrockReply;
        try {
          reply = this.respond(request);
        } catch (error) {
          sendError(res, 500, 'FakeBedrockResponderError', `FakeBedrock: the responder threw: ${String(error)}`);
          return;
        }
        setTimeout(() => {
          if (gone(res)) return;
          if (reply.kind === 'error') {
            sendError(res, reply.status, reply.errorType, reply.message);
            return;
          }
          if (request.operation === 'converse') {
            const body = reply.kind === 'ok' ? reply.body : converseBody(reply, Date.now() - receivedAt);
            res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': REQUEST_ID });
            res.end(JSON.stringify(body));
            return;
          }
          if (reply.kind === 'ok') {
            const message =
              "FakeBedrock: an 'ok' reply (a raw Converse JSON body) cannot answer converse-stream; " +
              "use a 'message' reply (messageReply) instead";
            console.error(message);
            sendError(res, 500, 'FakeBedrockMisuseException', message);
            return;
          }
          writeStream(res, reply, receivedAt).catch((error: unknown) => {
            console.error('FakeBedrock: writing the event stream failed', error);
            if (!gone(res)) res.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
          });
        }, reply.delayMs ?? 0).unref();
      });
    });
    this.server.on('session', (session: Http2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    if (this.controlPlane) {
      const controlPlane = this.controlPlane;
      this.controlPlane = undefined;
      controlPlane.closeAllConnections();
      await new Promise<void>((resolve) => controlPlane.close(() => resolve()));
    }
    if (!this.server) return;
    for (const session of this.sessions) session.destroy();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}

/** A typical successful Converse response body. */
export function converseReply(
  text: string,
  usage: { inputTokens: number; outputTokens: number; cacheReadInputTokens?: number; cacheWriteInputTokens?: number },
  stopReason = 'end_turn',
): FakeBedrockReply {
  return {
    kind: 'ok',
    body: {
      output: { message: { role: 'assistant', content: [{ text }] } },
      stopReason,
      usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens },
      metrics: { latencyMs: 12 },
    },
  };
}

/** A structured text reply, rendered for whichever operation is called (Converse or ConverseStream). */
export function messageReply(
  text: string,
  usage: { inputTokens: number; outputTokens: number; cacheReadInputTokens?: number; cacheWriteInputTokens?: number },
  stopReason?: string,
): FakeBedrockMessageReply {
  return { kind: 'message', text, usage, ...(stopReason === undefined ? {} : { stopReason }) };
}
