/**
 * Edits of a `cpu` section while it is copied: new cpreg arrays, subsections dropped. Every
 * other byte goes through unchanged.
 * @module
 */
import type { StreamReader } from '../wire/reader.js';
import type { StreamWriter } from '../wire/writer.js';
import { encodeCpregArrays } from './cpregs-encode.js';
import type { CpuSection } from './section.js';

/** Edits to apply to one cpu section while copying the stream. */
export interface CpuEdit {
  /** New sorted register list; omitted = keep the arrays. */
  ids?: bigint[];
  values?: bigint[];
  /** Subsections (full names, e.g. `cpu/wfxt-timer`) to remove. */
  dropSubsections?: string[];
}

/** What an edit changed, for the vmdesc: the new cpreg count (if the arrays changed) and the subsections dropped. */
export interface CpuEditDone {
  count?: number;
  dropped: string[];
}

/**
 * Copies the cpu section `cpu` (the reader is inside its body, before the count) from `r` to
 * `out` with `edit` applied, up to the end of the body. Returns what changed, or null.
 */
export async function copyCpuEdited(r: StreamReader, out: StreamWriter, cpu: CpuSection, edit: CpuEdit): Promise<CpuEditDone | null> {
  const done: CpuEditDone = { dropped: [] };
  if (edit.ids) {
    const values = edit.values ?? [];
    await r.pass(cpu.countOffset - r.offset);
    await r.drop(cpu.arraysEnd - cpu.countOffset);
    out.insert(encodeCpregArrays(edit.ids, values));
    done.count = edit.ids.length;
  }
  for (const s of cpu.subsections) {
    if (!edit.dropSubsections?.includes(s.name)) continue;
    if (s.offset < r.offset) continue; // nested in one already dropped
    await r.pass(s.offset - r.offset);
    await r.drop(s.size);
    done.dropped.push(s.name);
  }
  await r.pass(cpu.bodyEnd - r.offset);
  return done.count !== undefined || done.dropped.length ? done : null;
}
