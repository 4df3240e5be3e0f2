export { billedUsage, StreamMeter } from './stream-meter';
export { estimatePromptTokens } from './token-estimate';
export * from './types';
export { toClientError } from './upstream-errors';
