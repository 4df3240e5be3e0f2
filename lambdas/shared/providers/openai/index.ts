export { openAiAdapter } from './adapter';
export { fromOpenAiEmbeddings, openAiEmbedder, toOpenAiEmbeddingsBody } from './embeddings';
export { openAiOptionsSchema, type OpenAiOptions } from './options';
export { toOpenAiBody } from './request';
export { finishReasonOf, fromOpenAiChunk, fromOpenAiCompletion, usageOf } from './response';
