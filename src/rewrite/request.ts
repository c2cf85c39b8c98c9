/**
 * What a rewrite is asked to do, checked before anything is read: option combinations and
 * register names. Light on purpose: the command line runs these checks while it parses.
 */
import { lookupRegs, type Accel } from '../regs/index.js';
import { UsageError } from '../wire/errors.js';

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

/** `--strip A,B --strip C` → the single queries A, B, C. */
export function registerQueries(list: readonly string[] | undefined): string[] {
  return (list ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
}

/** The ids each query names (a name may name several: an AArch64 register and its AArch32 view). */
export function resolveQueries(queries: readonly string[], accel: Accel | undefined, what: string): Map<string, bigint[]> {
  const out = new Map<string, bigint[]>();
  for (const q of queries) {
    const ids = lookupRegs(q, accel);
    if (!ids.length) throw new UsageError(`${what}: unknown register '${q}'`);
    out.set(q, ids);
  }
  return out;
}

/** Throws a {@link UsageError} for a request that cannot be carried out as given. */
export function checkRewriteRequest(r: RequestShape): void {
  if ((r.stripUnknown || r.adopt?.length || r.stripUnknownSubsections) && !r.dest) {
    throw new UsageError('--strip-unknown, --adopt-dest-values and --strip-unknown-subsections need --dest');
  }
  if (!r.dryRun && !r.output) throw new UsageError('rewrite needs -o <file|-> (or --dry-run)');
  resolveQueries(registerQueries(r.strip), undefined, '--strip');
  resolveQueries(registerQueries(r.adopt).filter((x) => x !== 'id-regs'), undefined, '--adopt-dest-values');
}
