/**
 * What a rewrite does to device sections other than `cpu`: which subsections it drops (named,
 * or unknown to the destination), each only when its state is at its default unless forced.
 * Pure, like the vCPU plan (./plan.ts).
 * @module
 */
import type { DeviceSubsection, DeviceSubsections } from '../stream/device-subsections.js';
import type { SubsectionDrop, SubsectionRefusal } from './plan.js';
import { subsectionState } from './subsection-state.js';

/** The plan for one device section. */
export interface DevicePlan {
  /** Section idstr, e.g. `arm_gicv3`. */
  name: string;
  instance: number;
  droppedSubsections: SubsectionDrop[];
  refusedSubsections: SubsectionRefusal[];
}

/** What the device planner needs. */
export interface DevicePlanOptions {
  /** `--strip-subsection`: names to drop, in any device. */
  stripSubsections: ReadonlySet<string>;
  /**
   * `--strip-unknown-subsections`: the subsection names the destination knows for a device (by
   * section idstr), or null when it cannot be told (no description of that device there).
   */
  knownFor?: (device: string) => ReadonlySet<string> | null;
  force: boolean;
}

/** Plans one device section: its record, and the subsections to remove from the stream. */
export function planDevice(d: DeviceSubsections, o: DevicePlanOptions): { plan: DevicePlan; drop: DeviceSubsection[] } {
  const plan: DevicePlan = { name: d.name, instance: d.instanceId, droppedSubsections: [], refusedSubsections: [] };
  const known = o.knownFor?.(d.name) ?? null;
  const drop: DeviceSubsection[] = [];
  for (const s of d.subsections) {
    // Nested in one already dropped: it goes with it.
    if (drop.some((x) => s.offset > x.offset && s.offset < x.offset + x.size)) continue;
    let reason: string | null = null;
    if (o.stripSubsections.has(s.name)) reason = '--strip-subsection';
    else if (known && !known.has(s.name)) reason = "not sent by the destination's QEMU for this device (--strip-unknown-subsections)";
    if (!reason) continue;
    const within = s.within ? { within: s.within } : {};
    const state = subsectionState(s.name, s.body, s.content);
    if (!state.atDefault && !o.force) {
      plan.refusedSubsections.push({ name: s.name, ...within, reason: `${reason}: its state is not at its default (${state.note}); the guest may need it (--force drops it anyway)` });
      continue;
    }
    drop.push(s);
    plan.droppedSubsections.push({
      name: s.name, version: s.version, size: s.size, content: s.content.toString('hex'), ...within,
      reason: state.atDefault ? reason : `${reason}, dropped because of --force`, state: state.note,
    });
  }
  return { plan, drop };
}
