import * as z from 'zod';
import { modelPatternSchema } from '../teams/schema';
import { BUILTIN_DETECTORS } from './detectors';

/**
 * What a policy does about a finding: refuse the request, replace the finding, replace it and give
 * it back to the caller in the answer (`redact_reversible`: the provider never sees it), or only
 * record it.
 */
export const policyActionSchema = z.enum(['block', 'redact', 'redact_reversible', 'alert']);
/** Which traffic a rule looks at: the prompt, the model's answer, or both. */
export const directionSchema = z.enum(['input', 'output', 'both']);

const name = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/, 'names are lower-case letters, digits, _ and -');
const ruleId = z.string().regex(/^[a-z0-9][a-z0-9._:-]{0,63}$/, 'rule ids are lower-case letters, digits, . _ : -');

/** A regular expression written in the config; refused at synth time if it does not compile. */
const regexSource = z
  .string()
  .min(1)
  .max(1_000)
  .refine((source) => {
    try {
      new RegExp(source);
      return true;
    } catch {
      return false;
    }
  }, 'not a valid regular expression');

/** A deny rule: keywords or a pattern that block a request (input) or an answer (output). */
const denyRuleSchema = z
  .strictObject({
    id: ruleId,
    /** Shown to the caller when the rule blocks; never the matched text. */
    message: z.string().min(1).max(300),
    direction: directionSchema.default('input'),
    /** Matched as whole words, case-insensitively unless `caseSensitive`. */
    keywords: z.array(z.string().min(1).max(200)).max(1_000).optional(),
    pattern: regexSource.optional(),
    caseSensitive: z.boolean().default(false),
  })
  .refine(
    (rule) => (rule.keywords?.length ?? 0) > 0 || rule.pattern !== undefined,
    'a deny rule needs keywords or a pattern',
  );

/** A DLP detector switched on in a profile, with what to do about its findings. */
const detectorRuleSchema = z.strictObject({
  detector: name,
  action: policyActionSchema,
  direction: directionSchema.default('both'),
});

/** An Amazon Bedrock guardrail applied (ApplyGuardrail API) to any provider's traffic. */
const guardrailSchema = z.strictObject({
  id: z.string().min(1).max(2048),
  version: z.string().min(1).max(20).default('DRAFT'),
  direction: directionSchema.default('both'),
  /** Region of the guardrail; the Lambda's by default. */
  region: z.string().optional(),
  /** Bedrock runtime endpoint override (a VPC endpoint, or a local fake in tests). */
  endpoint: z.url().optional(),
});

/** How much of each request the audit trail keeps (always redacted of every detector's findings). */
const auditExcerptSchema = z.strictObject({
  promptExcerptChars: z.number().int().min(0).max(4_000).default(200),
  /** Off by default: answers may hold more than anyone meant to keep. */
  responseExcerptChars: z.number().int().min(0).max(4_000).default(0),
});

/**
 * A rule about the tool calls a model makes: calls to a matching tool (name patterns, `*`
 * wildcards) whose arguments match `argumentsPattern` (when given) are allowed, blocked (removed
 * from the answer, which says so), or held until an approver approves them. The first matching
 * rule decides; a call no rule matches is allowed.
 */
const toolRuleSchema = z.strictObject({
  id: ruleId,
  tools: z
    .array(z.string().regex(/^[a-zA-Z0-9_*-]{1,128}$/, 'tool name patterns are letters, digits, _ - and *'))
    .min(1)
    .default(['*']),
  /** Matched against the call's arguments (the JSON text the model wrote), case-insensitively. */
  argumentsPattern: regexSource.optional(),
  action: z.enum(['allow', 'block', 'require_approval']),
});

/** How held tool calls are approved. */
const approvalsSchema = z.strictObject({
  /** How long a held call waits for an approver before it expires. */
  ttlSeconds: z
    .number()
    .int()
    .min(1)
    .max(7 * 86_400)
    .default(3_600),
  /**
   * IAM principals (role or user ARNs) who may approve this profile's calls, besides none: empty
   * means any admin on the admin allow-list.
   */
  approvers: z
    .array(z.string().regex(/^arn:aws[a-z-]*:(iam|sts)::\d{12}:/, 'an IAM role or user ARN'))
    .max(100)
    .default([]),
});

