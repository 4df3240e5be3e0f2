import * as z from 'zod';
import { ADMIN_PRINCIPAL_ARN } from '../config/admin-principals';
import { usdToMicros } from '../cost/money';
import { INFERENCE_GEOGRAPHIES, INFERENCE_PROFILE_MODES } from './inference-profiles';
import { auditConfigSchema, policiesSchema } from '../policy/schema';
import { ssoConfigSchema } from '../sso/schema';
import { EMBEDDING_ADAPTER_IDS, providerConnectionSchema } from '../providers/options';
import { modelPatternSchema } from '../teams/schema';
import { experimentSchema } from '../routing/experiments';
import { DEFAULT_ROUTING, namedDeployments, routingConfigSchema } from '../routing/strategies';

/** Public model ids and aliases: what clients send as `model`. */
const modelId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/,
    'model ids use letters, digits and . _ : / - (at most 128 characters)',
  );

/** Names of provider connections in the config. */
const connectionName = z.string().regex(/^[a-z][a-z0-9-]{0,39}$/, 'provider names are lower-case kebab-case');

/**
 * A price in USD per million tokens as a human writes it (`3.75`), parsed to integer µ$ per
 * million tokens. A price with more precision than one micro-dollar per million tokens is refused.
 */
const usdPerMillionTokens = z
  .number()
  .nonnegative()
  .max(100_000)
  .transform((usd, ctx) => {
    try {
      return usdToMicros(usd);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
      return z.NEVER;
    }
  });

/**
 * Prices of one model. Cache reads and writes are their own line items; when a provider reports
 * cache tokens for a model without those prices, they are charged at the input price, which is
 * never less than what the provider charges.
 */
const pricesSchema = z
  .strictObject({
    input: usdPerMillionTokens,
    output: usdPerMillionTokens,
    cacheRead: usdPerMillionTokens.optional(),
    cacheWrite: usdPerMillionTokens.optional(),
  })
  .transform((p) => ({
    inputMicrosPerMTok: p.input,
    outputMicrosPerMTok: p.output,
    cacheReadMicrosPerMTok: p.cacheRead ?? p.input,
    cacheWriteMicrosPerMTok: p.cacheWrite ?? p.input,
  }));

/** What a model does: chat completions, or text embeddings (priced per input token only). */
export const MODEL_KINDS = ['chat', 'embedding'] as const;

/** One entry of the model catalog. */
const modelSchema = z.strictObject({
  /** The id clients send as `model`. */
  id: modelId,
  /** `chat` (the default, so configs written before embeddings keep their meaning) or `embedding`. */
  kind: z.enum(MODEL_KINDS).default('chat'),
  /** Name of the provider connection (a key of `providers`) that serves it. */
  provider: connectionName,
  /** The provider's own model id (a Bedrock model id, inference profile id or ARN; an OpenAI model name). */
  upstreamModel: z.string().min(1).max(2048),
  /**
   * Bedrock only, with a base model id in `upstreamModel`: how it is served. `geo` derives the
   * geographic profile prefix (`us.`, `eu.`, `apac.`, `jp.`, `au.`...) from the deploy region at
   * synth, `global` uses the global profile, `none` the model in-region. Absent: `upstreamModel`
   * is used exactly as written (a full profile id or ARN works as before).
   */
  inferenceProfile: z.enum(INFERENCE_PROFILE_MODES).optional(),
  /**
   * Geographies whose profiles serve this model, for a model the shipped availability table
   * (`bedrock-models.ts`) does not know; used with `inferenceProfile`.
   */
  geographies: z.array(z.enum(INFERENCE_GEOGRAPHIES)).optional(),
  /** Human description shown by `GET /v1/models`. */
  description: z.string().max(500).optional(),
  prices: pricesSchema,
  /**
   * Embedding models only: the vector sizes a caller may ask for with `dimensions` (Titan Text
   * Embeddings V2: 256, 512, 1024). Absent: the model has one size and `dimensions` is refused.
   */
  dimensions: z.array(z.number().int().positive().max(100_000)).min(1).optional(),
  /** The most output tokens one call may produce; also the cap used when a request names none. */
  maxOutputTokens: z.number().int().positive().max(1_000_000).default(4096),
  /** Other names clients may use for this model (e.g. `sonnet`, `gpt-4o-mini`). */
  aliases: z.array(modelId).default([]),
  /**
   * Models (ids) tried in order when this one's provider fails, throttles or times out. Each is
   * priced at its own prices, and only used if the caller may use it.
   */
  fallbacks: z.array(modelId).default([]),
  /**
   * How the entry's deployments (itself, then its fallbacks) are ordered for each request:
   * `fallback` (config order, the default), `weighted`, `round-robin`, `least-latency`, `cost`,
   * `context`. The strategy picks the first; the others stay fallbacks in config order.
   */
  routing: routingConfigSchema.default(DEFAULT_ROUTING),
  /** An A/B experiment: the entry's traffic split between other catalog models, sticky per session. */
  experiment: experimentSchema.optional(),
  /** The model's context window in tokens (prompt and output); the `cost` strategy skips deployments it would overflow. */
  contextTokens: z.number().int().positive().max(100_000_000).optional(),
  /**
   * What the model takes besides text (both by default): a deployment marked without tools or
   * images never gets a request that has them.
   */
  capabilities: z.strictObject({ tools: z.boolean().default(true), images: z.boolean().default(true) }).prefault({}),
});

