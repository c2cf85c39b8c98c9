/**
 * How a destination QEMU under KVM ends a load of one vCPU, and what it prints: the merge
 * (./merge.ts), then `write_list_to_kvmstate` in `cpu_post_load` (unless the merge failed),
 * then — whatever the load's outcome — `cpu_synchronize_all_post_init()` at the end of
 * `qemu_loadvm_state`, which puts every register again (./kvm-put.ts says which writes the
 * kernel refuses). Observed per QEMU generation on real KVM (samples/kvm/FINDINGS.md, "Why
 * each load failed", 2 and 5):
 *
 * - 7.2 ignores a failed post-init put: a refused post-load write or a failed merge ends
 *   `error while loading state …` / `load of migration failed: Operation not permitted`.
 * - 10.x exits on a failed post-init put (`Failed to put registers after init: Invalid
 *   argument`, status 1) before the load's failure is reported; the post-init put writes the
 *   values the merge took before it stopped.
 * - 11.1 names every refused write (`Could not set register …`), in list order, once per put:
 *   twice when the merge succeeded (post-load and post-init), once when its failure flag was
 *   set (post-load skips the write); it never reports the load's own failure when the put
 *   fails. With the flag set and no write refused, the load fails as under TCG.
 * @module
 */
import { hex64, regName, type Accel } from '../regs/index.js';
import type { Anomaly } from './anomalies.js';
import type { QemuGeneration } from './generations.js';
import { KvmPut, type KvmRefusal, type KvmWrite } from './kvm-put.js';
import type { KvmKernelRules } from './kvm-kernel.js';
import { qemu111RegisterText } from './loaders.js';

const instanceLine = (instance: number): string => `error while loading state for instance 0x${instance.toString(16)} of device 'cpu'`;
const PUT_FAILED = 'Failed to put registers after init: Invalid argument';

/** QEMU 11.1's line for a refused write (`%lx` / `%x`: lowercase hex without 0x). */
export function couldNotSetText(r: KvmRefusal): string {
  const name = qemu111RegisterText(r.id, 'kvm');
  if (r.errno === 'ENOENT') return `Could not set register ${name}: unknown to KVM`;
  const to = `Could not set register ${name} to ${r.value.toString(16)}`;
  return r.current === null ? to : `${to} (is ${r.current.toString(16)})`;
}

/** What the merge left for the KVM writes. */
export interface MergedList {
  /** Destination ids, ascending, with the destination's own values (null: unknown). */
  ids: readonly bigint[];
  own: readonly (bigint | null)[] | undefined;
  /** Values the merge took from the stream, by destination id. */
  taken: ReadonlyMap<bigint, bigint>;
  /** The merge failed (QEMU 7.2/10.x: an id only in the stream; 11.1: its failure flag). */
  failed: boolean;
  /** 7.2/10.x stop at the first failing id: values of destination ids at or above it were not taken. */
  stoppedAt: bigint | null;
  /** Lines the merge printed, in order (QEMU 11.1's warnings and errors). */
  lines: readonly string[];
}

/** How the load of this vCPU ends under KVM. */
export interface KvmLoadResult {
  /** Refused writes of the put whose failure decides the outcome (post-load, else post-init). */
  refusals: KvmRefusal[];
  /** One anomaly per refused write, in list order. */
  anomalies: Anomaly[];
  /** Every line QEMU prints for this vCPU, in order (also when the load succeeds). */
  lines: string[];
  /** How the load ends (the closing lines), or null when it succeeds. */
  ending: string | null;
  /** Assumptions the kernel model made. */
  notes: string[];
}

