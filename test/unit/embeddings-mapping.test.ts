import { parseGatewayConfig } from '../../lambdas/shared/catalog/schema';
import { embeddingTokenBound } from '../../lambdas/shared/embeddings/token-bound';
import { worstCasePicos } from '../../lambdas/shared/exchange/admission';
import {
  float32Base64,
  parseEmbeddingsRequest,
  toEmbeddingExchangeRequest,
  toEmbeddingsResponse,
} from '../../lambdas/shared/faces/openai-embeddings';
import {
  bedrockEmbeddingFormat,
  fromCohereBody,
  fromTitanBody,
  toCohereBody,
  toTitanBody,
} from '../../lambdas/shared/providers/bedrock/embeddings';
import { ProviderError } from '../../lambdas/shared/providers/errors';
import { mockEmbedding } from '../../lambdas/shared/providers/mock/embeddings';
import { fromOpenAiEmbeddings, toOpenAiEmbeddingsBody } from '../../lambdas/shared/providers/openai/embeddings';

describe('the OpenAI embeddings face', () => {
  it('maps a string or an array of strings to the neutral request, naming dimensions as the caller did', () => {
    expect(toEmbeddingExchangeRequest(parseEmbeddingsRequest({ model: 'm', input: 'hi' }))).toEqual({
      model: 'm',
      inputs: ['hi'],
      dimensions: undefined,
      user: undefined,
    });
    const body = parseEmbeddingsRequest({ model: 'm', input: ['a', 'b'], dimensions: 256, user: 'u1' });
    expect(toEmbeddingExchangeRequest(body)).toEqual({
      model: 'm',
      inputs: ['a', 'b'],
      dimensions: { value: 256, param: 'dimensions' },
      user: 'u1',
    });
  });

  it.each([
    ['token ids', { model: 'm', input: [1, 2] }, 'input', 'Token arrays are not supported'],
    ['token id arrays', { model: 'm', input: [[1], [2]] }, 'input', 'Token arrays are not supported'],
    ['an empty string', { model: 'm', input: '' }, 'input', 'must not be an empty string'],
    ['an empty string in a list', { model: 'm', input: ['ok', ''] }, 'input[1]', 'must not be an empty string'],
    ['2049 inputs', { model: 'm', input: Array<string>(2049).fill('x') }, 'input', ''],
    ['an unknown encoding', { model: 'm', input: 'x', encoding_format: 'int8' }, 'encoding_format', ''],
    ['0 dimensions', { model: 'm', input: 'x', dimensions: 0 }, 'dimensions', ''],
    ['a parameter it does not implement', { model: 'm', input: 'x', stream: true }, 'stream', 'Unsupported parameter'],
  ])('refuses %s with a 400 naming its parameter', (_label, body, param, message) => {
    let error: unknown;
    try {
      parseEmbeddingsRequest(body);
    } catch (caught) {
      error = caught;
    }
    expect(error).toMatchObject({ status: 400, param });
    expect((error as Error).message).toContain(message);
  });

  it("answers exactly OpenAI's shape; base64 is the little-endian float32 array", () => {
    const usage = { inputTokens: 7, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0 };
    expect(toEmbeddingsResponse({ model: 'm', vectors: [[0.5, -1]], usage, encoding: 'float' })).toEqual({
      object: 'list',
      data: [{ object: 'embedding', index: 0, embedding: [0.5, -1] }],
      model: 'm',
      usage: { prompt_tokens: 7, total_tokens: 7 },
    });
    expect(float32Base64([1])).toBe('AACAPw==');
    const encoded = toEmbeddingsResponse({ model: 'm', vectors: [[0.1, 2]], usage, encoding: 'base64' });
    const bytes = Buffer.from(encoded.data[0]!.embedding as string, 'base64');
    expect([bytes.readFloatLE(0), bytes.readFloatLE(4)]).toEqual([Math.fround(0.1), 2]);
  });
});

