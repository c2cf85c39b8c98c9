/** `regs --lookup`: name → id and id → name. */
import { hex64, qemuFieldText, regAliases, regFieldText, regName, type Accel } from '../regs/index.js';
import { resolveRegList } from '../regs/queries.js';
import { table } from './format.js';

/** One lookup answer. */
export interface LookupEntry {
  query: string;
  id: string;
  name: string | null;
  aliases: string[];
  /** QEMU's own field text (`kvm_print_register_name`). */
  fields: string;
  /** Decoded fields, also for AArch32 ids QEMU prints as bare hex. */
  decoded: string;
}

/** Resolves each comma-separated query (names case-insensitive, ids in hex); unknown ones are a usage error. */
export function lookup(queries: string[], accel: Accel = 'tcg'): LookupEntry[] {
  return resolveRegList(queries, accel).flatMap(({ query, ids }) =>
    ids.map((id) => ({ query, id: hex64(id), name: regName(id, accel), aliases: regAliases(id, accel), fields: qemuFieldText(id), decoded: regFieldText(id) })),
  );
}

/** Human rendering. */
export function renderLookup(entries: LookupEntry[]): string {
  return table(
    ['query', 'id', 'name', 'fields', 'aliases'],
    entries.map((e) => [e.query, e.id, e.name ?? '?', e.decoded, e.aliases.join(' ')]),
  );
}