/** The writes of one put: every destination register, the merge's value where it took one. */
function writesOf(m: MergedList, upTo: bigint | null): KvmWrite[] | null {
  if (!m.own) return null;
  const out: KvmWrite[] = [];
  for (let i = 0; i < m.ids.length; i++) {
    const id = m.ids[i]!;
    const taken = upTo === null || id < upTo ? m.taken.get(id) : undefined;
    const own = m.own[i];
    if (taken !== undefined) out.push({ id, value: taken, fromStream: true });
    else if (own !== null && own !== undefined) out.push({ id, value: own, fromStream: false });
  }
  return out;
}

function refusalAnomaly(r: KvmRefusal, instance: number, accel: Accel, line: string | null): Anomaly {
  const a: Anomaly = {
    kind: 'kvm-refused',
    fatal: true,
    id: hex64(r.id),
    reg: r.id,
    name: regName(r.id, accel),
    instance,
    message: `KVM_SET_ONE_REG ${r.errno === 'ENOENT' ? 'ENOENT (unknown to KVM)' : 'EINVAL'}: ${r.reason}${r.fromStream ? '' : ' (the destination\'s own value, written back: the stream lacks this register)'}`,
    qemuText: line,
    value: r.value,
    detail: { errno: r.errno, class: r.class, valueFrom: r.fromStream ? 'stream' : 'destination' },
  };
  if (r.current !== null) a.expected = r.current;
  if (r.fields?.length) a.fields = r.fields.map((f) => ({ field: f.field, a: f.value, b: f.limit }));
  if (r.hiddenBy) a.detail!.hiddenBy = `${r.hiddenBy.register}.${r.hiddenBy.field}`;
  return a;
}

/**
 * The KVM side of one vCPU's load on a destination of QEMU `generation` whose kernel follows
 * `rules`. Without the destination's values (a plain register list) no write can be judged:
 * the result says so and refuses nothing.
 */
export function kvmLoad(m: MergedList, generation: QemuGeneration, rules: KvmKernelRules, instance: number, accel: Accel): KvmLoadResult {
  const notes: string[] = [];
  const own = new Map<bigint, bigint>();
  m.ids.forEach((id, i) => {
    const v = m.own?.[i];
    if (v !== null && v !== undefined) own.set(id, v);
  });
  const legacy = generation !== '11.1';
  const full = writesOf(m, null);
  if (!full) {
    notes.push('the destination gives no register values (a plain list): what KVM_SET_ONE_REG accepts was not judged');
  }
  const put = (w: KvmWrite[] | null): KvmRefusal[] => (w ? new KvmPut(rules, own).run(w) : []);
  // Post-load: only when the merge succeeded. Post-init: always, with what the merge took.
  const postLoad = m.failed ? null : put(full);
  const postInit = m.failed && legacy ? put(writesOf(m, m.stoppedAt)) : (postLoad ?? put(full));
  const decisive = postLoad && postLoad.length ? postLoad : postInit;
  const named = generation === '11.1';
  const anomalies = decisive.map((r) => refusalAnomaly(r, instance, accel, named ? couldNotSetText(r) : null));
  const lines = [...m.lines];
  let ending: string | null = null;
  const loadFailed = m.failed || (postLoad?.length ?? 0) > 0;
  if (generation === '7.2') {
    if (loadFailed) ending = `${instanceLine(instance)}\nload of migration failed: Operation not permitted`;
  } else if (legacy) {
    if (loadFailed) ending = postInit.length ? `${instanceLine(instance)}\n${PUT_FAILED}` : `${instanceLine(instance)}\nload of migration failed: Operation not permitted`;
  } else {
    if (postLoad) lines.push(...postLoad.map(couldNotSetText));
    if (loadFailed) {
      if (postInit.length) {
        lines.push(...postInit.map(couldNotSetText));
        ending = PUT_FAILED;
      } else {
        ending = `load of migration failed: Invalid argument: ${instanceLine(instance)}: post load hook failed for: cpu, version_id: 22, minimum_version: 22, ret: -1`;
      }
    }
  }
  if (ending) lines.push(...ending.split('\n'));
  return { refusals: decisive, anomalies, lines, ending, notes };
}
