import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Http2ServerResponse, type IncomingHttpHeaders } from 'node:http2';
import { LocalListener, onBody } from './fake-http-server';

/** An InvokeModel call the fake received, decoded. */
export interface FakeBedrockEmbeddingRequest {
  modelId: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown>;
}

/** What the fake answers instead of an embedding, per call (e.g. a throttle). */
export interface FakeBedrockEmbeddingError {
  status: number;
  /** The exception name the SDK maps to an error class, e.g. `ThrottlingException`. */
  errorType: string;
  message: string;
}

/** The sizes Titan Text Embeddings V2 accepts, 1024 the default. */
const TITAN_DIMENSIONS = [1024, 512, 256];

/** Cohere Embed v3's vector size and batch limit. */
const COHERE_DIMENSIONS = 1024;
const COHERE_MAX_TEXTS = 96;

/**
 * The fake's vector for a text: SHA-256 of the text (and the model, so two models' vectors
 * differ) stretched to `dimensions` components, unit length. Tests compute it to check that the
 * gateway hands back exactly what the provider sent, in order.
 */
export function fakeBedrockVector(modelId: string, text: string, dimensions: number): number[] {
  const values: number[] = [];
  for (let block = 0; values.length < dimensions; block++) {
    const digest = createHash('sha256').update(`${modelId}|${block}|${text}`).digest();
    for (let i = 0; i < digest.length && values.length < dimensions; i++) values.push(digest[i]! / 255 - 0.5);
  }
  const norm = Math.hypot(...values);
  // Rounded to float32, as the service's JSON carries them.
  return values.map((v) => Math.fround(v / norm));
}

/** The tokens the fake bills for a text: one per whitespace-separated word, plus one. */
export function fakeBedrockTokens(text: string): number {
  return text.split(/\s+/).filter(Boolean).length + 1;
}

function sendJson(res: Http2ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(JSON.stringify(body));
}

/** An error as Bedrock sends one: the exception name in `x-amzn-errortype`, `{ message }` as the body. */
function sendError(res: Http2ServerResponse, error: FakeBedrockEmbeddingError): void {
  sendJson(
    res,
    error.status,
    { message: error.message },
    { 'x-amzn-errortype': `${error.errorType}:http://internal.amazon.com/coral/com.amazon.bedrock/` },
  );
}

/**
 * A local stand-in for Bedrock's InvokeModel with the two embedding families the gateway calls,
 * over HTTP/2 cleartext as `@aws-sdk/client-bedrock-runtime` speaks it
 * (`POST /model/{modelId}/invoke`, JSON in and out):
 * - `amazon.titan-embed-text-v2:0`: `{ inputText, dimensions?, normalize? }` →
 *   `{ embedding, inputTextTokenCount, embeddingsByType: { float } }`; dimensions 1024, 512, 256;
 * - `cohere.embed-english-v3` (or `-multilingual-v3`): `{ texts, input_type, truncate? }` →
 *   `{ embeddings, id, response_type: 'embeddings_floats', texts }`, at most 96 texts;
 * - both send the input token count in `x-amzn-bedrock-input-token-count` (Cohere's body has none);
 * - a malformed body is a 400 `ValidationException`, an unknown model a 404
 *   `ResourceNotFoundException`, as the service answers them.
 * `failWith` makes the next calls fail (throttles, outages) until it is cleared.
 */
export class FakeBedrockEmbeddings {
  readonly requests: FakeBedrockEmbeddingRequest[] = [];
  private readonly listener = new LocalListener();
  private failure: FakeBedrockEmbeddingError | undefined;

  /** Makes every following call fail with this error (undefined: answer normally again). */
  failWith(error: FakeBedrockEmbeddingError | undefined): void {
    this.failure = error;
  }

  /** Starts on 127.0.0.1 with a free port; resolves to the endpoint URL. */
  async start(): Promise<string> {
    const server = createServer((req, res) =>
      onBody(req.stream, (raw) => {
        const match = /^\/model\/([^/]+)\/invoke$/.exec(req.url ?? '');
        if (req.method !== 'POST' || !match) {
          sendError(res, { status: 404, errorType: 'UnknownOperationException', message: 'Unknown operation' });
          return;
        }
        let body: Record<string, unknown>;
        try {
          body = JSON.parse(raw) as Record<string, unknown>;
        } catch {
          sendError(res, { status: 400, errorType: 'ValidationException', message: 'Malformed input request' });
          return;
        }
        const request = { modelId: decodeURIComponent(match[1]!), headers: req.headers, body };
        this.requests.push(request);
        if (this.failure) sendError(res, this.failure);
        else this.answer(request, res);
      }),
    );
    return this.listener.listen(server, 'session');
  }

  /** Closes the server and its sessions. */
  stop(): Promise<void> {
    return this.listener.stop();
  }

  private answer({ modelId, body }: FakeBedrockEmbeddingRequest, res: Http2ServerResponse): void {
    const invalid = (message: string) => sendError(res, { status: 400, errorType: 'ValidationException', message });
    if (modelId.includes('amazon.titan-embed-text-v2')) {
      const { inputText, dimensions = 1024 } = body as { inputText?: unknown; dimensions?: unknown };
      if (typeof inputText !== 'string' || inputText === '') return invalid('inputText is required');
      if (typeof dimensions !== 'number' || !TITAN_DIMENSIONS.includes(dimensions)) {
        return invalid(`dimensions must be one of ${TITAN_DIMENSIONS.join(', ')}`);
      }
      const embedding = fakeBedrockVector(modelId, inputText, dimensions);
      const tokens = fakeBedrockTokens(inputText);
      sendJson(
        res,
        200,
        { embedding, inputTextTokenCount: tokens, embeddingsByType: { float: embedding } },
        { 'x-amzn-bedrock-input-token-count': String(tokens) },
      );
      return;
    }
    if (/cohere\.embed-(english|multilingual)-v3/.test(modelId)) {
      const { texts, input_type } = body as { texts?: unknown; input_type?: unknown };
      if (!Array.isArray(texts) || texts.length > COHERE_MAX_TEXTS || !texts.every((t) => typeof t === 'string')) {
        return invalid(`texts must be an array of at most ${COHERE_MAX_TEXTS} strings`);
      }
      if (!['search_document', 'search_query', 'classification', 'clustering'].includes(String(input_type))) {
        return invalid('input_type is required');
      }
      const strings = texts as string[];
      sendJson(
        res,
        200,
        {
          embeddings: strings.map((text) => fakeBedrockVector(modelId, text, COHERE_DIMENSIONS)),
          id: randomUUID(),
          response_type: 'embeddings_floats',
          texts: strings.map((text) => text.toLowerCase()),
        },
        { 'x-amzn-bedrock-input-token-count': String(strings.reduce((n, t) => n + fakeBedrockTokens(t), 0)) },
      );
      return;
    }
    sendError(res, { status: 404, errorType: 'ResourceNotFoundException', message: `Model ${modelId} not found` });
  }
}
