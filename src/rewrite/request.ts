/**
 * What a rewrite is asked to do, checked before anything is read: option combinations and
 * register names. Light on purpose: the command line runs these checks while it parses.
 */
import { resolveRegList, splitList } from '../regs/queries.js';
import { UsageError } from '../errors.js';

/** The parts of a rewrite request that can be checked without reading anything. */
export interface RequestShape {
  output?: string;
  dryRun?: boolean;
  /** Whether a destination is given (a path or a loaded one). */
  dest?: unknown;
  strip?: string[];
  stripUnknown?: boolean;
  adopt?: string[];
  stripUnknownSubsections?: boolean;
}

/** Throws a {@link UsageError} for a request that cannot be carried out as given. */
export function checkRewriteRequest(r: RequestShape): void {
  if ((r.stripUnknown || r.adopt?.length || r.stripUnknownSubsections) && !r.dest) {
    throw new UsageError('--strip-unknown, --adopt-dest-values and --strip-unknown-subsections need --dest');
  }
  if (!r.dryRun && !r.output) throw new UsageError('rewrite needs -o <file|-> (or --dry-run)');
  resolveRegList(r.strip ?? [], undefined, '--strip');
  resolveRegList(splitList(r.adopt ?? []).filter((x) => x !== 'id-regs'), undefined, '--adopt-dest-values');
}
