export { bedrockAdapter } from './adapter';
export {
  bedrockEmbedder,
  bedrockEmbeddingFormat,
  fromCohereBody,
  fromTitanBody,
  toCohereBody,
  toTitanBody,
} from './embeddings';
export { toProviderError } from './errors';
export { bedrockOptionsSchema, type BedrockOptions } from './options';
export { toConverseInput } from './request';
export { finishReasonOf, fromConverseOutput, usageOf } from './response';