/** Team settings a new team gets when the admin does not say otherwise. */
const teamDefaultsSchema = z.strictObject({
  requestsPerMinute: z.number().int().positive().default(60),
  tokensPerMinute: z.number().int().positive().default(200_000),
  softAlertPercent: z.number().int().min(1).max(100).default(80),
  /** Model ids or `*` patterns; `*` lets new teams use the whole catalog. */
  allowedModels: z.array(modelPatternSchema).min(1).default(['*']),
});

/**
 * Who may use the admin routes. API Gateway's IAM authorizer admits any principal of the account
 * with `execute-api:Invoke`; the gateway then admits only these. Nobody listed and no opt-in
 * means the admin routes refuse everyone in AWS (synth warns).
 */
const adminsSchema = z.strictObject({
  /**
   * IAM role ARNs (any session of the role; a path in the ARN is fine) and IAM user ARNs. Not an
   * account root ARN: admitting a whole account is the explicit opt-in below.
   */
  principals: z
    .array(
      z
        .string()
        .regex(
          ADMIN_PRINCIPAL_ARN,
          'expected an IAM role or user ARN, e.g. arn:aws:iam::123456789012:role/GatewayAdmin (for a whole account, set allowAnyPrincipalInAccount)',
        ),
    )
    .max(100)
    .default([]),
  /**
   * Admit every principal of the deploying account that may invoke the API (the IAM authorizer's
   * check only). For sandboxes; never in a shared account.
   */
  allowAnyPrincipalInAccount: z.boolean().default(false),
});

/**
 * The platform team's one typed config: providers, model catalog and defaults. It is validated
 * when the CDK app synthesizes and again when a Lambda starts, with the same schema.
 */
