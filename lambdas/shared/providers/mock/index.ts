export { mockAdapter, mockCompletion, mockTokens } from './adapter';
export { MOCK_EMBEDDING_DIMENSIONS, mockEmbedder, mockEmbedding } from './embeddings';
export { mockOptionsSchema, type MockOptions } from './options';
