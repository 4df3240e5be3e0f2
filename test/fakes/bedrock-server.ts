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
import {
  estimateInputTokens,
  anthropicMessage,
  plannedStreamEvents,
  replyBlocks,
  type FakeAnthropicEvent,
  type FakeAnthropicMessageReply,
  type FakeAnthropicRequest,
} from './anthropic-server';
import { sleep } from './fake-http-server';

/** A request the fake received, decoded. */
export interface FakeBedrockRequest {
  /**
   * Converse, ConverseStream, InvokeModel (`invoke`) or InvokeModelWithResponseStream
   * (`invoke-stream`). The invoke operations carry the model's native body: for Claude, the
   * Anthropic Messages body with `anthropic_version` (and `anthropic_beta`), without `model` or
   * `stream`.
   */
  operation: 'converse' | 'converse-stream' | 'invoke' | 'invoke-stream';
  modelId: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body ({} when it is empty or not a JSON object). */
  body: Record<string, unknown>;
  /** The body exactly as received. */
  raw?: string;
}

/** The `anthropic_beta` list of an InvokeModel body ([] without one). */
export function bedrockBetasOf(request: FakeBedrockRequest): string[] {
  const betas = request.body['anthropic_beta'];
  return Array.isArray(betas) ? betas.filter((beta): beta is string => typeof beta === 'string') : [];
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
    }
  | FakeBedrockAnthropicReply;

/**
 * An Anthropic message reply (the Anthropic fake's structure), rendered as the InvokeModel JSON
 * body or as InvokeModelWithResponseStream `chunk` events (each Anthropic streaming event's JSON,
 * base64 in `bytes`); on Converse operations, its text and tool uses as a Converse answer. The
 * reply's `cutAfterDeltas` resets the stream; its `errorAfterDeltas` sends an exception message
 * (`exceptionType`, default `modelStreamErrorException`, with the reply's `streamError` message)
 * where the Anthropic API would send an `error` event.
 */
