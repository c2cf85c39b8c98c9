/** `regs --lookup`: name → id and id → name. */
import { hex64, lookupRegs, qemuFieldText, regAliases, regFieldText, regName, type Accel } from '../regs/index.js';
import { table } from '../cli/format.js';
import { UsageError } from '../wire/errors.js';

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
  const out: LookupEntry[] = [];
  for (const q of queries.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean)) {
    const ids = lookupRegs(q, accel);
    if (!ids.length) throw new UsageError(`unknown register '${q}'`);
    for (const id of ids) {
      out.push({ query: q, id: hex64(id), name: regName(id, accel), aliases: regAliases(id, accel), fields: qemuFieldText(id), decoded: regFieldText(id) });
    }
  }
  return out;
}

/** Human rendering. */
export function renderLookup(entries: LookupEntry[]): string {
  return table(
    ['query', 'id', 'name', 'fields', 'aliases'],
    entries.map((e) => [e.query, e.id, e.name ?? '?', e.decoded, e.aliases.join(' ')]),
  );
}
