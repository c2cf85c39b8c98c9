/**
 * Register lists as users give them: names or hex ids, comma-separated, in one or more
 * arguments (`--strip TCR2_EL1,PIR_EL1 --strip 0x603000000013c513`).
 * @module
 */
import { UsageError } from '../errors.js';
import { lookupRegs, type Accel } from './names.js';

/** The items of comma-separated lists, trimmed, empty ones dropped. */
export function splitList(list: readonly string[]): string[] {
  return list.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
}

/**
 * Each item of the lists with the ids it names (names case-insensitive, ids in hex).
 * @param what - prefixed to the error, e.g. `--strip`.
 * @throws UsageError naming the first item that names no register.
 */
export function resolveRegList(list: readonly string[], accel: Accel | undefined, what?: string): { query: string; ids: bigint[] }[] {
  return splitList(list).map((query) => {
    const ids = lookupRegs(query, accel);
    if (!ids.length) throw new UsageError(`${what ? `${what}: ` : ''}unknown register '${query}'`, { reason: 'unknown-register', query });
    return { query, ids };
  });
}