export interface FakeBedrockAnthropicReply {
  kind: 'anthropic';
  message: FakeAnthropicMessageReply;
  exceptionType?: string;
}

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
 * - `POST /model/{modelId}/invoke` (InvokeModel): for Claude, the Anthropic Messages body with
 *   `anthropic_version: "bedrock-2023-05-31"` (optional `anthropic_beta`, no `model`, no
 *   `stream`; anything else is a 400 ValidationException) in, the Anthropic Message JSON out;
 * - `POST /model/{modelId}/invoke-with-response-stream` (InvokeModelWithResponseStream): the same
 *   body in, a binary event stream out whose `chunk` events carry each Anthropic streaming event
 *   as base64 JSON in `bytes`, or exception messages (`modelStreamErrorException`, ...);
 * - `POST /guardrail/{id}/version/{version}/apply` (ApplyGuardrail): JSON in and out, answered
 *   by the guardrail responder (no intervention by default);
 * - errors before the answer as an HTTP status with the exception name in `x-amzn-errortype`;
 * exactly what `@aws-sdk/client-bedrock-runtime` parses (ConverseCommand, ConverseStreamCommand,
 * InvokeModelCommand, InvokeModelWithResponseStreamCommand);
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

  /** CountTokens calls received: the model and the InvokeModel body, decoded. */
  readonly countRequests: { modelId: string; body: Record<string, unknown> }[] = [];

  /**
   * CountTokens (`POST /model/{modelId}/count-tokens`) for an InvokeModel body: validated as
   * InvokeModel validates it, counted as the fake Anthropic counts (`estimateInputTokens`).
   */
  private countTokens(modelId: string, raw: string, res: Http2ServerResponse): void {
    let body: Record<string, unknown> = {};
    let isJson = true;
    try {
      const input = (JSON.parse(raw) as { input?: { invokeModel?: { body?: string } } }).input;
      body = JSON.parse(Buffer.from(input?.invokeModel?.body ?? '', 'base64').toString('utf8')) as Record<
        string,
        unknown
      >;
    } catch {
      isJson = false;
    }
    const problem = invokeBodyProblem(body, isJson);
    if (problem !== undefined) return sendError(res, 400, 'ValidationException', problem);
    this.countRequests.push({ modelId, body });
    res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': REQUEST_ID });
    res.end(JSON.stringify({ inputTokens: estimateInputTokens(body) }));
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
        const counting = /^\/model\/([^/]+)\/count-tokens$/.exec(req.url ?? '');
        if (req.method === 'POST' && counting) {
          this.countTokens(decodeURIComponent(counting[1]!), Buffer.concat(chunks).toString('utf8'), res);
          return;
        }
        const match = /^\/model\/([^/]+)\/(converse|converse-stream|invoke|invoke-with-response-stream)$/.exec(
          req.url ?? '',
        );
        if (req.method !== 'POST' || !match) {
          res.writeHead(404, { 'x-amzn-errortype': 'UnknownOperationException' });
          res.end('{}');
          return;
        }
        const raw = Buffer.concat(chunks).toString('utf8');
        let body: Record<string, unknown> = {};
        let rawIsJson = true;
        try {
          const parsed: unknown = JSON.parse(raw || '{}');
          if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
          else rawIsJson = false;
        } catch {
          rawIsJson = false;
        }
        const operations = {
          converse: 'converse',
          'converse-stream': 'converse-stream',
          invoke: 'invoke',
          'invoke-with-response-stream': 'invoke-stream',
        } as const;
        const request: FakeBedrockRequest = {
          operation: operations[match[2] as keyof typeof operations],
          modelId: decodeURIComponent(match[1]!),
          headers: req.headers,
          body,
          raw,
        };
        this.requests.push(request);
        const invoke = request.operation === 'invoke' || request.operation === 'invoke-stream';
        const problem = invoke ? invokeBodyProblem(body, rawIsJson) : undefined;
        if (problem !== undefined) {
          sendError(res, 400, 'ValidationException', problem);
          return;
        }
        let reply: FakeBedrockReply;
        try {
          reply = this.respond(request);
        } catch (error) {
          sendError(res, 500, 'FakeBedrockResponderError', `FakeBedrock: the responder threw: ${String(error)}`);
          return;
        }
        const delayMs = reply.kind === 'anthropic' ? reply.message.delayMs : reply.delayMs;
        setTimeout(() => {
          if (gone(res)) return;
          if (reply.kind === 'error') {
            sendError(res, reply.status, reply.errorType, reply.message);
            return;
          }
          if (invoke) {
            this.answerInvoke(res, request, reply, receivedAt);
            return;
          }
          // Converse operations: an Anthropic reply renders as its Converse equivalent.
          const converse = reply.kind === 'anthropic' ? converseFromAnthropic(reply.message) : reply;
          if (request.operation === 'converse') {
            const body = converse.kind === 'ok' ? converse.body : converseBody(converse, Date.now() - receivedAt);
            res.writeHead(200, { 'content-type': 'application/json', 'x-amzn-requestid': REQUEST_ID });
            res.end(JSON.stringify(body));
            return;
          }
          if (converse.kind === 'ok') {
            const message =
              "FakeBedrock: an 'ok' reply (a raw Converse JSON body) cannot answer converse-stream; " +
              "use a 'message' reply (messageReply) instead";
            console.error(message);
            sendError(res, 500, 'FakeBedrockMisuseException', message);
            return;
          }
          writeStream(res, converse, receivedAt).catch((error: unknown) => {
            console.error('FakeBedrock: writing the event stream failed', error);
            if (!gone(res)) res.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
          });
        }, delayMs ?? 0).unref();
      });
    });
    this.server.on('session', (session: Http2Session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /**
   * Answers InvokeModel / InvokeModelWithResponseStream: an Anthropic reply as is, a Converse
   * structured reply as its Anthropic equivalent, an `ok` body as the raw InvokeModel JSON.
   */
  private answerInvoke(
    res: Http2ServerResponse,
    request: FakeBedrockRequest,
    reply: Exclude<FakeBedrockReply, { kind: 'error' }>,
    receivedAt: number,
  ): void {
    if (reply.kind === 'ok') {
      if (request.operation === 'invoke') {
        writeInvoke(res, reply.body, receivedAt);
        return;
      }
      const message = "FakeBedrock: an 'ok' reply (a raw JSON body) cannot answer invoke-with-response-stream";
      console.error(message);
      sendError(res, 500, 'FakeBedrockMisuseException', message);
      return;
    }
    const anthropic: FakeBedrockAnthropicReply =
      reply.kind === 'anthropic' ? reply : { kind: 'anthropic', message: anthropicFromConverse(reply) };
    if (request.operation === 'invoke') {
      writeInvoke(res, anthropicMessage(anthropic.message, anthropicView(request)), receivedAt);
      return;
    }
    writeInvokeStream(res, anthropic, request, receivedAt).catch((error: unknown) => {
      console.error('FakeBedrock: writing the invoke event stream failed', error);
      if (!gone(res)) res.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    });
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

/**
 * A Converse structured reply as the Anthropic reply the invoke operations render (the same
 * answer on either API): text, tool uses, stop reason, and the counters (Converse's
 * cacheWriteInputTokens is Anthropic's cache_creation_input_tokens).
 */
export function anthropicFromConverse(reply: FakeBedrockMessageReply): FakeAnthropicMessageReply {
  return {
    kind: 'message',
    ...(reply.text ? { text: reply.text } : {}),
    toolUses: (reply.toolUses ?? []).map((use) => ({ id: use.toolUseId, name: use.name, input: use.input })),
    ...(reply.stopReason === undefined
      ? {}
      : { stopReason: reply.stopReason as NonNullable<FakeAnthropicMessageReply['stopReason']> }),
    usage: {
      input_tokens: reply.usage.inputTokens,
      output_tokens: reply.usage.outputTokens,
      ...(reply.usage.cacheReadInputTokens === undefined
        ? {}
        : { cache_read_input_tokens: reply.usage.cacheReadInputTokens }),
      ...(reply.usage.cacheWriteInputTokens === undefined
        ? {}
        : { cache_creation_input_tokens: reply.usage.cacheWriteInputTokens }),
    },
    ...(reply.delayMs === undefined ? {} : { delayMs: reply.delayMs }),
    ...(reply.chunkDelayMs === undefined ? {} : { chunkDelayMs: reply.chunkDelayMs }),
    ...(reply.cutAfterDeltas === undefined ? {} : { cutAfterDeltas: reply.cutAfterDeltas }),
  };
}

/** An Anthropic reply as a Converse structured reply (its text blocks joined and its tool uses; thinking left out). */
export function converseFromAnthropic(reply: FakeAnthropicMessageReply): FakeBedrockMessageReply {
  const blocks = replyBlocks(reply);
  const text = blocks.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join('');
  const toolUses = blocks.flatMap((block) =>
    block.type === 'tool_use' ? [{ toolUseId: block.id, name: block.name, input: block.input }] : [],
  );
  return {
    kind: 'message',
    text,
    toolUses,
    ...(reply.stopReason === undefined ? {} : { stopReason: reply.stopReason }),
    usage: {
      inputTokens: reply.usage.input_tokens,
      outputTokens: reply.usage.output_tokens,
      ...(reply.usage.cache_read_input_tokens === undefined
        ? {}
        : { cacheReadInputTokens: reply.usage.cache_read_input_tokens }),
      ...(reply.usage.cache_creation_input_tokens === undefined
        ? {}
        : { cacheWriteInputTokens: reply.usage.cache_creation_input_tokens }),
    },
    ...(reply.delayMs === undefined ? {} : { delayMs: reply.delayMs }),
    ...(reply.chunkDelayMs === undefined ? {} : { chunkDelayMs: reply.chunkDelayMs }),
    ...(reply.cutAfterDeltas === undefined ? {} : { cutAfterDeltas: reply.cutAfterDeltas }),
  };
}

/** A structured Anthropic reply for the Bedrock fake (InvokeModel and InvokeModelWithResponseStream). */
export function anthropicReply(
  message: Omit<FakeAnthropicMessageReply, 'kind'>,
  exceptionType?: string,
): FakeBedrockAnthropicReply {
  return {
    kind: 'anthropic',
    message: { kind: 'message', ...message },
    ...(exceptionType === undefined ? {} : { exceptionType }),
  };
}

/**
 * Why Bedrock refuses an InvokeModel body for a Claude model, in its words (a 400
 * ValidationException "Malformed input request"), or undefined when it takes it.
 */
export function invokeBodyProblem(body: Record<string, unknown>, rawIsJson: boolean): string | undefined {
  if (!rawIsJson) return 'Malformed input request, please reformat your input and try again.';
  for (const key of ['anthropic_version', 'max_tokens', 'messages']) {
    if (!(key in body))
      return `Malformed input request: #: required key [${key}] not found, please reformat your input and try again.`;
  }
  for (const key of ['model', 'stream']) {
    if (key in body)
      return `Malformed input request: #: extraneous key [${key}] is not permitted, please reformat your input and try again.`;
  }
  if (body['anthropic_version'] !== 'bedrock-2023-05-31') {
    return 'Malformed input request: #/anthropic_version: bedrock-2023-05-31 is the supported version, please reformat your input and try again.';
  }
  const betas = body['anthropic_beta'];
  if (betas !== undefined && !(Array.isArray(betas) && betas.every((beta) => typeof beta === 'string'))) {
    return 'Malformed input request: #/anthropic_beta: expected type: JSONArray, please reformat your input and try again.';
  }
  return undefined;
}

/** The Anthropic-API-shaped request the reply builders read (model and stop sequences). */
function anthropicView(request: FakeBedrockRequest): FakeAnthropicRequest {
  return {
    method: 'POST',
    path: `/model/${request.modelId}/${request.operation}`,
    headers: request.headers,
    body: { ...request.body, model: request.modelId },
  };
}

/** One Anthropic streaming event as the `chunk` frame InvokeModelWithResponseStream carries it. */
export function chunkFrame(event: FakeAnthropicEvent): StreamFrame {
  return {
    messageType: 'event',
    eventType: 'chunk',
    payload: { bytes: Buffer.from(JSON.stringify(event.data), 'utf8').toString('base64') },
  };
}

/**
 * Writes an InvokeModelWithResponseStream answer: HTTP 200 `application/vnd.amazon.eventstream`,
 * one `chunk` message per Anthropic event (message_stop carrying Bedrock's
 * `amazon-bedrock-invocationMetrics`), then the end of the HTTP/2 stream, or a reset (cut), or
 * an exception message (the Anthropic reply's in-stream error).
 */
async function writeInvokeStream(
  res: Http2ServerResponse,
  reply: FakeBedrockAnthropicReply,
  request: FakeBedrockRequest,
  receivedAt: number,
): Promise<void> {
  const message = reply.message;
  const { events, ending } = plannedStreamEvents(message, anthropicView(request));
  res.writeHead(200, {
    'content-type': 'application/vnd.amazon.eventstream',
    'x-amzn-requestid': REQUEST_ID,
    'x-amzn-bedrock-content-type': 'application/json',
  });
  let sequence = 0;
  let firstByteAt: number | undefined;
  for (const event of events) {
    if (sequence > 0) await sleep(message.chunkDelayMs ?? 0);
    if (gone(res)) return;
    if (event.event === 'error') {
      const error = event.data['error'] as { message: string };
      res.end(
        encodeFrame(
          {
            messageType: 'exception',
            exceptionType: reply.exceptionType ?? 'modelStreamErrorException',
            payload: { message: error.message },
          },
          sequence,
        ),
      );
      return;
    }
    firstByteAt ??= Date.now();
    let data = event.data;
    if (event.event === 'message_stop') {
      const usage = message.usage;
      data = {
        ...data,
        'amazon-bedrock-invocationMetrics': {
          inputTokenCount: usage.input_tokens,
          outputTokenCount: usage.output_tokens,
          invocationLatency: Date.now() - receivedAt,
          firstByteLatency: firstByteAt - receivedAt,
          ...(usage.cache_read_input_tokens === undefined
            ? {}
            : { cacheReadInputTokenCount: usage.cache_read_input_tokens }),
          ...(usage.cache_creation_input_tokens === undefined
            ? {}
            : { cacheWriteInputTokenCount: usage.cache_creation_input_tokens }),
        },
      };
    }
    res.write(encodeFrame(chunkFrame({ event: event.event, data }), sequence++));
  }
  if (ending === 'cut') {
    await sleep(Math.max(message.chunkDelayMs ?? 0, 10));
    if (!gone(res)) res.stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  res.end();
}

/** Writes an InvokeModel answer: HTTP 200 with the Anthropic Message JSON and Bedrock's token-count headers. */
function writeInvoke(res: Http2ServerResponse, body: Record<string, unknown>, receivedAt: number): void {
  const usage = (body['usage'] ?? {}) as Record<string, unknown>;
  const count = (name: string) => (typeof usage[name] === 'number' ? String(usage[name]) : undefined);
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-amzn-requestid': REQUEST_ID,
    'x-amzn-bedrock-invocation-latency': String(Date.now() - receivedAt),
  };
  const input = count('input_tokens');
  const output = count('output_tokens');
  if (input !== undefined) headers['x-amzn-bedrock-input-token-count'] = input;
  if (output !== undefined) headers['x-amzn-bedrock-output-token-count'] = output;
  res.writeHead(200, headers);
  res.end(JSON.stringify(body));
}
