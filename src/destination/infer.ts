/**
 * What a check assumes about the destination when the command line does not say it: which
 * QEMU loads the stream (the loader), with which accelerator, and — under KVM — which kernel
 * takes the register writes; each with what told it, so the verdict can print it.
 *
 * - Loader: a profile's recorded QEMU version (`profile --host`), else the QEMU generation the
 *   destination shows (./profile.ts `streamGeneration`: vmdesc shape and the `cpu` section's
 *   count field), else `legacy` (QEMU 7.2 … 10.2), said to be assumed.
 * - Accelerator: a profile's recorded one, else what the destination's register list shows
 *   (KVM's firmware, demux and timer ids), else what the stream's shows.
 * - Kernel: a profile's recorded release, else what the destination's list shows
 *   (match/kvm-kernel.ts `kernelFromList`), said to be inferred or assumed.
 * @module
 */
import { inferAccel, type Accel } from '../regs/index.js';
import { destinationCpuFor, kernelFromList, kernelFromRelease, lookupLoader, type KvmKernel, type QemuGeneration } from '../match/index.js';
import { UsageError } from '../errors.js';
import type { Destination } from './load.js';

/** A fact about the destination and how it is known. */
export interface Told<T> {
  value: T;
  /** What told it (printed). */
  from: string;
  /** Given on the command line (or by the caller) rather than inferred. */
  given: boolean;
}

/** What a check assumes about its destination. */
export interface DestinationFacts {
  /** A loader name: an alias naming the QEMU generation where one is known (`qemu-10.0`), else `legacy`. */
  loader: Told<string>;
  accel: Told<Accel>;
  /** Under KVM: the kernel whose KVM_SET_ONE_REG rules apply; null under TCG. */
  kernel: KvmKernel | null;
}

/** What the caller fixes; the rest is inferred. */
export interface GivenFacts {
  loader?: string;
  accel?: Accel;
  /** A kernel release (`6.12`, `6.12.118+deb13-arm64`). */
  kernel?: string;
}

const LOADER_OF: Readonly<Record<QemuGeneration, string>> = { '7.2': 'qemu-7.2', '10.x': 'qemu-10.0', '11.1': 'qemu-11.1' };

/** The loader for a QEMU `--version` line, or null when no loader is known for that version. */
export function loaderOfQemuVersion(line: string): { loader: string; version: string } | null {
  const m = /version (\d+)\.(\d+)(?:\.(\d+))?/.exec(line);
  if (!m) return null;
  const [maj, min] = [Number(m[1]), Number(m[2])];
  const version = `${maj}.${min}${m[3] !== undefined ? `.${m[3]}` : ''}`;
  if (maj === 7 && min === 2) return { loader: 'qemu-7.2', version };
  if (maj === 10) return { loader: min >= 2 ? 'qemu-10.2' : 'qemu-10.0', version };
  if ((maj === 11 && min >= 1) || maj > 11) return { loader: 'qemu-11.1', version };
  return null;
}

/**
 * The destination's loader, accelerator and kernel: each as given, else inferred from the
 * destination (and, for the accelerator, from the stream's own ids), with what told it.
 * @throws UsageError for an unknown loader name or a kernel release that names no version.
 */
export function destinationFacts(dest: Destination, given: GivenFacts = {}, streamIds: Iterable<bigint> = []): DestinationFacts {
  const loader = inferLoader(dest, given.loader);
  let accel: Told<Accel>;
  if (given.accel) accel = { value: given.accel, from: '--accel', given: true };
  else if (dest.host) accel = { value: dest.host.accel, from: "the profile's host.accel", given: false };
  else if (dest.model.accel) accel = { value: dest.model.accel, from: `the destination's register list (${dest.model.origin})`, given: false };
  else accel = { value: inferAccel(streamIds), from: "the stream's register list (the destination gives none)", given: false };
  let kernel: KvmKernel | null = null;
  if (accel.value === 'kvm') {
    if (given.kernel !== undefined) {
      kernel = kernelFromRelease(given.kernel, 'option');
      if (!kernel) throw new UsageError(`--kernel: '${given.kernel}' does not start with a kernel version (e.g. 6.12 or 6.12.118+deb13-arm64)`, { reason: 'bad-kernel' });
    } else if (dest.host) {
      kernel = kernelFromRelease(dest.host.kernel, 'profile');
    }
    if (!kernel) {
      const cpu = destinationCpuFor(dest.model, 0) ?? dest.model.cpus[0];
      kernel = kernelFromList(cpu?.ids ?? [], cpu?.values);
    }
  }
  return { loader, accel, kernel };
}

/** The loader: as given, else from the profile's QEMU version, else from the destination's QEMU generation. */
export function inferLoader(dest: Destination, given?: string): Told<string> {
  if (given !== undefined) {
    lookupLoader(given);
    return { value: given, from: '--loader', given: true };
  }
  if (dest.host) {
    const q = loaderOfQemuVersion(dest.host.qemu);
    if (q) return { value: q.loader, from: `the profile's host.qemu (QEMU ${q.version})`, given: false };
  }
  if (dest.generation) return { value: LOADER_OF[dest.generation], from: dest.generationFrom ?? `the destination's QEMU generation (${dest.generation})`, given: false };
  return { value: 'legacy', from: 'nothing in the destination tells its QEMU: QEMU 7.2 … 10.2 assumed', given: false };
}
