/**
 * The gateway's own embeddings shape: what an embeddings face parses requests into and what
 * every provider's embedder consumes and produces, so that no provider knows a face's wire format.
 */

/** A validated embeddings request as it goes upstream (checked and redacted by the policy). */
export interface EmbeddingRequest {
  /** The texts to embed, in order; never empty, no empty text. */
  inputs: string[];
  /** The vector size asked for; absent: the model's own default. Only sent to models that list it. */
  dimensions?: number;
  /** End-user id passed by the caller, forwarded where the provider supports it. */
  user?: string;
}

/** What a provider answered: one vector per input, in the inputs' order, and its token count. */
export interface EmbeddingResult {
  vectors: number[][];
  /** Input tokens the provider reported (0 when it reported none: the gateway then bills its estimate). */
  inputTokens: number;
}
