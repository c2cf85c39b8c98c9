/**
 * The checks an edit of a cpu section's cpreg arrays must pass before it is encoded: the wire
 * holds a count (int32) and two arrays of 64-bit words, and QEMU's loader merges the list as a
 * sorted one, so ids are ascending without repeats; nothing is wrapped or truncated to fit.
 */
import { UsageError } from '../errors.js';

const U64_END = 1n << 64n;

/** A caller's edit that cannot be written: a {@link UsageError} with code `BAD_EDIT` (exit 2), naming the cpu and the entry. */
function editError(message: string, data: Record<string, unknown> = {}): UsageError {
  return new UsageError(message, data, 'BAD_EDIT');
}

function isU64(v: unknown): v is bigint {
  return typeof v === 'bigint' && v >= 0n && v < U64_END;
}

function show(v: unknown): string {
  return typeof v === 'bigint' ? `${v < 0n ? '-' : ''}0x${(v < 0n ? -v : v).toString(16)}` : String(v);
}

/**
 * Throws an `BAD_EDIT` {@link UsageError} unless `edit` is writable for cpu `instance`: `ids` (when given)
 * 64-bit, strictly ascending (unless `unordered`: deliberately malformed test streams), at most
 * `maxCount` of them, with as many 64-bit `values`; and `dropSubsections` a list of names.
 */
export function checkCpuEdit(edit: { ids?: unknown; values?: unknown; dropSubsections?: unknown }, instance: number, maxCount: number, unordered = false): void {
  const where = `edit of cpu ${instance}`;
  const { ids, values, dropSubsections } = edit;
  if (ids !== undefined) {
    if (!Array.isArray(ids)) throw editError(`${where}: ids must be an array of bigints`);
    if (!Array.isArray(values) || values.length !== ids.length) {
      throw editError(`${where}: ${Array.isArray(values) ? values.length : 'no'} values for ${ids.length} ids`, { ids: ids.length });
    }
    if (ids.length > Math.min(maxCount, 0x7fffffff)) throw editError(`${where}: ${ids.length} registers exceed the cap ${maxCount} (maxCpregs)`);
    for (let i = 0; i < ids.length; i++) {
      const id: unknown = ids[i];
      if (!isU64(id)) throw editError(`${where}: id #${i} ${show(id)} is not a 64-bit unsigned bigint`, { index: i });
      if (!unordered && i > 0 && id <= (ids[i - 1] as bigint)) {
        throw editError(`${where}: ids must be ascending without repeats, but #${i} ${show(id)} follows ${show(ids[i - 1])}`, { index: i });
      }
      if (!isU64(values[i])) throw editError(`${where}: value #${i} ${show(values[i])} (id ${show(id)}) is not a 64-bit unsigned bigint`, { index: i });
    }
  } else if (values !== undefined) {
    throw editError(`${where}: values without ids`);
  }
  if (dropSubsections !== undefined && (!Array.isArray(dropSubsections) || dropSubsections.some((n) => typeof n !== 'string'))) {
    throw editError(`${where}: dropSubsections must be an array of names`);
  }
}
