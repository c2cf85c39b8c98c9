/**
 * The vmdesc of an edited stream: the entries of the edited devices patched the way QEMU would
 * have written them for the edited state (cpreg array records, subsections removed, struct
 * sizes), everything else shared with the original.
 * @module
 */
import type { CpuEditDone } from '../cpu/edit.js';
import { patchDeviceVmdesc, type DeviceEditDone } from './device-subsections.js';
import { JSON_PAIRS, type JsonObject } from './json-writer.js';
import { cloneVmdesc, dropSubsection, patchCpuArrays, type Vmdesc } from './vmdesc.js';

/**
 * The vmdesc `v` with the edits made to the devices at the given indices (their place among the
 * FULL sections): `cpu` edits (cpreg count, subsections dropped) and other device edits
 * (subsections dropped). `v` itself is left as it is.
 */
export function patchedVmdesc(v: Vmdesc, cpuEdits: ReadonlyMap<number, CpuEditDone>, deviceEdits: ReadonlyMap<number, DeviceEditDone>): Vmdesc {
  // Only the edited devices are copied to be patched; the rest is shared with the model.
  const patched = patchableCopy(v, [...cpuEdits.keys(), ...deviceEdits.keys()]);
  for (const [k, e] of cpuEdits) {
    const d = patched.devices[k];
    if (!d) continue;
    if (e.count !== undefined) patchCpuArrays(d, e.count);
    for (const s of e.dropped) dropSubsection(d, s);
  }
  for (const [k, e] of deviceEdits) {
    const d = patched.devices[k];
    if (d) patchDeviceVmdesc(d, e);
  }
  return patched;
}

/**
 * A copy of `v` whose `devices` entries at `edited` are deep copies (patchable without touching
 * `v`); everything else is shared. The whole vmdesc is deep-copied when its root or device list
 * carries exact pairs (duplicate or integer-like keys), which a shallow copy would lose.
 */
function patchableCopy(v: Vmdesc, edited: Iterable<number>): Vmdesc {
  if ((v as unknown as JsonObject)[JSON_PAIRS] || (v.devices as unknown as JsonObject)[JSON_PAIRS]) return cloneVmdesc(v);
  const devices = v.devices.slice();
  for (const k of edited) if (devices[k]) devices[k] = cloneVmdesc(devices[k]!);
  const copy: Vmdesc = Object.assign({}, v);
  copy.devices = devices;
  return copy;
}
