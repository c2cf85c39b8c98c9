/**
 * What a rewrite is asked to do, checked before anything is read: option combinations, register
 * and class names, subsection names. Light on purpose: the command line runs these checks while
 * it parses.
 */
import { resolveRegList, splitList } from '../regs/queries.js';
import { UsageError } from '../errors.js';
import { isAdoptClass } from './guest-effects.js';

/** What `--add-missing` can put in. */
export const ADD_MISSING_KINDS = ['const'] as const;

/** The parts of a rewrite request that can be checked without reading anything. */
export interface RequestShape {
  output?: string;
  dryRun?: boolean;
  /** Whether a destination is given (a path or a loaded one). */
  dest?: unknown;
  strip?: string[];
  stripUnknown?: boolean;
  adopt?: string[];
  addMissing?: string[];
  stripUnknownSubsections?: boolean;
  stripSubsections?: string[];
}

/** Throws a {@link UsageError} for a request that cannot be carried out as given. */
export function checkRewriteRequest(r: RequestShape): void {
  if ((r.stripUnknown || r.adopt?.length || r.addMissing?.length || r.stripUnknownSubsections) && !r.dest) {
    throw new UsageError('--strip-unknown, --adopt-dest-values, --add-missing and --strip-unknown-subsections need --dest');
  }
  if (!r.dryRun && !r.output) throw new UsageError('rewrite needs -o <file|-> (or --dry-run)');
  resolveRegList(r.strip ?? [], undefined, '--strip');
  resolveRegList(splitList(r.adopt ?? []).filter((x) => !isAdoptClass(x)), undefined, '--adopt-dest-values');
  for (const k of splitList(r.addMissing ?? [])) {
    if (!(ADD_MISSING_KINDS as readonly string[]).includes(k)) {
      throw new UsageError(`--add-missing: unknown kind '${k}' (known: ${ADD_MISSING_KINDS.join(', ')})`, { reason: 'bad-add-missing', value: k });
    }
  }
  for (const n of r.stripSubsections ?? []) {
    // QEMU names a subsection after its parent's VMSD: `cpu/wfxt-timer`, `arm_gicv3_cpu/nmi`.
    if (!/^[^/\s]+(\/[^/\s]+)+$/.test(n)) {
      throw new UsageError(`--strip-subsection: '${n}' is not a subsection name (such as cpu/wfxt-timer or arm_gicv3_cpu/nmi)`, { reason: 'bad-subsection', value: n });
    }
  }
}
