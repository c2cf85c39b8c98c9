/**
 * Typed errors for policy files, property strings, presets and policy combination.
 * @module
 */
import { VmstateError } from '../wire/errors.js';

/** Why a policy could not be used. */
export type PolicyErrorReason =
  | 'json'
  | 'schema'
  | 'property'
  | 'unknown-register'
  | 'unknown-preset'
  | 'conflict';

/** A policy file, property string or preset is malformed or cannot be resolved. */
export class PolicyError extends VmstateError {
  override readonly name: string = 'PolicyError';
  constructor(
    readonly reason: PolicyErrorReason,
    message: string,
    data: { [k: string]: unknown } = {},
  ) {
    super('USAGE', message, undefined, { reason, ...data });
  }
}

/** Two policies define one register in incompatible ways. */
export class PolicyConflictError extends PolicyError {
  override readonly name = 'PolicyConflictError';
  constructor(
    message: string,
    /** The register, `0x` + 16 hex digits. */
    readonly id: string,
    /** The two conflicting rules, as `kind(params) from source`. */
    readonly rules: readonly [string, string],
  ) {
    super('conflict', message, { id, rules });
  }
}
