import type { ChatCompletion, ChatRequest } from '../chat/types';
import type { ConnectionOf, ProviderAdapterId } from './options';

/** Where one call goes: a provider connection and the provider's own model id. */
export interface ProviderTarget<A extends ProviderAdapterId = ProviderAdapterId> {
  /** Name of the connection in the config (reported as `provider`). */
  connectionName: string;
  connection: ConnectionOf<A>;
  upstreamModel: string;
}

/** Per-call options every adapter honours. */
export interface ProviderCallOptions {
  /** Aborted when the call's deadline passes or the client goes away. */
  signal: AbortSignal;
}

/**
 * One provider behind one interface: the gateway's request in, the gateway's completion out,
 * failures as {@link ProviderError}. Adding a provider means adding a folder that exports one of
 * these and registering it in `registry.ts`.
 */
export interface ProviderAdapter<A extends ProviderAdapterId = ProviderAdapterId> {
  readonly id: A;
  complete(request: ChatRequest, target: ProviderTarget<A>, options: ProviderCallOptions): Promise<ChatCompletion>;
}
