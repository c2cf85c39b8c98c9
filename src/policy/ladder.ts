/**
 * The policy ladder: what the combined policies make of one incoming register, given whether
 * the destination has it. A rewrite's plan and check's legacy "what if" take the same steps:
 * a hidden register goes; one the destination lacks goes when safe-missing or
 * not-on-both-ends; a value test (require-value, or only-src-test-value for a register the
 * destination lacks) lets it go when the value passes and is violated when it does not.
 * @module
 */
import type { RegisterRules, ResolvedRule } from './policy.js';

/** The ladder's answer for one register. */
export type PolicyStep =
  /** No rule applies: the register stays. */
  | { action: 'keep' }
  /** A rule lets the register go: a flag (`hidden`, `safe-missing`, `not-on-both-ends`) or a passed value test. */
  | { action: 'drop'; rule: ResolvedRule }
  /** A value test failed: the register stays, and the policy is violated. */
  | { action: 'violation'; rule: ResolvedRule };

/**
 * Walks the ladder for an incoming register with `rules` (none: keep) and `value`;
 * `onDestination` says whether the destination has it.
 */
export function policyStep(rules: RegisterRules | undefined, onDestination: boolean, value: bigint): PolicyStep {
  if (!rules) return { action: 'keep' };
  const flag = rules.hidden ?? (onDestination ? undefined : (rules.safeMissing ?? rules.notOnBothEnds));
  if (flag) return { action: 'drop', rule: flag };
  const masked = rules.requireValue ?? (onDestination ? undefined : rules.onlySrcTestValue);
  if (!masked) return { action: 'keep' };
  return (value & masked.mask!) === masked.value ? { action: 'drop', rule: masked } : { action: 'violation', rule: masked };
}
