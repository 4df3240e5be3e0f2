import type { ChatCompletion, ChatRequest, ChatStreamEvent } from '../chat/types';
import type { EmbeddingRequest, EmbeddingResult } from '../embeddings/types';
import type { ConnectionOf, ProviderAdapterId } from './options';
import type { SecretResolver } from './secrets';

/** Where one call goes: a provider connection and the provider's own model id. */
export interface ProviderTarget<A extends ProviderAdapterId = ProviderAdapterId> {
  /** Name of the connection in the config (reported as `provider`). */
  connectionName: string;
  connection: ConnectionOf<A>;
  upstreamModel: string;
}

/** Per-call context every adapter honours. */
export interface ProviderCallOptions {
  /** Aborted when the attempt's deadline passes or the client goes away. */
  signal: AbortSignal;
  /** Provider API keys (Secrets Manager in AWS). */
  secrets: SecretResolver;
}

/**
 * One provider behind one interface: the gateway's request in, the gateway's completion or
 * stream of events out, failures as {@link ProviderError}. Adding a provider means adding a
 * folder that exports one of these and registering it in `registry.ts`.
 */
export interface ProviderAdapter<A extends ProviderAdapterId = ProviderAdapterId> {
  readonly id: A;
  complete(request: ChatRequest, target: ProviderTarget<A>, options: ProviderCallOptions): Promise<ChatCompletion>;
  /**
   * Streams a completion. Errors before the first event may be retried elsewhere; errors after
   * it end the stream, and the caller meters what was delivered.
   */
  stream(request: ChatRequest, target: ProviderTarget<A>, options: ProviderCallOptions): AsyncIterable<ChatStreamEvent>;
  /**
   * The provider's own count of a request's input tokens, where it offers one for this request;
   * undefined where it does not (the gateway's estimate is used instead).
   */
  countTokens?(
    request: ChatRequest,
    target: ProviderTarget<A>,
    options: ProviderCallOptions,
  ): Promise<number | undefined>;
}

/**
 * The embeddings capability of a provider: the gateway's texts in, one vector per text out (in
 * order), failures as {@link ProviderError}. Each adapter that can embed has one, in its folder,
 * registered in `embedders.ts`.
 */
export interface EmbeddingAdapter<A extends ProviderAdapterId = ProviderAdapterId> {
  readonly id: A;
  embed(request: EmbeddingRequest, target: ProviderTarget<A>, options: ProviderCallOptions): Promise<EmbeddingResult>;
}
