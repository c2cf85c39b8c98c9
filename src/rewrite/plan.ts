/**
 * What a rewrite does to one vCPU: which registers go, which values change, which registers are
 * put in, which subsections are dropped — decided per register from the edit options, the
 * policies and the destination, with what each edit means for the guest. Pure: the same plan
 * drives `--dry-run`, the re-check and the suggestion.
 */
import type { CpuSection } from '../cpu/section.js';
import type { CpuEdit } from '../cpu/edit.js';
import type { VmdescBody, VmdescDevice } from '../stream/vmdesc.js';
import { describeRule, policyStep, type PolicySet } from '../policy/index.js';
import { rawWriteKind, type CpuSubsection, type DestinationCpu, type QemuGeneration } from '../match/index.js';
import { hex64, idRegisterFields, isIdRegister, regName, type Accel } from '../regs/index.js';
import { ADOPT_CLASSES, ADOPT_MEANING, adoptClassOf, removalEffect, type AdoptClass, type RemovalEffect } from './guest-effects.js';
import { subsectionState } from './subsection-state.js';

/** Which registers take the destination's values. */
export interface AdoptSpec {
  /** Every register of these classes (`id-regs`, `cache-geometry`, …). */
  classes: ReadonlySet<AdoptClass>;
  /** These registers, named one by one. */
  ids: ReadonlySet<bigint>;
}

/** A subsection the destination would crash on, with why. */
export interface CrashingName {
  name: string;
  why: string;
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
  /** `--add-missing const`: put in the destination's constants the stream lacks. */
  addMissingConst: boolean;
  /** The destination's QEMU generation (which registers are constants there); null: either. */
  generation: QemuGeneration | null;
  /** `--strip-subsection`: names to drop. */
  stripSubsections: ReadonlySet<string>;
  /** `--strip-unknown-subsections`: what the destination knows (undefined = do not strip). */
  knownSubsections?: readonly CpuSubsection[];
  /** `--strip-unknown-subsections`: what the destination knows but would crash on. */
  crashingSubsections?: readonly CrashingName[];
  /** `--force`: strip what the guest may need instead of refusing. */
  force: boolean;
}

/** A register the plan removes. */
export interface Removal {
  id: string;
  name: string | null;
  value: string;
  reason: string;
  /** What removing it means for the guest. */
  effect: RemovalEffect;
  /** The effect in words. */
  note: string;
}

/** A value the plan changes. */
export interface ValueChange {
  id: string;
  name: string | null;
  from: string;
  to: string;
  reason: string;
  /** The class of guest-visible value (null for a register adopted by name that has none). */
  class: AdoptClass | null;
  fields?: { field: string; from: string; to: string }[];
}

/** A register the plan puts in, with the destination's value. */
export interface Insertion {
  id: string;
  name: string | null;
  value: string;
  reason: string;
}

/** A register the destination expects and the stream lacks, left out (not invented). */
export interface Missing {
  id: string;
  name: string | null;
  reason: string;
}

/** A refused register (policy violation, or state the guest uses, without `--force`). */
export interface Refusal {
  id: string;
  name: string | null;
  value: string;
  reason: string;
}

/** A subsection the plan drops. */
export interface SubsectionDrop {
  name: string;
  version: number;
  size: number;
  /** Its body bytes, hex. */
  content: string;
  reason: string;
  /** Where it sits inside the device (`cpu[1]` for an element of struct array `cpu`), when nested. */
  within?: string;
  /** Its state: at its default (nothing lost), or what is not. */
  state: string;
}

/** A subsection the plan would drop but does not: its state is not at its default (without `--force`). */
export interface SubsectionRefusal {
  name: string;
  within?: string;
  reason: string;
}

/** The plan for one vCPU. */
export interface CpuPlan {
  instance: number;
  countBefore: number;
  countAfter: number;
  removed: Removal[];
  changed: ValueChange[];
  inserted: Insertion[];
  missing: Missing[];
  droppedSubsections: SubsectionDrop[];
  refused: Refusal[];
  refusedSubsections: SubsectionRefusal[];
  /** The edit to apply, or null when nothing changes. */
  edit: CpuEdit | null;
}

/** Whether register `id` is a constant on a destination of generation `gen` (its value cannot change there). */
export function isConstantOn(id: bigint, gen: QemuGeneration | null, accel: Accel): boolean {
  // Under KVM the kernel decides; its ID registers are fixed by the host (at most lowered).
  if (accel === 'kvm') return isIdRegister(id);
  return rawWriteKind(id, gen) === 'const';
}

