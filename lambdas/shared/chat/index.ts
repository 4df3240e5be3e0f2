export {
  ChatService,
  type ChatOutcome,
  type ChatServiceDeps,
  type ChatStreamStart,
  type RequestContext,
  type RoutingFacts,
  type ServedStreamEvent,
} from './chat-service';
export { createChunkEncoder, sseFrame, type ChunkEncoderOptions } from './openai-stream';
export { StreamMeter } from './stream-meter';
export {
  chatCompletionRequestSchema,
  outputTokenLimit,
  parseChatCompletionRequest,
  toChatRequest,
  type ChatCompletionRequest,
} from './openai-request';
export {
  gatewayField,
  newCompletionId,
  openAiUsage,
  toChatCompletionResponse,
  type GatewayFacts,
} from './openai-response';
export { estimatePromptTokens } from './token-estimate';
export * from './types';
export { toClientError } from './upstream-errors';
