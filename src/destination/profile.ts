/**
 * Destination profiles: what `check` needs to know about a destination,
 * saved as JSON (`vmstate profile`) so it can be kept without the stream.
 *
 * Schema `vmstate/profile/1` (schemas/profile.schema.json):
 * `{ schema, source, machineType, pageSize, accel, generation, subsections: [{name, version}],
 *    cpus: [{ instance, registers: [{ id, value, name }] }], host? }` — ids and values as `0x` +
 * 16 hex digits; `host` (written by `vmstate profile --host`) records the machine the stream was
 * saved on: QEMU's version, accelerator, machine type, CPU and kernel release.
 */
import type { DecodedStream } from '../stream/decode.js';
import { hex64, inferAccel, regName, type Accel } from '../regs/index.js';
import type { CpuSubsection, DestinationModel } from '../match/index.js';
import { ProfileError } from '../errors.js';
import type { QemuGeneration } from '../match/index.js';
import { CPREG_COUNT_FIELD } from '../stream/vmdesc.js';

export const PROFILE_SCHEMA = 'vmstate/profile/1';

/** The machine a profile was made on (`vmstate profile --host`). */
export interface HostFacts {
  /** QEMU's `--version` first line, e.g. `QEMU emulator version 11.1.3 (Debian 1:11.1.3+ds-1)`. */
  qemu: string;
  /** The accelerator QEMU ran with. */
  accel: Accel;
  /** The machine type as given (`-M`), e.g. `virt` or `virt-7.2,gic-version=3`. */
  machine: string;
  /** The CPU model as given (`-cpu`). */
  cpu: string;
  /** `-smp` as given. */
  smp: number;
  /** The kernel release (`uname -r`), e.g. `6.12.118+deb13-arm64`. */
  kernel: string;
}

/** The profile document. */
export interface Profile {
  schema: typeof PROFILE_SCHEMA;
  source: string;
  machineType: string | null;
  pageSize: number;
  accel: Accel;
  /** QEMU generation the stream's layout points to (`7.2` when its vmdesc has no configuration). */
  generation: QemuGeneration | null;
  subsections: CpuSubsection[];
  cpus: { instance: number; registers: { id: string; value: string; name: string | null }[] }[];
  /** The machine it was made on, when made by `vmstate profile --host`. */
  host?: HostFacts;
}

/**
 * The QEMU generation a saved stream shows, and how: a 7.2 vmdesc has no `configuration`;
 * from 11.1 the `cpu` section's `cpreg_vmstate_array_len` is a plain `int32` (allocated from,
 * not checked against the destination's count), where 7.2 … 10.2 describe it as `int32 le`.
 * Null without a vmdesc.
 */
export function streamGeneration(s: DecodedStream): { generation: QemuGeneration; from: string } | null {
  if (!s.vmdesc) return null;
  if (!('configuration' in s.vmdesc.json)) return { generation: '7.2', from: 'its vmdesc has no configuration section (QEMU 7.2)' };
  const cpu = s.vmdesc.json.devices.find((d) => d.name === 'cpu');
  const type = cpu?.fields.find((f) => f.name === CPREG_COUNT_FIELD)?.type;
  if (type === 'int32') return { generation: '11.1', from: `its cpu section's ${CPREG_COUNT_FIELD} is 'int32', not bounded by 'int32 le' (QEMU 11.1)` };
  if (s.cpus.some((c) => c.subsections.some((x) => x.name === 'cpu/fpmr'))) return { generation: '11.1', from: 'its cpu section carries cpu/fpmr (QEMU 11.1)' };
  return { generation: '10.x', from: `its vmdesc has a configuration section and an 'int32 le' ${CPREG_COUNT_FIELD} (QEMU 10.0 … 10.2)` };
}

/** The generation a saved stream shows (see {@link streamGeneration}). */
export function generationOfStream(s: DecodedStream): QemuGeneration | null {
  return streamGeneration(s)?.generation ?? null;
}

/** Subsections with their versions, as seen in the stream's cpu sections (first occurrence wins). */
export function streamSubsections(s: DecodedStream): CpuSubsection[] {
  const m = new Map<string, CpuSubsection>();
  for (const c of s.cpus) for (const x of c.subsections) if (!m.has(x.name)) m.set(x.name, { name: x.name, version: x.version });
  return [...m.values()];
}

