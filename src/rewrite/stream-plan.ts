/**
 * The plan of a whole rewrite, one section at a time: each vCPU (./plan.ts) and each other
 * device section (./plan-devices.ts) as the decoder meets it, the named edits still waiting for
 * something to act on, and the stream as it will be (for the re-check). The rewrite job feeds
 * it while copying; {@link planStream} feeds it a decoded stream (dry runs, suggestions).
 * @module
 */
import type { DecodedStream, CpuEdit } from '../stream/decode.js';
import type { CpuSection } from '../cpu/section.js';
import type { CpuEditDone } from '../cpu/edit.js';
import type { DeviceEdit, DeviceEditDone, DeviceSubsection, DeviceSubsections } from '../stream/device-subsections.js';
import { vmdescSubsectionNames } from '../stream/device-subsections.js';
import { patchedVmdesc } from '../stream/vmdesc-patch.js';
import { findVmdescDevice, type VmdescDevice } from '../stream/vmdesc.js';
import { combinePolicies, type Policy } from '../policy/index.js';
import { resolveRegList, splitList } from '../regs/queries.js';
import type { Accel } from '../regs/index.js';
import { CRASHING_CPU_SUBSECTIONS, destinationCpuFor, generationOfLoader } from '../match/index.js';
import { knownSubsections, type Destination } from '../destination/load.js';
import { applyPlan, planCpu, type CpuPlan, type PlanOptions } from './plan.js';
import { planDevice, type DevicePlan, type DevicePlanOptions } from './plan-devices.js';
import { isAdoptClass, type AdoptClass } from './guest-effects.js';

/** The edits asked for (the rewrite options that shape the plan). */
export interface EditRequest {
  /** Registers to remove from every vCPU: names or hex ids (comma-separated lists allowed). */
  strip?: string[];
  /** Policies whose ignorable registers are removed. */
  policies?: Policy[];
  /** Remove every register the destination lacks. */
  stripUnknown?: boolean;
  /** Registers (names, hex ids) or classes (`id-regs`, `cache-geometry`, …) that take the destination's values. */
  adopt?: string[];
  /** What to put in that the destination expects and the stream lacks: `const`. */
  addMissing?: string[];
  /** Drop subsections of any device that the destination does not know or would crash on. */
  stripUnknownSubsections?: boolean;
  /** Subsections to drop, in any device (e.g. `cpu/wfxt-timer`, `arm_gicv3_cpu/nmi`). */
  stripSubsections?: string[];
  /** Remove what the guest may need instead of refusing. */
  force?: boolean;
}

/** A named edit that found nothing to act on: no section has the register or subsection. */
export interface UnmatchedEdit {
  /** `--strip`, `--adopt-dest-values` or `--strip-subsection`. */
  option: string;
  /** The name or id as given. */
  value: string;
}

/** Everything a plan refuses, in words (empty: nothing refused). */
export function refusalsOf(cpus: Iterable<CpuPlan>, devices: Iterable<DevicePlan>): string[] {
  const out: string[] = [];
  for (const p of cpus) {
    for (const r of p.refused) out.push(`cpu ${p.instance}: ${r.name ?? r.id} ${r.reason}`);
    for (const r of p.refusedSubsections) out.push(`cpu ${p.instance}: subsection ${r.name} ${r.reason}`);
  }
  for (const d of devices) for (const r of d.refusedSubsections) out.push(`${d.name} ${d.instance}: subsection ${r.name}${r.within ? ` in ${r.within}` : ''} ${r.reason}`);
  return out;
}

/** The plan of a rewrite, filled section by section. */
export class StreamPlanner {
  readonly cpus = new Map<number, CpuPlan>();
  /** By the section's place among the FULL sections. */
  readonly devices = new Map<number, { plan: DevicePlan; drop: DeviceSubsection[] }>();
  readonly opts: PlanOptions;
  readonly deviceOpts: DevicePlanOptions;
  /** Named edits, until a section shows them something to act on. */
  private readonly pending: (UnmatchedEdit & { ids?: readonly bigint[] })[];