export const gatewayConfigSchema = z
  .strictObject({
    providers: z.record(connectionName, providerConnectionSchema),
    models: z.array(modelSchema).min(1),
    teamDefaults: teamDefaultsSchema.default({
      requestsPerMinute: 60,
      tokensPerMinute: 200_000,
      softAlertPercent: 80,
      allowedModels: ['*'],
    }),
    /** Policy profiles (guardrails, DLP), assigned to teams. */
    policies: policiesSchema.prefault({}),
    audit: auditConfigSchema.prefault({}),
    /** The admin allow-list. */
    admins: adminsSchema.prefault({}),
    /**
     * Single sign-on: users of the company's identity provider, with roles by group. Absent, only
     * team keys and IAM admins are accepted.
     */
    sso: ssoConfigSchema.optional(),
    /**
     * An optional health probe: every 5 minutes the maintenance function sends each matching chat
     * model a one-token request and records whether it answered, and how fast, as metrics on the
     * dashboard. Each probe is a real (tiny) provider call, billed by the provider to the
     * platform, not to a team; absent, nothing is probed.
     */
    healthProbe: z
      .strictObject({
        /** Catalog model ids or `*` patterns to probe. */
        models: z.array(modelPatternSchema).min(1).default(['*']),
        /** How long one probe may take before it counts as a failure. */
        timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
      })
      .optional(),
  })
  .superRefine(
    (config, ctx) => {
      const seen = new Set<string>();
      const ids = new Set(config.models.map((m) => m.id));
      const kinds = new Map(config.models.map((m) => [m.id, m.kind ?? 'chat']));
      const entries = new Map<unknown, RoutedEntry>(config.models.map((m) => [m.id, m]));
      config.models.forEach((model, index) => {
        if (seen.has(model.id)) {
          ctx.addIssue({ code: 'custom', path: ['models', index, 'id'], message: `duplicate model id "${model.id}"` });
        }
        seen.add(model.id);
        (model.aliases ?? []).forEach((alias, aliasIndex) => {
          if (seen.has(alias) || ids.has(alias)) {
            ctx.addIssue({
              code: 'custom',
              path: ['models', index, 'aliases', aliasIndex],
              message: `alias "${alias}" is already a model id or alias`,
            });
          }
          seen.add(alias);
        });
        (model.fallbacks ?? []).forEach((fallback, fallbackIndex) => {
          if (!ids.has(fallback) || fallback === model.id) {
            ctx.addIssue({
              code: 'custom',
              path: ['models', index, 'fallbacks', fallbackIndex],
              message: fallback === model.id ? 'a model cannot fall back to itself' : `unknown model id "${fallback}"`,
            });
          } else if (kinds.get(fallback) !== (model.kind ?? 'chat')) {
            ctx.addIssue({
              code: 'custom',
              path: ['models', index, 'fallbacks', fallbackIndex],
              message: `"${fallback}" is a ${kinds.get(fallback)} model; a ${model.kind ?? 'chat'} model falls back to its own kind`,
            });
          }
        });
        checkRouting(model, index, entries, ctx);
        if (model.kind === 'embedding') {
          const adapter = config.providers[model.provider]?.adapter;
          if (adapter !== undefined && !(EMBEDDING_ADAPTER_IDS as readonly string[]).includes(adapter)) {
            ctx.addIssue({
              code: 'custom',
              path: ['models', index, 'kind'],
              message: `provider "${model.provider}" (${adapter}) cannot embed; embedding models use ${EMBEDDING_ADAPTER_IDS.join(', ')}`,
            });
          }
        } else if (model.dimensions !== undefined) {
          ctx.addIssue({
            code: 'custom',
            path: ['models', index, 'dimensions'],
            message: 'dimensions is for embedding models (kind: embedding)',
          });
        }
        if (model.inferenceProfile !== undefined) {
          const adapter = config.providers[model.provider]?.adapter;
          // The mock is allowed: the local runtime stands it in for a Bedrock connection without credentials.
          if (adapter !== undefined && adapter !== 'bedrock' && adapter !== 'mock') {
            ctx.addIssue({
              code: 'custom',
              path: ['models', index, 'inferenceProfile'],
              message: `inferenceProfile is for Bedrock models; provider "${model.provider}" is ${adapter}`,
            });
          }
          if (!isBaseBedrockModelId(model.upstreamModel)) {
            ctx.addIssue({
              code: 'custom',
              path: ['models', index, 'upstreamModel'],
              message: `with inferenceProfile, give the base model id (e.g. anthropic.claude-haiku-4-5-20251001-v1:0), not a profile id or ARN`,
            });
          }
        }
        if (!(model.provider in config.providers)) {
          ctx.addIssue({
            code: 'custom',
            path: ['models', index, 'provider'],
            message: `unknown provider "${model.provider}"; declared: ${Object.keys(config.providers).join(', ')}`,
          });
        }
      });
    },
    // Cross-checks run even when a field failed, so one run reports every problem.
    { when: ({ value }) => isConfigShaped(value) },
  );

