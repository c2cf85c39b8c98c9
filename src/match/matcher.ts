/**
 * The matcher: checks incoming cpreg lists (stream order) against a destination's sorted lists
 * under a destination loader's rules and policies, and reports every anomaly with a verdict per
 * vCPU. Each vCPU is one streaming merge (see ./merge.ts), linear in both list lengths.
 * @module
 */
import type { Accel } from '../regs/index.js';
import type { Policy, PolicySet } from '../policy/index.js';
import { anomalyToJson, countByKind, type Anomaly, type AnomalyJson, type AnomalyKind } from './anomalies.js';
import { prepareContext, type MatchContext } from './context.js';
import {
  destinationCpuFor,
  normaliseDestinationCpu,
  type DestinationCpu,
  type DestinationModel,
} from './destination.js';
import { UsageError } from '../errors.js';
import type { LoaderName, LoaderSpec } from './loaders.js';
import { CpuMerge } from './merge.js';
import type { QemuGeneration } from './generations.js';
import { DEFAULT_KERNEL, kernelRules, type KvmKernelRules } from './kvm-kernel.js';
import { kvmLoad } from './kvm-load.js';

/** One incoming vCPU: the cpreg arrays of one `cpu` section. */
export interface IncomingCpu {
  /** `cpu` section instance (vCPU index). */
  instance: number;
  /** Ids in stream order (possibly unsorted or repeated). */
  ids: readonly bigint[];
  /** Values, index-paired with {@link ids}. */
  values: readonly bigint[];
  /** The count field as read (defaults to `ids.length`; may be negative in a damaged stream). */
  count?: number;
}

/** How to match. */
export interface MatchOptions {
  /**
   * Loader name or alias (`legacy`, `qemu-7.2`, `qemu-10.0`, `qemu-10.2`, `series-v6`,
   * `qemu-11.1`) or a spec.
   */
  loader: string | LoaderSpec;
  /** The destination's accelerator. */
  accel: Accel;
  /** Destination policies (their union); the loader's built-in tolerances are added. */
  policies?: PolicySet | readonly Policy[];
  /**
   * Whose register definitions the destination has, for TCG's read-back (which registers are
   * constant, …): `7.2`, `10.x` or `11.1`; null for either of 7.2 and 10.x. Default: what the
   * loader name implies (`qemu-7.2` → 7.2, `qemu-10.0`/`qemu-10.2`/`series-v6` → 10.x,
   * `qemu-11.1` → 11.1, `legacy` → null).
   */
  generation?: QemuGeneration | null;
  /**
   * Under KVM: the rules of the destination's kernel for KVM_SET_ONE_REG (./kvm-kernel.ts).
   * Default: those of the newest kernel observed (7.2).
   */
  kernel?: KvmKernelRules;
}

/** The outcome for one vCPU. */
export interface CpuVerdict {
  instance: number;
  /** No fatal anomaly (neither QEMU nor a policy would refuse this vCPU's state). */
  ok: boolean;
  /** Whether QEMU itself would fail the load on this vCPU (require-value violations aside). */
  qemuRejects: boolean;
  /** How QEMU's failed load ends (count check or post-load), or null when it would load. */
  qemuError: string | null;
  /** Every anomaly, in the order QEMU meets them: count check, merge, read-back (KVM: the register writes). */
  anomalies: Anomaly[];
  /**
   * Under KVM, every line QEMU prints for this vCPU in order, the closing ones included (also
   * when it loads: QEMU 11.1's warnings); undefined under TCG.
   */
  qemuLines?: string[];
  stats: {
    incoming: number;
    destination: number;
    matched: number;
    fatal: number;
    byKind: Partial<Record<AnomalyKind, number>>;
  };
}

/** The outcome for a whole stream. */
export interface MatchResult {
  loader: LoaderName;
  accel: Accel;
  /** Every vCPU ok. */
  ok: boolean;
  cpus: CpuVerdict[];
  /** Remarks about the match as a whole (e.g. policies the loader ignores). */
  notes: string[];
  /** Names of the policies in effect, built-ins included. */
  policies: string[];
}

/**
 * Matches one vCPU. The destination list is sorted first if it is not already.
 * @throws UsageError (unknown loader, policy problems, unusable destination or incoming lists)
 */
export function matchCpu(incoming: IncomingCpu, destination: DestinationCpu, opts: MatchOptions): CpuVerdict {
  return matchWith(prepareContext(opts.loader, opts.accel, opts.policies, opts.generation), incoming, destination, opts.kernel);
}

