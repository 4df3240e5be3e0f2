export { mockAdapter, mockCompletion, mockTokens } from './adapter';
export { mockOptionsSchema, type MockOptions } from './options';