/** The part of a model entry {@link checkRouting} reads (the cross-checks run on partly invalid configs too). */
interface RoutedEntry {
  id?: unknown;
  kind?: unknown;
  fallbacks?: unknown[];
  routing?: z.output<typeof routingConfigSchema>;
  experiment?: z.output<typeof experimentSchema>;
}

/**
 * Routing cross-checks of one entry: the deployments its strategy names are the entry itself or
 * its fallbacks; its experiment's variants are other catalog models of the same kind, themselves
 * without an experiment (one assignment per request).
 */
function checkRouting(
  model: RoutedEntry,
  index: number,
  entries: ReadonlyMap<unknown, RoutedEntry>,
  ctx: z.RefinementCtx,
): void {
  const deployments = new Set([model.id, ...(model.fallbacks ?? [])]);
  for (const [path, id] of model.routing ? namedDeployments(model.routing) : []) {
    if (!deployments.has(id)) {
      ctx.addIssue({
        code: 'custom',
        path: ['models', index, 'routing', ...path],
        message: `"${id}" is not one of this model's deployments (the model itself or its fallbacks)`,
      });
    }
  }
  (model.experiment?.variants ?? []).forEach((variant, variantIndex) => {
    const target = entries.get(variant.model);
    const path = ['models', index, 'experiment', 'variants', variantIndex, 'model'];
    if (target === undefined || variant.model === model.id) {
      const message = target ? 'a variant is another catalog model' : `unknown model id "${variant.model}"`;
      ctx.addIssue({ code: 'custom', path, message });
    } else if ((target.kind ?? 'chat') !== (model.kind ?? 'chat')) {
      ctx.addIssue({ code: 'custom', path, message: `"${variant.model}" is not a ${model.kind ?? 'chat'} model` });
    } else if (target.experiment !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path,
        message: `"${variant.model}" runs its own experiment; variants do not nest`,
      });
    }
  });
}

/** A foundation model id without a profile prefix or ARN (`anthropic.…`, not `us.anthropic.…`). */
function isBaseBedrockModelId(id: string): boolean {
  return !id.startsWith('arn:') && !/^(us|us-gov|eu|apac|jp|au|ca|global)\./.test(id);
}

function isConfigShaped(
  value: unknown,
): value is { models: { id?: unknown; provider?: unknown; kind?: unknown }[]; providers: object } {
  const v = value as { models?: { aliases?: unknown; fallbacks?: unknown }[]; providers?: unknown } | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray(v.models) &&
    v.models.every(
      (m) =>
        typeof m === 'object' &&
        m !== null &&
        (m.aliases === undefined || Array.isArray(m.aliases)) &&
        (m.fallbacks === undefined || Array.isArray(m.fallbacks)),
    ) &&
    typeof v.providers === 'object' &&
    v.providers !== null
  );
}

/** The config as written in `gateway.config.ts`. */
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
/** The config after validation, with prices in µ$ per million tokens. */
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
/** One validated catalog entry. */
export type ModelEntry = GatewayConfig['models'][number];
/** What a model does. */
export type ModelKind = ModelEntry['kind'];
/** Prices of one model in integer µ$ per million tokens. */
export type ModelPrices = ModelEntry['prices'];

/** Raised when the config does not validate; its message lists every problem with its path. */
export class GatewayConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GatewayConfigError';
  }
}

/**
 * Validates a gateway config, throwing one error that lists every problem found.
 *
 * @example
 * const config = parseGatewayConfig(gatewayConfig); // at synth time and at Lambda start
 */
export function parseGatewayConfig(input: unknown): GatewayConfig {
  const result = gatewayConfigSchema.safeParse(input);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => `  - ${issue.path.join('.') || '(root)'}: ${issue.message}`);
    throw new GatewayConfigError(`invalid gateway config:\n${problems.join('\n')}`);
  }
  return result.data;
}

/**
 * Identity function that gives `gateway.config.ts` its type checking and editor completion.
 *
 * @example
 * export const gatewayConfig = defineGatewayConfig({ providers: {...}, models: [...] });
 */
export function defineGatewayConfig(config: GatewayConfigInput): GatewayConfigInput {
  return config;
}
