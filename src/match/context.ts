/**
 * What the merge needs beyond the two lists: the loader table, the combined policies (with the
 * loader's built-in tolerances) and the lookups derived from them, prepared once per match.
 * @module
 */
import type { Accel } from '../regs/index.js';
import { PolicySet, type Policy, type PolicyKind, type RegisterRules, type ResolvedRule } from '../policy/index.js';
import type { PolicyRef } from './anomalies.js';
import { generationOfLoader, resolveLoader, type LoaderSpec } from './loaders.js';
import type { QemuGeneration } from './generations.js';

/** Loader, policies and derived lookups. */
export interface MatchContext {
  spec: LoaderSpec;
  accel: Accel;
  set: PolicySet;
  honours: ReadonlySet<PolicyKind>;
  /** Ids the destination hides (only when the loader honours `hidden`), ascending. */
  hidden: readonly bigint[];
  /** Safe-missing registers counted into the count bound (when honoured). */
  safeMissing: number;
  /** Whether any `require-value` rule exists (skips a lookup per entry otherwise). */
  checkRequire: boolean;
  /** Whose register definitions TCG's read-back follows (null: either of QEMU 7.2 and 10.x). */
  generation: QemuGeneration | null;
  /** Remarks for the whole match. */
  notes: string[];
}

const TOLERANCE_KINDS = ['safe-missing', 'hidden', 'not-on-both-ends', 'only-src-test-value'] as const;

/**
 * Resolves the loader and combines its built-in tolerances with the given policies.
 * @throws UsageError (unknown loader, policy problems)
 */
export function prepareContext(
  loader: string | LoaderSpec,
  accel: Accel,
  policies: PolicySet | readonly Policy[] = [],
  generation?: QemuGeneration | null,
): MatchContext {
  const spec = resolveLoader(loader);
  const gen = generation !== undefined ? generation : generationOfLoader(loader);
  const user = policies instanceof PolicySet ? policies.policies : policies;
  const set = PolicySet.of([...spec.builtin(accel), ...user], accel);
  const honours = new Set(spec.honours);
  const notes: string[] = [];
  for (const kind of TOLERANCE_KINDS) {
    if (set.count(kind) === 0 || honours.has(kind)) continue;
    const from = [...new Set(set.rules().filter((r) => r.kind === kind).map((r) => r.source))].join(', ');
    notes.push(
      `'${kind}' rules (${from}) are not supported by loader ${spec.name} (${spec.versions}); they change nothing`,
    );
  }
  return {
    spec,
    accel,
    set,
    honours,
    hidden: honours.has('hidden') ? set.hiddenIds() : [],
    safeMissing: honours.has('safe-missing') ? set.count('safe-missing') : 0,
    checkRequire: set.count('require-value') > 0,
    generation: gen,
    notes,
  };
}

/** A resolved rule as reported in an anomaly. */
export function policyRef(r: ResolvedRule): PolicyRef {
  const p: PolicyRef = { source: r.source, kind: r.kind };
  if (r.mask !== undefined) p.mask = r.mask;
  if (r.value !== undefined) p.value = r.value;
  return p;
}

/** The decision for an id that is in the stream but not on the destination. */
export interface OnlyInStreamDecision {
  tolerated?: ResolvedRule;
  /** A value test that failed. */
  violated?: ResolvedRule;
  /** A rule that would tolerate the id, of a kind this loader ignores. */
  unhonoured?: ResolvedRule;
}

/**
 * Whether the loader accepts `value` of an id the destination lacks. QEMU 11.1 checks
 * `not-on-both-ends` first, then the value test; the series checks its safe-missing list.
 */
export function decideOnlyInStream(
  ctx: MatchContext,
  rules: RegisterRules | undefined,
  value: bigint,
): OnlyInStreamDecision {
  if (!rules) return {};
  const { honours } = ctx;
  if (rules.notOnBothEnds && honours.has('not-on-both-ends')) return { tolerated: rules.notOnBothEnds };
  const test = rules.onlySrcTestValue;
  if (test && honours.has('only-src-test-value')) {
    return (value & test.mask!) === test.value ? { tolerated: test } : { violated: test };
  }
  if (rules.safeMissing && honours.has('safe-missing')) return { tolerated: rules.safeMissing };
  const unhonoured = rules.notOnBothEnds ?? rules.onlySrcTestValue ?? rules.safeMissing;
  return unhonoured ? { unhonoured } : {};
}

/** The `not-on-both-ends` rule that silences a missing destination register, if honoured. */
export function missingTolerance(ctx: MatchContext, rules: RegisterRules | undefined): ResolvedRule | undefined {
  return ctx.honours.has('not-on-both-ends') ? rules?.notOnBothEnds : undefined;
}
