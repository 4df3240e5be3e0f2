import * as z from 'zod';
import { commonConnectionOptions } from '../connection-options';

/**
 * Connection options of OpenAI and of any OpenAI-compatible server. Azure OpenAI, vLLM, Ollama,
 * LiteLLM or a corporate proxy are connections of this adapter with their own base URL and
 * auth style, not code.
 */
export const openAiOptionsSchema = z.strictObject({
  adapter: z.literal('openai'),
  ...commonConnectionOptions,
  /** Base URL up to (not including) `/chat/completions`, e.g. `https://api.openai.com/v1`. */
  baseUrl: z.url().default('https://api.openai.com/v1'),
  /** Secrets Manager secret (name or ARN) holding the API key; omit for servers without auth. */
  apiKeySecret: z.string().min(1).optional(),
  /** `authorization` sends `Bearer <key>` (OpenAI); `api-key` sends the key as is (Azure OpenAI). */
  authHeader: z.enum(['authorization', 'api-key']).default('authorization'),
  /** Query parameters on every call, e.g. `{ "api-version": "2024-10-21" }` for Azure deployments. */
  query: z.record(z.string(), z.string()).optional(),
  /** Extra headers on every call (e.g. an organization id). */
  headers: z.record(z.string(), z.string()).optional(),
  /** OpenAI's current name for the output cap; older compatible servers know only `max_tokens`. */
  maxTokensParameter: z.enum(['max_completion_tokens', 'max_tokens']).default('max_completion_tokens'),
});

/** Parsed OpenAI connection options. */
export type OpenAiOptions = z.infer<typeof openAiOptionsSchema>;