/**
 * Matches every incoming vCPU against the destination vCPU of the same instance (or the shared
 * list of a plain-list destination). An instance the destination lacks is an `unknown-instance`
 * anomaly.
 * @throws UsageError (unknown loader, policy problems, unusable destination or incoming lists)
 */
export function matchCpregs(
  incoming: readonly IncomingCpu[],
  destination: DestinationModel,
  opts: MatchOptions,
): MatchResult {
  const ctx = prepareContext(opts.loader, opts.accel, opts.policies, opts.generation);
  const cpus = incoming.map((inc) => {
    const dest = destinationCpuFor(destination, inc.instance);
    return dest ? matchWith(ctx, inc, dest, opts.kernel) : unknownInstance(inc);
  });
  return {
    loader: ctx.spec.name,
    accel: ctx.accel,
    ok: cpus.every((c) => c.ok),
    cpus,
    notes: [...ctx.notes],
    policies: [...ctx.set.names],
  };
}

function matchWith(ctx: MatchContext, incoming: IncomingCpu, destination: DestinationCpu, kernel?: KvmKernelRules): CpuVerdict {
  const { instance, ids, values } = incoming;
  if (values.length !== ids.length) {
    throw new UsageError(`incoming cpu ${instance}: ${ids.length} ids but ${values.length} values`, { instance });
  }
  const dest = normaliseDestinationCpu(destination);
  const count = incoming.count ?? ids.length;
  const merged = new CpuMerge(ctx, { instance, ids, values, count, dest }).run();
  const { anomalies, matched, countFailed } = merged;

  let fatal = anomalies.filter((a) => a.fatal);
  let qemuFatal = fatal.filter((a) => a.policy?.kind !== 'require-value');
  let qemuError: string | null = null;
  let qemuLines: string[] | undefined;
  if (countFailed) {
    const line = anomalies.find((a) => a.kind === 'count-bound')!.qemuText!;
    const tail = ctx.spec.text.failure(instance, 'count');
    qemuError = tail ? `${line}\n${tail}` : line;
  } else if (ctx.accel === 'kvm') {
    // The kernel takes every write of the destination's list: the load ends in ./kvm-load.ts.
    const kvm = kvmLoad(
      { ids: dest.ids, own: dest.values, taken: merged.taken, failed: qemuFatal.length > 0, stoppedAt: merged.stoppedAt, lines: merged.lines },
      ctx.generation ?? '10.x',
      kernel ?? kernelRules(DEFAULT_KERNEL),
      instance,
      ctx.accel,
    );
    anomalies.push(...kvm.anomalies);
    fatal = anomalies.filter((a) => a.fatal);
    qemuFatal = fatal.filter((a) => a.policy?.kind !== 'require-value');
    qemuError = kvm.ending;
    qemuLines = kvm.lines;
    ctx.notes.push(...kvm.notes.filter((n) => !ctx.notes.includes(n)));
  } else if (qemuFatal.length) {
    qemuError = ctx.spec.text.failure(instance, 'post-load');
  }
  return {
    instance,
    ok: fatal.length === 0,
    qemuRejects: qemuFatal.length > 0,
    qemuError,
    anomalies,
    ...(qemuLines ? { qemuLines } : {}),
    stats: {
      incoming: ids.length,
      destination: dest.ids.length,
      matched,
      fatal: fatal.length,
      byKind: countByKind(anomalies),
    },
  };
}

function unknownInstance(inc: IncomingCpu): CpuVerdict {
  const text =
    `Unknown savevm section or instance 'cpu' ${inc.instance}. Make sure that your current VM setup ` +
    'matches your saved VM setup, including any hotplugged devices';
  const a: Anomaly = {
    kind: 'unknown-instance',
    fatal: true,
    id: null,
    reg: null,
    name: null,
    instance: inc.instance,
    message: `the destination has no vCPU ${inc.instance}`,
    qemuText: text,
  };
  return {
    instance: inc.instance,
    ok: false,
    qemuRejects: true,
    qemuError: text,
    anomalies: [a],
    stats: { incoming: inc.ids.length, destination: 0, matched: 0, fatal: 1, byKind: { 'unknown-instance': 1 } },
  };
}

/** {@link MatchResult} as plain JSON data (ids and values as `0x` + 16 hex digits). */
export type MatchResultJson = Omit<MatchResult, 'cpus'> & {
  cpus: (Omit<CpuVerdict, 'anomalies'> & { anomalies: AnomalyJson[] })[];
};

/** Converts a match result to plain JSON data. */
export function matchResultToJson(r: MatchResult): MatchResultJson {
  return { ...r, cpus: r.cpus.map((c) => ({ ...c, anomalies: c.anomalies.map(anomalyToJson) })) };
}