/** A subsection's description in a device's vmdesc entry, at any depth. */
export function describedSubsection(dev: VmdescDevice | VmdescBody | null, name: string): VmdescBody | null {
  if (!dev) return null;
  for (const s of dev.subsections ?? []) {
    if (s.vmsd_name === name) return s;
    const deeper = describedSubsection(s, name);
    if (deeper) return deeper;
  }
  return null;
}

/**
 * Plans the edits of one vCPU. `layout` is the section's vmdesc entry (it describes the
 * subsections' fields, to tell whether their state is at its default).
 */
export function planCpu(cpu: CpuSection, o: PlanOptions, layout: VmdescDevice | null = null): CpuPlan {
  const dest = o.destCpu?.(cpu.instance);
  const destIndex = dest ? new Map(dest.ids.map((id, i) => [id, i])) : null;
  const plan: CpuPlan = {
    instance: cpu.instance, countBefore: cpu.count, countAfter: 0, removed: [], changed: [], inserted: [], missing: [],
    droppedSubsections: [], refused: [], refusedSubsections: [], edit: null,
  };
  const ids: bigint[] = [];
  const values: bigint[] = [];
  const name = (id: bigint) => regName(id, o.accel);
  cpu.ids.forEach((id, i) => {
    const value = cpu.values[i]!;
    const onDest = destIndex ? destIndex.has(id) : undefined;
    // Every removal says what it means for the guest; state the guest uses is kept unless forced.
    const remove = (reason: string): boolean => {
      const { effect, note } = removalEffect(id, value, o.accel);
      if (effect === 'feature-in-use' && !o.force) {
        plan.refused.push({ id: hex64(id), name: name(id), value: hex64(value), reason: `${reason}: ${note} (--force removes it anyway)` });
        return false;
      }
      plan.removed.push({ id: hex64(id), name: name(id), value: hex64(value), reason: effect === 'feature-in-use' ? `${reason}, removed because of --force` : reason, effect, note });
      return true;
    };
    let keep = true;
    if (o.strip.has(id)) keep = !remove('--strip');
    // Without a destination, a register counts as one the destination lacks.
    const step = keep ? policyStep(o.policies.get(id), onDest === true, value) : null;
    if (step?.action === 'drop') {
      const r = step.rule;
      if (r.kind === 'hidden') keep = !remove(`hidden (${r.source})`);
      else if (r.mask === undefined) keep = !remove(`${r.kind} (${r.source})${onDest === false ? ', not on the destination' : ''}`);
      else keep = !remove(`${describeRule(r)} (${r.source})`);
    } else if (step?.action === 'violation') {
      const what = `${describeRule(step.rule)} (${step.rule.source})`;
      if (o.force) keep = !remove(`${what} violated, removed because of --force`);
      else plan.refused.push({ id: hex64(id), name: name(id), value: hex64(value), reason: `${what}: value ${hex64(value)} does not satisfy it (--force removes it anyway)` });
    }
    if (keep && o.stripUnknown && onDest === false) keep = !remove('not on the destination (--strip-unknown)');
    if (!keep) return;
    let v = value;
    const cls = adoptClassOf(id);
    const named = o.adopt.ids.has(id);
    if (dest && destIndex && (named || (cls && o.adopt.classes.has(cls)))) {
      const k = destIndex.get(id);
      const dv = k === undefined ? null : (dest.values?.[k] ?? null);
      if (dv !== null && dv !== value) {
        const ch: ValueChange = { id: hex64(id), name: name(id), from: hex64(value), to: hex64(dv), reason: named ? '--adopt-dest-values' : `--adopt-dest-values ${cls}`, class: cls };
        if (isIdRegister(id) || cls === 'cache-geometry') ch.fields = idRegisterFields(id, value, dv).map((f) => ({ field: f.field, from: '0x' + f.a.toString(16), to: '0x' + f.b.toString(16) }));
        plan.changed.push(ch);
        v = dv;
      }
    }
    ids.push(id);
    values.push(v);
  });
  const inserted = dest && o.addMissingConst ? missingOf(cpu, dest, o, plan) : [];
  if (inserted.length) mergeSorted(ids, values, inserted);
  plan.countAfter = ids.length;
  const drop = planCpuSubsections(cpu, o, layout, plan);
  const arraysChange = plan.removed.length > 0 || plan.changed.length > 0 || inserted.length > 0;
  if (arraysChange || drop.length) {
    plan.edit = {};
    if (arraysChange) Object.assign(plan.edit, { ids, values });
    if (drop.length) plan.edit.dropSubsections = drop;
  }
  return plan;
}

