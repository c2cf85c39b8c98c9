/**
 * `--dest`: a destination from a stream saved there, a profile, or a plain
 * register list — told apart by their first bytes.
 */
import { open, readFile } from 'node:fs/promises';
import { decodeFile } from '../api.js';
import type { DecodeLimits } from '../stream/decode.js';
import { destinationFromList, parseRegisterList, type DestinationModel } from '../match/index.js';
import { destinationFromProfile, generationOfStream, streamSubsections } from './profile.js';
import { KNOWN_CPU_SUBSECTIONS, unionSubsections, type QemuGeneration } from './known-subsections.js';
import { inferAccel } from '../regs/index.js';
import { ioError, VmstateError } from '../wire/errors.js';
import { isLibvirtImage } from '../container/libvirt.js';

/** A loaded destination and what could be told about its QEMU. */
export interface LoadedDestination {
  path: string;
  model: DestinationModel;
  generation: QemuGeneration | null;
}

/** Loads `--dest` (a stream, a profile JSON, or a list of hex ids; `-` is not allowed). */
export async function loadDestination(path: string, limits: Partial<DecodeLimits> = {}): Promise<LoadedDestination> {
  let head: Buffer;
  try {
    // Sniff the first bytes only: a destination stream may be gigabytes of RAM.
    const fh = await open(path, 'r');
    try {
      const { buffer, bytesRead } = await fh.read(Buffer.alloc(64), 0, 64, 0);
      head = buffer.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw ioError(`cannot read destination ${path}`, e);
  }
  if ((head.length >= 4 && head.readUInt32BE(0) === 0x5145564d) || isLibvirtImage(head)) {
    const s = await decodeFile(path, { limits });
    const generation = generationOfStream(s);
    const model: DestinationModel = {
      origin: 'stream',
      cpus: s.cpus.map((c) => ({ instance: c.instance, ids: c.ids, values: c.values })),
      subsections: streamSubsections(s),
      accel: inferAccel(s.cpus.flatMap((c) => c.ids)),
      pageSize: 1 << (s.configuration?.pageBits ?? 10),
    };
    if (s.configuration) model.machineType = s.configuration.machine;
    return { path, model, generation };
  }
  const text = (await readFile(path)).toString('utf8');
  if (/^\s*\{/.test(text)) {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new VmstateError('BAD_ITEM', `${path}: not valid JSON: ${(e as Error).message}`, { offset: 0, section: 'profile' });
    }
    const { model, generation } = destinationFromProfile(json, path);
    return { path, model, generation };
  }
  return { path, model: destinationFromList(parseRegisterList(text, path)), generation: null };
}

/** The `cpu` subsections the destination knows: its own stream's, plus its generation's table when known. */
export function knownSubsections(d: LoadedDestination, generation: QemuGeneration | null): DestinationModel['subsections'] {
  const own = d.model.subsections ?? [];
  const g = generation ?? d.generation;
  return g ? unionSubsections(own, KNOWN_CPU_SUBSECTIONS[g]) : d.model.subsections;
}