describe('Bedrock embeddings mapping', () => {
  it('knows Titan V2 and Cohere v3 by base id, profile id or ARN, and nothing else', () => {
    expect(bedrockEmbeddingFormat('amazon.titan-embed-text-v2:0')).toBe('titan-v2');
    expect(bedrockEmbeddingFormat('arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v2:0')).toBe(
      'titan-v2',
    );
    expect(bedrockEmbeddingFormat('cohere.embed-english-v3')).toBe('cohere-v3');
    expect(bedrockEmbeddingFormat('us.cohere.embed-multilingual-v3')).toBe('cohere-v3');
    expect(bedrockEmbeddingFormat('amazon.titan-embed-text-v1')).toBeUndefined();
    expect(bedrockEmbeddingFormat('cohere.embed-v4:0')).toBeUndefined();
  });

  it("writes Titan's one-text body (unit vectors) and reads its vector and token count", () => {
    expect(JSON.parse(JSON.stringify(toTitanBody('hello', undefined)))).toEqual({
      inputText: 'hello',
      normalize: true,
    });
    expect(toTitanBody('hello', 512)).toEqual({ inputText: 'hello', dimensions: 512, normalize: true });
    expect(fromTitanBody({ embedding: [0.6, 0.8], inputTextTokenCount: 3 })).toEqual({
      vector: [0.6, 0.8],
      inputTokens: 3,
    });
    expect(() => fromTitanBody({ inputTextTokenCount: 3 })).toThrow(ProviderError);
  });

  it("writes Cohere's batch body and reads one vector per text, or fails as malformed", () => {
    expect(toCohereBody(['a', 'b'])).toEqual({ texts: ['a', 'b'], input_type: 'search_document' });
    const answer = { embeddings: [[1], [2]], id: 'x', response_type: 'embeddings_floats', texts: ['a', 'b'] };
    expect(fromCohereBody(answer, 2)).toEqual([[1], [2]]);
    expect(() => fromCohereBody(answer, 3)).toThrow(ProviderError);
    expect(() => fromCohereBody({ embeddings: { float: [[1]] } }, 1)).toThrow(ProviderError);
  });
});

describe('OpenAI embeddings mapping', () => {
  it('asks for floats with every input in one call, and puts vectors back in input order', () => {
    expect(
      toOpenAiEmbeddingsBody({ inputs: ['a', 'b'], dimensions: 256, user: 'u' }, 'text-embedding-3-small'),
    ).toEqual({
      model: 'text-embedding-3-small',
      input: ['a', 'b'],
      encoding_format: 'float',
      dimensions: 256,
      user: 'u',
    });
    const body = {
      data: [
        { index: 1, embedding: [2] },
        { index: 0, embedding: [1] },
      ],
      usage: { prompt_tokens: 4 },
    };
    expect(fromOpenAiEmbeddings(body, 2)).toEqual({ vectors: [[1], [2]], inputTokens: 4 });
  });

  it('refuses an answer without exactly one vector per input', () => {
    expect(() => fromOpenAiEmbeddings({ data: [{ index: 0, embedding: [1] }] }, 2)).toThrow(ProviderError);
    expect(() =>
      fromOpenAiEmbeddings(
        {
          data: [
            { index: 0, embedding: [1] },
            { index: 0, embedding: [2] },
          ],
        },
        2,
      ),
    ).toThrow(ProviderError);
    expect(() => fromOpenAiEmbeddings({ data: [{ index: 0, embedding: 'AACAPw==' }] }, 1)).toThrow(ProviderError);
  });
});

describe('the mock embedder', () => {
  it('gives the same unit vector for the same text, a different one for another', () => {
    const a = mockEmbedding('hello', 64);
    expect(mockEmbedding('hello', 64)).toEqual(a);
    expect(a).toHaveLength(64);
    expect(Math.hypot(...a)).toBeCloseTo(1, 12);
    expect(mockEmbedding('hello!', 64)).not.toEqual(a);
  });
});

describe('embeddings admission', () => {
  it('reserves a true upper bound: every input byte plus framing, at the input price, and no output', () => {
    const inputs = ['héllo', '🙂'];
    // 6 and 4 UTF-8 bytes, 16 tokens of framing each.
    expect(embeddingTokenBound(inputs)).toBe(6 + 4 + 2 * 16);
    const config = parseGatewayConfig({
      providers: { mock: { adapter: 'mock' } },
      models: [
        { id: 'e', kind: 'embedding', provider: 'mock', upstreamModel: 'e', prices: { input: 0.02, output: 0 } },
      ],
    });
    const candidates = [
      {
        model: config.models[0]!,
        target: { connectionName: 'mock', connection: config.providers['mock']!, upstreamModel: 'e' },
      },
    ];
    expect(worstCasePicos({ candidates, promptTokenBound: 42 }, 0)).toBe(42n * 20_000n);
  });

  it('keeps embedding models on connections that can embed, with fallbacks of their own kind', () => {
    const base = {
      providers: { mock: { adapter: 'mock' }, claude: { adapter: 'anthropic', apiKeySecret: 's' } },
      models: [
        { id: 'chat', provider: 'mock', upstreamModel: 'c', prices: { input: 1, output: 1 } },
        { id: 'e', kind: 'embedding', provider: 'claude', upstreamModel: 'e', prices: { input: 1, output: 0 } },
        {
          id: 'f',
          kind: 'embedding',
          provider: 'mock',
          upstreamModel: 'f',
          prices: { input: 1, output: 0 },
          fallbacks: ['chat'],
        },
        { id: 'g', provider: 'mock', upstreamModel: 'g', prices: { input: 1, output: 1 }, dimensions: [8] },
      ],
    };
    expect(() => parseGatewayConfig(base)).toThrow(
      /models\.1\.kind: provider "claude" \(anthropic\) cannot embed[\s\S]*models\.2\.fallbacks\.0: "chat" is a chat model[\s\S]*models\.3\.dimensions: dimensions is for embedding models/,
    );
  });
});