/** A named policy profile, assigned to teams. */
export const policyProfileSchema = z.strictObject({
  description: z.string().max(500).optional(),
  /** Models the profile allows; a team's own allow-list narrows it further. */
  allowedModels: z.array(modelPatternSchema).min(1).default(['*']),
  /** Refuse prompts estimated above this many tokens. */
  maxPromptTokens: z.number().int().positive().optional(),
  /** Cap on output tokens (requests asking for more are refused; requests naming none get this). */
  maxOutputTokens: z.number().int().positive().optional(),
  denyRules: z.array(denyRuleSchema).default([]),
  detectors: z.array(detectorRuleSchema).default([]),
  guardrail: guardrailSchema.optional(),
  audit: auditExcerptSchema.prefault({}),
  /**
   * The keys (key ids) whose answers get `redact_reversible` values back in place of their
   * placeholders; `*` every key of the profile's teams. Other keys see the placeholders.
   */
  toolRules: z.array(toolRuleSchema).max(100).default([]),
  approvals: approvalsSchema.prefault({}),
  restoreFor: z
    .array(z.union([z.literal('*'), z.string().regex(/^[a-z2-7]{12}$/, 'key ids are 12 characters, a-z and 2-7')]))
    .max(1_000)
    .default(['*']),
});

/** The config's `policies` section. */
export const policiesSchema = z
  .strictObject({
    /** The profile of teams that name none. */
    defaultProfile: name.default('default'),
    profiles: z.record(name, policyProfileSchema).prefault({ default: {} }),
    /** Detectors of the company's own identifiers, usable in profiles by name. */
    customDetectors: z
      .record(
        name,
        z.strictObject({
          pattern: regexSource,
          flags: z
            .string()
            .regex(/^[imsu]*$/, 'flags may be i, m, s, u')
            .optional(),
          description: z.string().max(300).optional(),
        }),
      )
      .default({}),
  })
  .superRefine((policies, ctx) => {
    if (!(policies.defaultProfile in policies.profiles)) {
      ctx.addIssue({
        code: 'custom',
        path: ['defaultProfile'],
        message: `no profile named "${policies.defaultProfile}"`,
      });
    }
    const builtins = new Set<string>(BUILTIN_DETECTORS);
    for (const custom of Object.keys(policies.customDetectors)) {
      if (builtins.has(custom)) {
        ctx.addIssue({
          code: 'custom',
          path: ['customDetectors', custom],
          message: `"${custom}" is a built-in detector`,
        });
      }
    }
    const known = new Set([...builtins, ...Object.keys(policies.customDetectors)]);
    for (const [profileName, profile] of Object.entries(policies.profiles)) {
      profile.detectors.forEach((rule, index) => {
        if (!known.has(rule.detector)) {
          ctx.addIssue({
            code: 'custom',
            path: ['profiles', profileName, 'detectors', index, 'detector'],
            message: `unknown detector "${rule.detector}"; known: ${[...known].join(', ')}`,
          });
        }
      });
      const ids = new Set<string>();
      profile.denyRules.forEach((rule, index) => {
        if (ids.has(rule.id)) {
          ctx.addIssue({
            code: 'custom',
            path: ['profiles', profileName, 'denyRules', index, 'id'],
            message: `duplicate rule id "${rule.id}"`,
          });
        }
        ids.add(rule.id);
      });
    }
  });

/** The validated `policies` section. */
export type PoliciesConfig = z.output<typeof policiesSchema>;
/** One validated profile. */
export type PolicyProfile = z.output<typeof policyProfileSchema>;
/** What a policy does. */
export type PolicyAction = z.output<typeof policyActionSchema>;
/** Which traffic a rule looks at. */
export type Direction = z.output<typeof directionSchema>;

/** Audit trail settings of the deployment. */
export const auditConfigSchema = z.strictObject({
  /** Days an audit record is kept before DynamoDB's TTL removes it. */
  retentionDays: z.number().int().min(1).max(3_650).default(90),
});
