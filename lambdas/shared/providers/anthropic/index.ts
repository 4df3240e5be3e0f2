export { anthropicAdapter } from './adapter';
export { anthropicOptionsSchema, type AnthropicOptions } from './options';
export { toAnthropicBody } from './request';
export {
  finishReasonOf,
  fromAnthropicMessage,
  fromAnthropicStreamEvent,
  newAnthropicStreamState,
  usageOf,
} from './response';
