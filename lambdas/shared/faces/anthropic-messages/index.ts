export { anthropicBetas, checkAnthropicVersion } from './headers';
export {
  countTokensRequestSchema,
  messagesRequestSchema,
  neutralPrompt,
  parseCountTokensRequest,
  parseMessagesRequest,
  toExchangeRequest,
  type CountTokensRequest,
  type MessagesRequest,
} from './request';
export { anthropicUsage, newMessageId, stopReasonOf, toAnthropicMessage } from './response';
export { anthropicFrame, createMessageEncoder, type MessageEncoderOptions } from './stream';
