/**
 * The output of QEMU's `scripts/analyze-migration.py`, reproduced.
 *
 * `-d desc` prints the vmdesc JSON itself, unchanged (it returns before
 * walking any section).
 *
 * `-d state` prints one object with a member per section, in the order the
 * sections first appear in the stream, keyed {@link analyserKey}
 * `"<idstr> (<section id>)"` — the section *id*, not the instance id, e.g.
 * `"ram (2)"`, `"cpu (7)"`. The configuration item, commands, footers, EOF and
 * the vmdesc never appear. Members:
 *
 * - RAM (`ram`): `{"section sizes": {"<block idstr>": "0x%016x", …}}` — the
 *   block list of the MEM_SIZE record, lengths as 16-digit hex (with `-m`
 *   the analyser adds `"memory"`, not reproduced here). See {@link ramSectionState}.
 * - Device (FULL) sections: the body walked by its vmdesc entry, an object
 *   with one member per field name and one per subsection (keyed by the
 *   subsection's wire name, e.g. `"cpu/vfp"`), in wire order. Values:
 *   - signed integers (`int8/16/32/64`, `int32 equal`, `int32 le`,
 *     `int64 equal`, and — as the analyser has it — `uint8 equal`,
 *     `uint16 equal`): `"0x"` + 2×size hex digits, and for negative values
 *     `"0xffffffff (-1)"` (two's complement, then the decimal value);
 *   - unsigned integers (`uint8/16/32/64`, `uint32 equal`): `"0x…"`, 2×size digits;
 *   - `bool`: JSON `true`/`false` (any non-zero byte is true);
 *   - `nullptr`: the string `"nullptr"`;
 *   - `capability`: the capability name (the analyser itself cannot print
 *     these; they only occur in the configuration, which it never prints);
 *   - every other type — `buffer`, `unused_buffer`, `timer`, `CPU_Double_U`,
 *     `float64`, `vstruct`, ARM `cpsr`/`powered_off`/`fpscr`/… — the raw
 *     `size` bytes as lowercase hex pairs separated by single spaces
 *     (`"00 00 03 c5"`; `""` for zero bytes);
 *   - `struct`: a nested object of the same form (its subsections included);
 *   - several records with one name (array elements, whether compressed with
 *     `array_len` or one record each): a list of the element values, in order.
 *   A non-vmsd section the analyser knows but does not decode (`spapr/htab`,
 *   `s390-storage_attributes`) is `""`.
 *
 * The analyser fails on QEMU 7.2 aarch64 streams (it cannot skip the
 * configuration subsections without a vmdesc `configuration` entry); since the
 * configuration is never part of the dump, the natural output for those is
 * the same form as above, which is what these functions give.
 */
import type { DumpObject, DumpValue } from './device-walk.js';

export type { DumpObject, DumpValue } from './device-walk.js';

/** Member name of a section in the `-d state` output: `"<idstr> (<section id>)"`. */
export function analyserKey(name: string, sectionId: number): string {
  return `${name} (${sectionId})`;
}

/** One RAM block of the MEM_SIZE list. */
export interface RamBlockSize {
  name: string;
  /** used_length in bytes. */
  length: number | bigint;
}

/** `0x%016x`. */
function hex16(v: number | bigint): string {
  return '0x' + BigInt(v).toString(16).padStart(16, '0');
}

/**
 * The `-d state` member of the RAM section: `{"section sizes": {name: "0x%016x"}}`.
 * A block listed twice keeps its first position and its last length, as in
 * the analyser's dict.
 */
export function ramSectionState(blocks: Iterable<RamBlockSize>): DumpObject {
  const sizes: DumpObject = new Map();
  for (const b of blocks) sizes.set(b.name, hex16(b.length));
  return new Map<string, DumpValue>([['section sizes', sizes]]);
}

/** A section of the stream as the `-d state` output needs it. */
export interface DumpSection {
  sectionId: number;
  /** Section idstr from the START/FULL header. */
  name: string;
  /** Rendered body: `walkDevice(...).state`, {@link ramSectionState}, or `""`. */
  state: DumpValue;
}

/**
 * Assembles the `-d state` object from the sections in stream order (START or
 * FULL, once per section id; PART/END add nothing). A repeated section id
 * keeps its first position and takes the later value, like the analyser's
 * dict keyed by section id.
 */
export function stateDump(sections: Iterable<DumpSection>): DumpObject {
  const byId = new Map<number, DumpSection>();
  for (const s of sections) byId.set(s.sectionId, s);
  const out: DumpObject = new Map();
  for (const s of byId.values()) out.set(analyserKey(s.name, s.sectionId), s.state);
  return out;
}
