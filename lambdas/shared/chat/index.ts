export { ChatService, type ChatOutcome, type ChatServiceDeps, type RequestContext } from './chat-service';
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
