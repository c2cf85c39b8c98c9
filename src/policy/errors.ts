/**
 * Errors of policy files, property strings, presets and their combination: UsageErrors whose
 * `data.reason` says what went wrong. Light on purpose: the command line loads the presets
 * (and so this) at start-up.
 * @module
 */
import { UsageError } from '../errors.js';

/** Why a policy could not be used: `data.reason` of the {@link UsageError}. */
export type PolicyErrorReason = 'json' | 'schema' | 'property' | 'unknown-register' | 'unknown-preset' | 'conflict';

/** The error for a policy file, property string or preset that is malformed or cannot be resolved. */
export function policyError(reason: PolicyErrorReason, message: string, data: Record<string, unknown> = {}): UsageError {
  return new UsageError(message, { reason, ...data });
}