/** The destination's registers the stream lacks: constants to put in (returned), the rest reported. */
function missingOf(cpu: CpuSection, dest: DestinationCpu, o: PlanOptions, plan: CpuPlan): { id: bigint; value: bigint }[] {
  const have = new Set(cpu.ids);
  const out: { id: bigint; value: bigint }[] = [];
  dest.ids.forEach((id, i) => {
    if (have.has(id)) return;
    const value = dest.values?.[i] ?? null;
    const n = regName(id, o.accel);
    if (!isConstantOn(id, o.generation, o.accel)) {
      plan.missing.push({ id: hex64(id), name: n, reason: 'not a constant on the destination: its value is the guest\'s, which the stream does not hold' });
    } else if (value === null) {
      plan.missing.push({ id: hex64(id), name: n, reason: 'a constant on the destination, but the destination gives no value for it' });
    } else {
      out.push({ id, value });
      plan.inserted.push({ id: hex64(id), name: n, value: hex64(value), reason: '--add-missing const: a constant on the destination, with its value there' });
    }
  });
  return out;
}

/** Inserts `add` into the id/value lists, each before the first id above it (sorted lists stay sorted). */
function mergeSorted(ids: bigint[], values: bigint[], add: { id: bigint; value: bigint }[]): void {
  const outIds: bigint[] = [];
  const outValues: bigint[] = [];
  let k = 0;
  for (let i = 0; i < ids.length; i++) {
    while (k < add.length && add[k]!.id < ids[i]!) {
      outIds.push(add[k]!.id);
      outValues.push(add[k++]!.value);
    }
    outIds.push(ids[i]!);
    outValues.push(values[i]!);
  }
  for (; k < add.length; k++) {
    outIds.push(add[k]!.id);
    outValues.push(add[k]!.value);
  }
  ids.splice(0, ids.length, ...outIds);
  values.splice(0, values.length, ...outValues);
}

/** The cpu subsections to drop (full names), with the plan's record of each. */
function planCpuSubsections(cpu: CpuSection, o: PlanOptions, layout: VmdescDevice | null, plan: CpuPlan): string[] {
  const known = o.knownSubsections ? new Map(o.knownSubsections.map((s) => [s.name, s.version])) : null;
  const crashing = new Map((o.crashingSubsections ?? []).map((c) => [c.name, c.why]));
  const drop: string[] = [];
  for (const s of cpu.subsections) {
    if (drop.some((d) => s.name.startsWith(d + '/'))) continue; // nested in one already dropped
    let reason: string | null = null;
    if (o.stripSubsections.has(s.name)) reason = '--strip-subsection';
    else if (known && !known.has(s.name)) reason = 'unknown to the destination (--strip-unknown-subsections)';
    else if (known && (s.version & 0xff) > known.get(s.name)!) reason = `version ${s.version & 0xff}, newer than the destination's ${known.get(s.name)} (--strip-unknown-subsections)`;
    else if (crashing.has(s.name)) reason = `the destination would crash on it: ${crashing.get(s.name)} (--strip-unknown-subsections)`;
    if (!reason) continue;
    const state = subsectionState(s.name, describedSubsection(layout, s.name), s.content);
    if (!state.atDefault && !o.force) {
      plan.refusedSubsections.push({ name: s.name, reason: `${reason}: its state is not at its default (${state.note}); the guest may need it (--force drops it anyway)` });
      continue;
    }
    drop.push(s.name);
    plan.droppedSubsections.push({
      name: s.name, version: s.version, size: s.size, content: s.content.toString('hex'),
      reason: state.atDefault ? reason : `${reason}, dropped because of --force`, state: state.note,
    });
  }
  return drop;
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

/** The classes of guest-visible values a set of plans adopts (in {@link ADOPT_CLASSES} order), with how many registers each. */
export function adoptedClasses(plans: readonly Pick<CpuPlan, 'changed'>[]): { class: AdoptClass; registers: number; meaning: string }[] {
  const n = new Map<AdoptClass, Set<string>>();
  for (const p of plans) for (const c of p.changed) if (c.class) n.set(c.class, (n.get(c.class) ?? new Set()).add(c.id));
  return ADOPT_CLASSES.filter((cls) => n.has(cls)).map((cls) => ({ class: cls, registers: n.get(cls)!.size, meaning: ADOPT_MEANING[cls] }));
}
