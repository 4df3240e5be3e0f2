import type { ModelAvailability } from './inference-profiles';

/**
 * Where the Bedrock models the default catalog ships (or suggests) are offered (base model id → availability),
 * from the sources cited beside each entry (seen 2026-11-29 through stored copies; the stored
 * copies' own dates are given where known). Only what a source shows is listed: a geography
 * missing here makes synth fail for that region rather than deploy a model id that would not
 * answer. A catalog entry may also state its own `geographies` (for models not in this table).
 */
export const BEDROCK_MODEL_AVAILABILITY: Readonly<Record<string, ModelAvailability>> = {
  // Anthropic "Claude on Amazon Bedrock" model table (platform.claude.com/docs/es/build-with-claude/
  // claude-on-amazon-bedrock): Sonnet 4.6 global Yes, us Yes, eu Yes, jp Yes, apac No. No AWS
  // model card for it was found in the stored sources; in-region invocation not confirmed.
  'anthropic.claude-sonnet-4-6': { geographies: ['us', 'eu', 'jp'], global: true, inRegion: false },
  // AWS model card (docs.aws.amazon.com/bedrock/latest/userguide/model-card-anthropic-claude-haiku-4-5.html):
  // geo ids us. and eu. shown. jp. and au. and global. from the generated Bedrock id list of the
  // aether-llm crate (docs.rs/aether-llm, enum BedrockFoundationModel); apac. not confirmed.
  'anthropic.claude-haiku-4-5-20251001-v1:0': { geographies: ['us', 'eu', 'jp', 'au'], global: true, inRegion: false },
  // AWS model card (docs.aws.eu/bedrock/latest/userguide/model-card-amazon-nova-lite.html): in-region
  // amazon.nova-lite-v1:0, geo ids us. and eu., global "Not supported".
  'amazon.nova-lite-v1:0': { geographies: ['us', 'eu'], global: false, inRegion: true },
  // Amazon Nova user guide, core inference (docs.aws.amazon.com/nova/latest/nova2-userguide/core-inference.html):
  // global.amazon.nova-2-lite-v1:0; us.amazon.nova-2-lite-v1:0 in AWS console guidance (quoted in
  // github.com/a5c-ai/babysitter/issues/1471) and in dev.classmethod.jp's Nova 2 Lite article.
  // No in-region invocation (cross-Region inference only); other geographies not confirmed.
  'amazon.nova-2-lite-v1:0': { geographies: ['us'], global: true, inRegion: false },
};