  /**
   * @param request - the edits asked for
   * @param dest - the destination (needed by `stripUnknown`, `adopt`, `addMissing`, `stripUnknownSubsections`)
   * @param loader - the destination's loader name (its QEMU generation)
   * @param accel - register names and the destination's accelerator
   */
  constructor(request: EditRequest, dest: Destination | undefined, loader: string, accel: Accel) {
    const adoptList = splitList(request.adopt ?? []);
    const strip = resolveRegList(request.strip ?? [], accel, '--strip');
    const adopt = resolveRegList(adoptList.filter((x) => !isAdoptClass(x)), accel, '--adopt-dest-values');
    const generation = generationOfLoader(loader) ?? dest?.generation ?? null;
    this.opts = {
      accel,
      strip: new Set(strip.flatMap((r) => r.ids)),
      policies: combinePolicies(request.policies ?? [], accel),
      stripUnknown: !!request.stripUnknown,
      adopt: { classes: new Set(adoptList.filter(isAdoptClass) as AdoptClass[]), ids: new Set(adopt.flatMap((r) => r.ids)) },
      addMissingConst: splitList(request.addMissing ?? []).includes('const'),
      generation,
      stripSubsections: new Set(request.stripSubsections ?? []),
      force: !!request.force,
    };
    this.deviceOpts = { stripSubsections: this.opts.stripSubsections, force: this.opts.force };
    if (dest) {
      this.opts.destCpu = (i) => destinationCpuFor(dest.model, i);
      if (request.stripUnknownSubsections) {
        this.opts.knownSubsections = knownSubsections(dest, generationOfLoader(loader)) ?? [];
        // Known to the destination's QEMU, but nothing there to load it into: it would abort.
        const own = new Set((dest.model.subsections ?? []).map((s) => s.name));
        this.opts.crashingSubsections = generation && dest.model.subsections ? CRASHING_CPU_SUBSECTIONS[generation].filter((c) => !own.has(c.name)) : [];
        const v = dest.vmdesc;
        if (v) {
          const byDevice = new Map<string, Set<string>>();
          for (const d of v.devices) {
            const set = byDevice.get(d.name) ?? new Set<string>();
            for (const n of vmdescSubsectionNames(d)) set.add(n);
            byDevice.set(d.name, set);
          }
          this.deviceOpts.knownFor = (name) => byDevice.get(name) ?? null;
        }
      }
    }
    this.pending = [
      ...strip.map(({ query, ids }) => ({ option: '--strip', value: query, ids })),
      ...adopt.map(({ query, ids }) => ({ option: '--adopt-dest-values', value: query, ids })),
      ...[...this.opts.stripSubsections].map((value) => ({ option: '--strip-subsection', value })),
    ];
  }

  /** Plans a vCPU (its vmdesc entry describes its subsections); returns its edit or null. */
  cpu(c: CpuSection, layout: VmdescDevice | null): CpuEdit | null {
    this.found((e) => (e.ids ? e.ids.some((id) => c.ids.includes(id)) : c.subsections.some((x) => x.name === e.value)));
    const p = planCpu(c, this.opts, layout);
    this.cpus.set(c.instance, p);
    return p.edit;
  }

  /** Plans a device section other than `cpu`; returns its edit or null. */
  device(d: DeviceSubsections): DeviceEdit | null {
    this.found((e) => !e.ids && d.subsections.some((x) => x.name === e.value));
    const planned = planDevice(d, this.deviceOpts);
    this.devices.set(d.index, planned);
    return planned.drop.length ? { drop: planned.drop } : null;
  }

  private found(hit: (e: (typeof this.pending)[number]) => boolean): void {
    for (let k = this.pending.length - 1; k >= 0; k--) if (hit(this.pending[k]!)) this.pending.splice(k, 1);
  }

  /** Named edits that matched nothing so far. */
  unmatched(): UnmatchedEdit[] {
    return this.pending.map(({ option, value }) => ({ option, value }));
  }

  /** Everything refused so far, in words. */
  refusals(): string[] {
    return refusalsOf(this.cpus.values(), [...this.devices.values()].map((d) => d.plan));
  }

  /** Device plans that do something, in stream order. */
  devicePlans(): DevicePlan[] {
    return [...this.devices.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, d]) => d.plan)
      .filter((p) => p.droppedSubsections.length || p.refusedSubsections.length);
  }

  /**
   * The decoded stream `s` as it will be after the plan: vCPUs edited, subsections gone from
   * the device lists, and the vmdesc patched as the output's.
   */
  after(s: DecodedStream): DecodedStream {
    const cpuEdits = new Map<number, CpuEditDone>();
    const deviceEdits = new Map<number, DeviceEditDone>();
    const cpus = s.cpus.map((c) => {
      const p = this.cpus.get(c.instance);
      if (!p?.edit) return c;
      const k = s.sections.findIndex((x) => x.offset === c.offset);
      if (k >= 0) cpuEdits.set(k, { count: p.edit.ids?.length, dropped: p.edit.dropSubsections ?? [] });
      return applyPlan(c, p);
    });
    const gone = new Set<DeviceSubsection>();
    for (const [k, d] of this.devices) {
      if (!d.drop.length) continue;
      deviceEdits.set(k, { dropped: d.drop.map((x) => ({ name: x.name, path: x.path, size: x.size })) });
      for (const x of d.drop) gone.add(x);
    }
    const inDropped = (d: DeviceSubsections, x: DeviceSubsection) => d.subsections.some((g) => gone.has(g) && x.offset >= g.offset && x.offset < g.offset + g.size);
    const out: DecodedStream = { ...s, cpus };
    if (s.deviceSubsections) out.deviceSubsections = s.deviceSubsections.map((d) => ({ ...d, subsections: d.subsections.filter((x) => !inDropped(d, x)) }));
    if (s.vmdesc && (cpuEdits.size || deviceEdits.size)) out.vmdesc = { ...s.vmdesc, json: patchedVmdesc(s.vmdesc.json, cpuEdits, deviceEdits) };
    return out;
  }
}

/** Plans a rewrite of a decoded stream (decoded with `deviceSubsections` for the devices other than `cpu`). */
export function planStream(s: DecodedStream, request: EditRequest, dest: Destination | undefined, loader: string, accel: Accel): StreamPlanner {
  const p = new StreamPlanner(request, dest, loader, accel);
  for (const c of s.cpus) p.cpu(c, s.vmdesc ? (findVmdescDevice(s.vmdesc.json, 'cpu', c.instance) ?? null) : null);
  for (const d of s.deviceSubsections ?? []) p.device(d);
  return p;
}
