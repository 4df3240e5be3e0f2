export {
  BUILTIN_DETECTORS,
  customDetector,
  DETECTORS,
  luhnValid,
  scan,
  type BuiltinDetector,
  type Detector,
  type Finding,
} from './detectors';
export {
  ALLOW,
  combine,
  CompiledPolicy,
  detectorRuleId,
  PolicyEngine,
  type DecisionAction,
  type PolicyDecision,
  type TextCheck,
} from './engine';
export { PolicyViolationError } from './errors';
export {
  BedrockGuardrailChecker,
  type GuardrailChecker,
  type GuardrailSettings,
  type GuardrailVerdict,
} from './guardrail';
export { isModelAllowed, matchesModelPattern } from './model-access';
export { Redactor } from './redactor';
export {
  auditConfigSchema,
  directionSchema,
  policiesSchema,
  policyActionSchema,
  policyProfileSchema,
  type Direction,
  type PoliciesConfig,
  type PolicyAction,
  type PolicyProfile,
} from './schema';
export { StreamTextFilter } from './stream-filter';
