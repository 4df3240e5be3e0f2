export { embeddingTokenBound, estimateEmbeddingTokens } from './token-bound';
export type { EmbeddingRequest, EmbeddingResult } from './types';
