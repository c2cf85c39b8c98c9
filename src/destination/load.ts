/**
 * `--dest`: a destination from a stream saved there, a profile, or a plain
 * register list — told apart by their first bytes.
 * @module
 */
import { open, readFile } from 'node:fs/promises';
import { decodeStream, type DecodeLimits } from '../stream/decode.js';
import type { Vmdesc } from '../stream/vmdesc.js';
import { MAGIC } from '../stream/constants.js';
import { destinationFromList, deviceSections, parseRegisterList, unionSubsections, type DestinationModel, type QemuGeneration } from '../match/index.js';
import { knownCpuSubsections } from './known-devices.js';
import { destinationFromProfile, streamGeneration, streamSubsections, type HostFacts } from './profile.js';
import { inferAccel } from '../regs/index.js';
import { ioError, ProfileError } from '../errors.js';
import { detectContainer, HEAD_SIZE } from '../container/registry.js';

/** A destination as `check` and `rewrite` use it: its model, and what could be told about its QEMU. */
export interface Destination {
  /** Where it came from (a path, or `name` for bytes). */
  path: string;
  model: DestinationModel;
  generation: QemuGeneration | null;
  /** A destination stream's vmdesc: what each of its devices sent (null for a profile or a list, or a stream without one). */
  vmdesc?: Vmdesc | null;
  /** How {@link generation} was told (printed when it decides the loader). */
  generationFrom?: string;
  /** The machine a `vmstate profile --host` profile was made on. */
  host?: HostFacts;
}

/** Options of {@link loadDestination}. */
export interface DestinationOptions {
  /** Caps for decoding a destination stream. */
  limits?: Partial<DecodeLimits>;
  /** How errors and reports name a destination given as bytes (default `destination`). */
  name?: string;
}

/** The first bytes of a file (a destination stream may be gigabytes of RAM). */
async function head(path: string, n: number): Promise<Buffer> {
  try {
    const fh = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await fh.read(Buffer.alloc(n), 0, n, 0);
      return buffer.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw ioError(`cannot read destination ${path}`, e);
  }
}

/**
 * Loads a destination: a stream saved there (bare or in a libvirt save image), a
 * `vmstate profile` JSON document, or a plain list of hex register ids (one per line, `#`
 * comments) — from a path (`-` is not allowed) or from bytes.
 *
 * @example
 * ```ts
 * import { loadDestination } from 'vmstate';
 * const dest = await loadDestination('samples/qemu-7.2/virt-7.2_cortex-a57.mig');
 * console.log(dest.model.origin, dest.generation, dest.model.machineType, dest.model.cpus[0].ids.length);
 * // prints: stream 7.2 virt-7.2 258
 * const list = await loadDestination(Buffer.from('0x603000000013c103  # TCR2_EL1\n'));
 * console.log(list.model.origin, list.model.cpus[0].ids.map((id) => id.toString(16)));
 * // prints: list [ '603000000013c103' ]
 * ```
 */
export async function loadDestination(input: string | Uint8Array, options: DestinationOptions = {}): Promise<Destination> {
  // Bytes, or else a path (a bad one is an IO error naming it).
  const bytes = input instanceof Uint8Array ? input : null;
  const path = bytes ? (options.name ?? 'destination') : (input as string);
  const first = bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(64, bytes.length)) : await head(path, 64);
  if ((first.length >= 4 && first.readUInt32BE(0) === MAGIC) || detectContainer(first.subarray(0, HEAD_SIZE))) {
    const s = await decodeStream(input, { limits: options.limits });
    const told = streamGeneration(s);
    const model: DestinationModel = {
      origin: 'stream',
      cpus: s.cpus.map((c) => ({ instance: c.instance, ids: c.ids, values: c.values })),
      subsections: streamSubsections(s),
      devices: deviceSections(s.sections, s.vmdesc?.json.devices ?? null, s.cpus),
      accel: inferAccel(s.cpus.flatMap((c) => c.ids)),
      pageSize: 1 << (s.configuration?.pageBits ?? 10),
    };
    if (s.configuration) {
      model.machineType = s.configuration.machine;
      model.capabilities = s.configuration.capabilities;
    }
    const d: Destination = { path, model, generation: told?.generation ?? null, vmdesc: s.vmdesc?.json ?? null };
    if (told) d.generationFrom = `the destination stream: ${told.from}`;
    return d;
  }
  const text = bytes ? Buffer.from(bytes).toString('utf8') : (await readFile(path)).toString('utf8');
  if (/^\s*\{/.test(text)) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new ProfileError(`${path}: not valid JSON: ${(e as Error).message}`, { source: path });
    }
    const { model, generation, host } = destinationFromProfile(json, path);
    const d: Destination = { path, model, generation };
    if (generation) d.generationFrom = `the profile's generation (${generation})`;
    if (host) d.host = host;
    return d;
  }
  return { path, model: destinationFromList(parseRegisterList(text, path)), generation: null };
}

/** The `cpu` subsections the destination knows: its own stream's, plus its generation's when known (./known-devices.ts). */
export function knownSubsections(d: Destination, generation: QemuGeneration | null): DestinationModel['subsections'] {
  const own = d.model.subsections ?? [];
  const g = generation ?? d.generation;
  return g ? unionSubsections(own, knownCpuSubsections(g)) : d.model.subsections;
}
