/**
 * Register policies: types, combination, JSON files, QEMU property strings and presets.
 * @module
 */
export {
  POLICY_KINDS,
  PolicySet,
  combinePolicies,
  describeRule,
  isMaskedKind,
  resolveRegRef,
} from './policy.js';
export type {
  FlagRule,
  MaskedPolicyKind,
  MaskedRule,
  Policy,
  PolicyKind,
  PolicyRule,
  RegRef,
  RegisterRules,
  ResolvedRule,
} from './policy.js';
export {
  QEMU_POLICY_PROPERTIES,
  parsePolicyJson,
  parseQemuProperties,
  parseQemuProperty,
  policyFromJson,
} from './parse.js';
export { POLICY_SCHEMA } from './schema.js';
export {
  DBGDTRTX_BOGUS_ID,
  PIRE0_EL1_ID,
  PIR_EL1_ID,
  TCR2_EL1_ID,
  VENDOR_HYP_BMAP_2_ID,
  presetNames,
  presetPolicy,
} from './presets.js';
export { policiesFrom, type PolicyInputs } from './sources.js';
export { policyStep, type PolicyStep } from './ladder.js';
export type { PolicyErrorReason } from './errors.js';