/**
 * The destination profile of a stream saved on the destination: what `check` needs to know
 * about it, as a JSON document (schema `vmstate/profile/1`) that can be kept without the stream
 * and given to {@link loadDestination} later.
 *
 * @example
 * ```ts
 * import { decodeStream, profileOf } from 'vmstate';
 * const s = await decodeStream('samples/qemu-10.0/virt-7.2_cortex-a57.mig');
 * const p = profileOf(s, { source: 'dst.mig' });
 * const r = p.cpus[0].registers[0];
 * console.log(p.schema, p.machineType, p.generation, r.id, r.name);
 * // prints: vmstate/profile/1 virt-7.2 10.x 0x40200000000f6800 FCSEIDR_S
 * ```
 */
export function profileOf(s: DecodedStream, options: { source?: string; accel?: Accel; host?: HostFacts } = {}): Profile {
  const acc = options.accel ?? options.host?.accel ?? inferAccel(s.cpus.flatMap((c) => c.ids));
  const p: Profile = {
    schema: PROFILE_SCHEMA,
    source: options.source ?? 'stream',
    machineType: s.configuration?.machine ?? null,
    pageSize: 1 << (s.configuration?.pageBits ?? 10),
    accel: acc,
    generation: generationOfStream(s),
    subsections: streamSubsections(s),
    cpus: s.cpus.map((c) => ({
      instance: c.instance,
      registers: c.ids.map((id, i) => ({ id: hex64(id), value: hex64(c.values[i]!), name: regName(id, acc) })),
    })),
  };
  if (options.host) p.host = options.host;
  return p;
}

const HEX = /^0x[0-9a-f]{1,16}$/i;

const HOST_KEYS = ['qemu', 'accel', 'machine', 'cpu', 'kernel'] as const;

/** Reads a profile document back into a destination model (typed error naming the JSON path on bad input). */
export function destinationFromProfile(json: unknown, source: string): { model: DestinationModel; generation: QemuGeneration | null; host?: HostFacts } {
  const bad = (path: string, why: string): never => {
    throw new ProfileError(`${source}: profile ${path}: ${why}`, { source, path });
  };
  const p = json as Partial<Profile>;
  if (!p || typeof p !== 'object' || p.schema !== PROFILE_SCHEMA) bad('schema', `expected "${PROFILE_SCHEMA}"`);
  if (!Array.isArray(p.cpus)) bad('cpus', 'expected an array');
  const cpus = p.cpus!.map((c, k) => {
    if (!Number.isInteger(c?.instance) || !Array.isArray(c?.registers)) bad(`cpus[${k}]`, 'expected {instance, registers[]}');
    const ids: bigint[] = [];
    const values: bigint[] = [];
    c.registers.forEach((r, i) => {
      if (!HEX.test(r?.id ?? '') || !HEX.test(r?.value ?? '')) bad(`cpus[${k}].registers[${i}]`, 'expected hex id and value');
      ids.push(BigInt(r.id));
      values.push(BigInt(r.value));
    });
    return { instance: c.instance, ids, values };
  });
  const model: DestinationModel = { origin: 'profile', cpus };
  if (p.machineType) model.machineType = p.machineType;
  if (p.pageSize) model.pageSize = p.pageSize;
  if (p.accel === 'tcg' || p.accel === 'kvm') model.accel = p.accel;
  if (Array.isArray(p.subsections)) model.subsections = p.subsections;
  if (p.generation !== undefined && p.generation !== null && !['7.2', '10.x', '11.1'].includes(p.generation)) bad('generation', 'expected "7.2", "10.x", "11.1" or null');
  if (p.host === undefined) return { model, generation: p.generation ?? null };
  const h = p.host as (Partial<Record<(typeof HOST_KEYS)[number], unknown>> & { smp?: unknown }) | null;
  if (!h || typeof h !== 'object') bad('host', 'expected an object');
  for (const k of HOST_KEYS) if (typeof h![k] !== 'string') bad(`host.${k}`, 'expected a string');
  if (!Number.isInteger(h!.smp) || (h!.smp as number) < 1) bad('host.smp', 'expected a positive integer');
  if (h!.accel !== 'tcg' && h!.accel !== 'kvm') bad('host.accel', 'expected "tcg" or "kvm"');
  return { model, generation: p.generation ?? null, host: h as HostFacts };
}
