export {
  chatCompletionRequestSchema,
  parseChatCompletionRequest,
  toExchangeRequest,
  type ChatCompletionRequest,
} from './request';
export {
  gatewayField,
  modelView,
  newCompletionId,
  openAiUsage,
  toChatCompletionResponse,
  type GatewayFacts,
} from './response';
export { createChunkEncoder, sseFrame, type ChunkEncoderOptions } from './stream';
export { routedFacts, routingHeaders } from '../routing-headers';
