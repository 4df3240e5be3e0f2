import { createHash } from 'node:crypto';
import * as z from 'zod';

/** Experiment and variant names: they end up in item keys and headers, so no `#`, no spaces. */
const experimentName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'experiment and variant names are lower-case letters, digits and . _ -');

/**
 * An A/B experiment on a catalog entry: its traffic split between variants (other catalog models)
 * by integer percentages summing to 100, with sticky assignment per session.
 */
export const experimentSchema = z
  .strictObject({
    /** Names the experiment in hashes, the ledger and reports. */
    name: experimentName,
    variants: z
      .array(
        z.strictObject({
          /** What the ledger, reports and `x-gateway-variant` call it; default: the model id. */
          name: experimentName.optional(),
          /** The catalog model that serves this variant (its own strategy and fallbacks apply). */
          model: z.string().min(1).max(128),
          percent: z.number().int().min(1).max(100),
        }),
      )
      .min(2)
      .max(20),
  })
  .superRefine((experiment, ctx) => {
    const total = experiment.variants.reduce((sum, v) => sum + v.percent, 0);
    if (total !== 100)
      ctx.addIssue({ code: 'custom', path: ['variants'], message: `percents sum to ${total}, not 100` });
    const names = experiment.variants.map((v) => v.name ?? v.model);
    names.forEach((name, index) => {
      if (names.indexOf(name) !== index) {
        ctx.addIssue({ code: 'custom', path: ['variants', index, 'name'], message: `duplicate variant "${name}"` });
      }
    });
  });

/** A validated experiment. */
export type Experiment = z.output<typeof experimentSchema>;

/** The variant a request was assigned to. */
export interface VariantAssignment {
  experiment: string;
  variant: string;
  /** The catalog model that serves the variant. */
  model: string;
}

/**
 * A session's bucket in an experiment, 0 to 99: the first 32 bits of SHA-256 over the
 * experiment's name and the session key. Deterministic, so a session stays in its variant on
 * every instance; salted by the experiment, so a session's buckets in two experiments are
 * independent.
 *
 * @example
 * bucketOf('prompt-v2', 'user-42') // the same number on every call and every instance
 */
export function bucketOf(experiment: string, sessionKey: string): number {
  const digest = createHash('sha256').update(experiment).update('\0').update(sessionKey).digest();
  return digest.readUInt32BE(0) % 100;
}

/**
 * The variant of a session: buckets are dealt to the variants in config order by their percentages.
 *
 * @example
 * assignVariant({ name: 'x', variants: [{ model: 'a', percent: 90 }, { model: 'b', percent: 10 }] }, 'user-42')
 */
export function assignVariant(experiment: Experiment, sessionKey: string): VariantAssignment {
  const bucket = bucketOf(experiment.name, sessionKey);
  let upTo = 0;
  for (const variant of experiment.variants) {
    upTo += variant.percent;
    if (bucket < upTo)
      return { experiment: experiment.name, variant: variant.name ?? variant.model, model: variant.model };
  }
  // Percentages sum to 100 (validated), so every bucket is dealt above.
  throw new Error(`experiment ${experiment.name} does not deal bucket ${bucket}`);
}
