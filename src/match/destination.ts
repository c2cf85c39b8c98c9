/**
 * The destination side of a match: per-vCPU register lists (from a stream saved on the
 * destination, a stored profile, or a plain list of ids), plus what else the destination
 * checks (machine type, page size, known `cpu` subsections).
 * @module
 */
import { hex64, type Accel } from '../regs/index.js';
import { ProfileError, UsageError } from '../errors.js';
import type { DeviceSection } from './device-sections.js';

/** One destination vCPU. */
export interface DestinationCpu {
  /** `cpu` section instance (vCPU index). */
  instance: number;
  /** The destination's cpreg ids, ascending (unsigned 64-bit). */
  ids: readonly bigint[];
  /**
   * Values per id (same order). A value is what a constant register reads back as; null or a
   * missing array means unknown.
   */
  values?: readonly (bigint | null)[];
  /** Ids known to be constant (write-ignored, read-back checked) beyond the ID registers. */
  constant?: ReadonlySet<bigint>;
}

/** A `cpu` subsection as it appears in a stream, or as a destination knows it. */
export interface CpuSubsection {
  /** Full name, e.g. `cpu/vfp` or `cpu/vfp/fpcr_fpsr`. */
  name: string;
  version: number;
}

/** Union of two subsection lists, the first's versions winning. */
export function unionSubsections(a: readonly CpuSubsection[], b: readonly CpuSubsection[]): CpuSubsection[] {
  const seen = new Map(a.map((s) => [s.name, s]));
  for (const s of b) if (!seen.has(s.name)) seen.set(s.name, s);
  return [...seen.values()];
}

/** Where a destination model came from. */
export type DestinationOrigin = 'stream' | 'profile' | 'list';

/** Everything known about a destination. */
export interface DestinationModel {
  origin: DestinationOrigin;
  /** Canonical machine type name, e.g. `virt-7.2` (not the `virt` alias). */
  machineType?: string;
  /** Target page size in bytes. */
  pageSize?: number;
  /** The stream-format capabilities its own stream was saved with (`configuration/capabilities`). */
  capabilities?: string[];
  /** The `cpu` subsections the destination's own stream carries, with their versions. */
  subsections?: CpuSubsection[];
  /** The destination's device sections, in its stream's order (unknown for a plain register list). */
  devices?: DeviceSection[];
  accel?: Accel;
  /** Per-vCPU register lists. */
  cpus: DestinationCpu[];
  /** True when the single entry of {@link cpus} stands for every vCPU (a plain list). */
  shared?: boolean;
}

/** A bad line of a plain register list (`line` is 1-based). */
function listError(source: string, line: number, message: string): ProfileError {
  return new ProfileError(`${source}: line ${line}: ${message}`, { source, line });
}

const HEX_LINE = /^(?:0[xX])?([0-9a-fA-F]{1,16})$/;

/**
 * Parses a plain register list: one hex id per line (`0x` optional), `#` starts a comment,
 * blank lines are skipped. Returns the ids ascending.
 * @param source - named in errors (e.g. the file path).
 * @throws ProfileError naming the line (`data.line`) of the first bad or repeated id.
 */
export function parseRegisterList(text: string, source = 'register list'): bigint[] {
  const seen = new Map<bigint, number>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, n) => {
    const hash = raw.indexOf('#');
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line === '') return;
    const m = HEX_LINE.exec(line);
    if (!m) throw listError(source, n + 1, `expected one hex register id, got '${line}'`);
    const id = BigInt('0x' + m[1]);
    const first = seen.get(id);
    if (first !== undefined) throw listError(source, n + 1, `${hex64(id)} repeats line ${first}`);
    seen.set(id, n + 1);
  });
  return [...seen.keys()].sort(compareIds);
}

/** Ascending unsigned order of ids, for `Array.prototype.sort`. */
export function compareIds(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A destination model from one plain register list that applies to every vCPU. */
export function destinationFromList(
  ids: readonly bigint[],
  opts: { accel?: Accel; machineType?: string } = {},
): DestinationModel {
  const cpus = [{ instance: 0, ids: [...ids].sort(compareIds) }];
  const model: DestinationModel = { origin: 'list', cpus, shared: true };
  if (opts.accel) model.accel = opts.accel;
  if (opts.machineType) model.machineType = opts.machineType;
  return model;
}

/**
 * A destination vCPU whose ids are strictly ascending: returned as is when it already is, else
 * a sorted copy (values permuted along).
 * @throws UsageError when ids repeat or `values` has another length.
 */
export function normaliseDestinationCpu(cpu: DestinationCpu): DestinationCpu {
  const { ids, values } = cpu;
  if (values && values.length !== ids.length) {
    throw new UsageError(`destination cpu ${cpu.instance}: ${ids.length} ids but ${values.length} values`, {
      instance: cpu.instance,
    });
  }
  let sorted = true;
  for (let i = 1; i < ids.length; i++) {
    if (ids[i]! > ids[i - 1]!) continue;
    if (ids[i] === ids[i - 1]) {
      throw new UsageError(`destination cpu ${cpu.instance}: id ${hex64(ids[i]!)} listed twice`, {
        instance: cpu.instance,
      });
    }
    sorted = false;
  }
  if (sorted) return cpu;
  const order = ids.map((_, i) => i).sort((a, b) => compareIds(ids[a]!, ids[b]!));
  for (let k = 1; k < order.length; k++) {
    if (ids[order[k]!] === ids[order[k - 1]!]) {
      throw new UsageError(`destination cpu ${cpu.instance}: id ${hex64(ids[order[k]!]!)} listed twice`, {
        instance: cpu.instance,
      });
    }
  }
  const out: DestinationCpu = { ...cpu, ids: order.map((i) => ids[i]!) };
  if (values) out.values = order.map((i) => values[i]!);
  return out;
}

/**
 * The destination vCPU that receives `cpu` instance `instance`: the entry with that instance,
 * or the single shared entry of a plain list; undefined when the destination has no such vCPU.
 */
export function destinationCpuFor(model: DestinationModel, instance: number): DestinationCpu | undefined {
  if (model.shared && model.cpus.length === 1) return model.cpus[0];
  return model.cpus.find((c) => c.instance === instance);
}
