/**
 * Whether a subsection's state is at its default: QEMU sends most subsections only when their
 * state differs from it (`.needed`), but some whenever the feature exists (the GICv3's NMI
 * state, 11.1's `cpu/wfxt-timer`); removing one at its default loses nothing the guest did.
 * The default is zero, and for a timer "not armed" (QEMU writes an expiry of -1).
 * @module
 */
import type { VmdescBody } from '../stream/vmdesc.js';

/** Built-in descriptions of `cpu` subsections a stream without vmdesc may carry: the fields that are timers. */
const BUILTIN_TIMERS: Readonly<Record<string, true>> = { 'cpu/wfxt-timer': true };

/** The verdict on one subsection's content. */
export interface SubsectionState {
  atDefault: boolean;
  /** Why not, in words (the first field that is not at its default), or how it is at default. */
  note: string;
}

const allBytes = (b: Buffer, from: number, to: number, v: number): boolean => {
  for (let i = from; i < to; i++) if (b[i] !== v) return false;
  return true;
};

/**
 * Judges the body bytes `content` of subsection `name` against its description `body` (from
 * the stream's vmdesc; null when there is none, then only a built-in timer or all-zero counts).
 */
export function subsectionState(name: string, body: VmdescBody | null, content: Buffer): SubsectionState {
  if (!body) {
    const timer = BUILTIN_TIMERS[name] === true;
    const ok = timer ? allBytes(content, 0, content.length, 0xff) : allBytes(content, 0, content.length, 0);
    return ok ? { atDefault: true, note: timer ? 'timer not armed' : 'all zero' } : { atDefault: false, note: timer ? 'the timer is armed' : 'not all zero' };
  }
  let bad: string | null = null;
  let timers = false;
  const walk = (b: VmdescBody, pos: number, where: string): number => {
    for (const f of b.fields) {
      const n = f.array_len ?? 1;
      for (let i = 0; i < n; i++) {
        if (f.type === 'struct' && f.struct) {
          pos = walk(f.struct, pos, `${where}${f.name}.`);
          continue;
        }
        if (f.type === 'capability') {
          pos += 1 + (content[pos] ?? 0);
          continue;
        }
        const end = pos + f.size;
        if (f.type === 'timer') {
          timers = true;
          if (!bad && !allBytes(content, pos, end, 0xff)) bad = `timer ${where}${f.name} is armed`;
        } else if (!bad && !allBytes(content, pos, end, 0)) bad = `${where}${f.name} is not zero`;
        pos = end;
      }
    }
    for (const s of b.subsections ?? []) pos = walk(s, pos + 6 + s.vmsd_name.length, `${s.vmsd_name}: `);
    return pos;
  };
  const end = walk(body, 0, '');
  if (end !== content.length && !bad) bad = `its ${content.length} bytes are not what its description lays out (${end})`;
  if (bad) return { atDefault: false, note: bad };
  return { atDefault: true, note: timers ? 'at its default (zero, timers not armed)' : 'at its default (all zero)' };
}
