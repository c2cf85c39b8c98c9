/**
 * What a rewrite does to one vCPU: which registers go, which values change,
 * which subsections are dropped — decided per register from the edit options,
 * the policies and the destination. Pure: the same plan drives `--dry-run`.
 */
import type { CpuSection } from '../cpu/section.js';
import type { CpuEdit } from '../cpu/edit.js';
import { describeRule, policyStep, type PolicySet } from '../policy/index.js';
import type { CpuSubsection, DestinationCpu } from '../match/index.js';
import { hex64, idRegisterFields, isIdRegister, regName, type Accel } from '../regs/index.js';

/** Which registers take the destination's values. */
export interface AdoptSpec {
  /** Every identification register (`id-regs`). */
  idRegs: boolean;
  ids: ReadonlySet<bigint>;
}

/** Everything the planner needs. */
export interface PlanOptions {
  accel: Accel;
  /** `--strip`: removed from every vCPU. */
  strip: ReadonlySet<bigint>;
  policies: PolicySet;
  /** The destination vCPU for an instance (undefined without `--dest`). */
  destCpu?: (instance: number) => DestinationCpu | undefined;
  /** `--strip-unknown`: remove every register the destination lacks. */
  stripUnknown: boolean;
  adopt: AdoptSpec;
  /** `--strip-subsection`: names to drop. */
  stripSubsections: ReadonlySet<string>;
  /** `--strip-unknown-subsections`: what the destination knows (undefined = do not strip). */
  knownSubsections?: readonly CpuSubsection[];
  /** `--force`: strip require-value violations instead of refusing. */
  force: boolean;
}

/** A register the plan removes. */
export interface Removal {
  id: string;
  name: string | null;
  value: string;
  reason: string;
}

/** A value the plan changes. */
export interface ValueChange {
  id: string;
  name: string | null;
  from: string;
  to: string;
  reason: string;
  fields?: { field: string; from: string; to: string }[];
}

/** A refused register (policy violation without `--force`). */
export interface Refusal {
  id: string;
  name: string | null;
  value: string;
  reason: string;
}

/** The plan for one vCPU. */
export interface CpuPlan {
  instance: number;
  countBefore: number;
  countAfter: number;
  removed: Removal[];
  changed: ValueChange[];
  droppedSubsections: { name: string; version: number; size: number; content: string }[];
  refused: Refusal[];
  /** The edit to apply, or null when nothing changes. */
  edit: CpuEdit | null;
}

/** Plans the edits of one vCPU. */
export function planCpu(cpu: CpuSection, o: PlanOptions): CpuPlan {
  const dest = o.destCpu?.(cpu.instance);
  const destIndex = dest ? new Map(dest.ids.map((id, i) => [id, i])) : null;
  const plan: CpuPlan = { instance: cpu.instance, countBefore: cpu.count, countAfter: 0, removed: [], changed: [], droppedSubsections: [], refused: [], edit: null };
  const ids: bigint[] = [];
  const values: bigint[] = [];
  const name = (id: bigint) => regName(id, o.accel);
  cpu.ids.forEach((id, i) => {
    const value = cpu.values[i]!;
    const onDest = destIndex ? destIndex.has(id) : undefined;
    const remove = (reason: string) => plan.removed.push({ id: hex64(id), name: name(id), value: hex64(value), reason });
    if (o.strip.has(id)) return remove('--strip');
    // Without a destination, a register counts as one the destination lacks.
    const step = policyStep(o.policies.get(id), onDest === true, value);
    if (step.action === 'drop') {
      const r = step.rule;
      if (r.kind === 'hidden') return remove(`hidden (${r.source})`);
      if (r.mask === undefined) return remove(`${r.kind} (${r.source})${onDest === false ? ', not on the destination' : ''}`);
      return remove(`${describeRule(r)} (${r.source})`);
    }
    if (step.action === 'violation') {
      const what = `${describeRule(step.rule)} (${step.rule.source})`;
      if (o.force) return remove(`${what} violated, removed because of --force`);
      plan.refused.push({ id: hex64(id), name: name(id), value: hex64(value), reason: `${what}: value ${hex64(value)} does not satisfy it` });
    }
    if (o.stripUnknown && onDest === false) return remove('not on the destination (--strip-unknown)');
    let v = value;
    if (dest && destIndex && (o.adopt.ids.has(id) || (o.adopt.idRegs && isIdRegister(id)))) {
      const k = destIndex.get(id);
      const dv = k === undefined ? null : (dest.values?.[k] ?? null);
      if (dv !== null && dv !== value) {
        const ch: ValueChange = { id: hex64(id), name: name(id), from: hex64(value), to: hex64(dv), reason: o.adopt.ids.has(id) ? '--adopt-dest-values' : '--adopt-dest-values id-regs' };
        if (isIdRegister(id)) ch.fields = idRegisterFields(id, value, dv).map((f) => ({ field: f.field, from: '0x' + f.a.toString(16), to: '0x' + f.b.toString(16) }));
        plan.changed.push(ch);
        v = dv;
      }
    }
    ids.push(id);
    values.push(v);
  });
  plan.countAfter = ids.length;
  const known = o.knownSubsections ? new Set(o.knownSubsections.map((s) => s.name)) : null;
  const drop: string[] = [];
  for (const s of cpu.subsections) {
    if (drop.some((d) => s.name.startsWith(d + '/'))) continue; // nested in one already dropped
    if (o.stripSubsections.has(s.name) || (known && !known.has(s.name))) {
      drop.push(s.name);
      plan.droppedSubsections.push({ name: s.name, version: s.version, size: s.size, content: s.content.toString('hex') });
    }
  }
  const arraysChange = plan.removed.length > 0 || plan.changed.length > 0;
  if (arraysChange || drop.length) {
    plan.edit = {};
    if (arraysChange) Object.assign(plan.edit, { ids, values });
    if (drop.length) plan.edit.dropSubsections = drop;
  }
  return plan;
}

/** The vCPU as it will be after the plan (for re-checking before the output is committed). */
export function applyPlan(cpu: CpuSection, plan: CpuPlan): CpuSection {
  if (!plan.edit) return cpu;
  const e = plan.edit;
  const ids = e.ids ?? cpu.ids;
  return {
    ...cpu,
    count: ids.length,
    ids,
    values: e.values ?? cpu.values,
    subsections: cpu.subsections.filter((s) => !e.dropSubsections?.some((d) => s.name === d || s.name.startsWith(d + '/'))),
  };
}
