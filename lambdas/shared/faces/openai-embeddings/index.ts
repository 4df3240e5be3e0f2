export {
  embeddingsRequestSchema,
  MAX_EMBEDDING_INPUTS,
  parseEmbeddingsRequest,
  toEmbeddingExchangeRequest,
  type EmbeddingsRequest,
} from './request';
export { float32Base64, toEmbeddingsResponse } from './response';
