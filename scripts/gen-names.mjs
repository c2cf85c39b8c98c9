#!/usr/bin/env node
// Builds src/regs/names.generated.ts from the shared register-name tables, and
// src/regs/fields.generated.ts from the ID-register field table in src/regs/data/.
//
//   node scripts/gen-names.mjs            (reads ../shared/data relative to the repo root)
//   VMSTATE_SHARED=/path node scripts/gen-names.mjs   (reads /path/data, or /path if it holds the TSVs)
//
// Output is deterministic: the same inputs always give byte-identical output.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FILES = ['arm64-sysregs.tsv', 'aarch32-cpregs.tsv', 'kvm-pseudo-regs.tsv', 'qemu-cpreg-names.tsv'];

function dataDir() {
  const base = process.env.VMSTATE_SHARED ? resolve(process.env.VMSTATE_SHARED) : resolve(repoRoot, '..', 'shared');
  for (const d of [join(base, 'data'), base]) if (existsSync(join(d, FILES[0]))) return d;
  throw new Error(`register tables not found under ${base} (set VMSTATE_SHARED)`);
}

/** Reads a TSV with a header line into objects keyed by column name. */
function readTsv(dir, file) {
  const lines = readFileSync(join(dir, file), 'utf8').split('\n').filter((l) => l.trim() !== '');
  const head = lines[0].split('\t');
  return lines.slice(1).map((l, order) => {
    const cells = l.split('\t');
    const row = { order };
    head.forEach((h, i) => (row[h] = (cells[i] ?? '').trim()));
    return row;
  });
}

const int = (s) => {
  if (!/^\d+$/.test(s)) throw new Error(`not a decimal field: "${s}"`);
  return Number(s);
};
const sysKey = (op0, op1, crn, crm, op2) => (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
// QEMU's ENCODE_CP_REG without the NS bit: cp<<16 | is64<<15 | crn<<11 | crm<<7 | opc1<<3 | opc2.
const cpKey = (cp, opc1, crn, crm, opc2, is64) =>
  cp * 0x10000 + (is64 << 15) + (crn << 11) + (crm << 7) + (opc1 << 3) + opc2;

// The mechanical QEMU extraction also picked up CPU model names, vmstate names and loop-built
// names ("ID_AA64AFR*"); a register name is an identifier with at least one capital.
const isRegName = (n) => /^[A-Za-z][A-Za-z0-9_]*$/.test(n) && /[A-Z]/.test(n);

/** Collects candidate names per key and picks the canonical one by (rank, tie-break). */
class Candidates {
  constructor(tieBreak) {
    this.map = new Map();
    this.tieBreak = tieBreak;
  }
  add(key, name, rank) {
    let list = this.map.get(key);
    if (!list) this.map.set(key, (list = []));
    const seen = list.find((c) => c.name === name);
    if (seen) seen.rank = Math.min(seen.rank, rank);
    else list.push({ name, rank });
  }
  rows() {
    return [...this.map.entries()]
      .sort((a, b) => a[0] - b[0])
      .map(([key, list]) => {
        list.sort((a, b) => a.rank - b.rank || this.tieBreak(key, a.name, b.name));
        return [key, ...list.map((c) => c.name)];
      });
  }
}
const alpha = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

const dir = dataDir();
const linux = readTsv(dir, 'arm64-sysregs.tsv');
const a32 = readTsv(dir, 'aarch32-cpregs.tsv');
const pseudo = readTsv(dir, 'kvm-pseudo-regs.tsv');
const qemu = readTsv(dir, 'qemu-cpreg-names.tsv');

// ---------------------------------------------------------------- AArch64 system registers
// Rank: Linux `sysreg` file, Linux sysreg.h, QEMU 10.2, QEMU 7.2; QEMU's *_RESERVED names last.
// File order breaks ties, so the numbered AMEVCNTR0<n>_EL0 names beat their v6.1 aliases.
const a64 = new Candidates(() => 0);
const a64Overrides = new Map([
  // One encoding, two directions of the debug comms channel (QEMU names the write side).
  // DBGDTR_EL0 itself is 2 3 0 4 0.
  [sysKey(2, 3, 0, 5, 0), ['DBGDTRTX_EL0', 'DBGDTRRX_EL0']],
]);
for (const r of linux) {
  const key = sysKey(int(r.op0), int(r.op1), int(r.crn), int(r.crm), int(r.op2));
  a64.add(key, r.name, r.source === 'linux-sysreg' ? 10 : 11);
}
const qemuRank = (source) => (source.startsWith('qemu-10.') ? 20 : 21);
const qemuA64Names = new Set();
for (const r of qemu) {
  if (r.state !== 'aarch64' || !isRegName(r.name)) continue;
  const f = [r.op0, r.op1_or_opc1, r.crn, r.crm, r.op2_or_opc2];
  if (f.some((x) => x === '*')) continue;
  a64.add(sysKey(...f.map(int)), r.name, qemuRank(r.source) + (r.name.endsWith('_RESERVED') ? 2 : 0));
  qemuA64Names.add(r.name);
}
for (const [key, names] of a64Overrides) names.forEach((n, i) => a64.add(key, n, i));
// System instructions QEMU migrates as registers (the TLBI nXS of EL2 that `max,secure=on`
// defines as constants): src/regs/data/arm64-sys-insns.tsv, after every register name.
const sysInsns = readTsv(join(repoRoot, 'src', 'regs', 'data'), 'arm64-sys-insns.tsv');
for (const r of sysInsns) a64.add(sysKey(int(r.op0), int(r.op1), int(r.crn), int(r.crm), int(r.op2)), r.name, 30);

// -------------------------------------------------------------------- KVM pseudo-registers
// Display names drop the KVM_REG_ARM_ / KVM_REG_ARM64_ prefix; the full macro name is an alias.
const shortName = (n) => n.replace(/^KVM_REG_ARM(64)?_/, '');
const pseudoRows = [];
const kvmTimerRows = [];
for (const r of pseudo) {
  const id = BigInt(r.id);
  const names = shortName(r.name) === r.name ? [r.name] : [shortName(r.name), r.name];
  if (r.group === 'timer') kvmTimerRows.push([Number(id & 0xffffn), ...names]);
  else pseudoRows.push([id, ...names]);
}
pseudoRows.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
kvmTimerRows.sort((a, b) => a[0] - b[0]);

// --------------------------------------------------------------------- AArch32 cp14 / cp15
// Rank: explicit choice, QEMU 10.2, QEMU 7.2, aarch32-cpregs.tsv, run-time-named wildcards (below),
// zero expansion of a wildcard definition (only that expansion is migrated; QEMU marks the
// others ALIAS).
// Within a rank, a name QEMU also uses for an AArch64 register wins (the AArch32 view of a
// both-state definition is what v8 CPUs register), then alphabetical order.
const a32Tie = (_key, a, b) => Number(qemuA64Names.has(b)) - Number(qemuA64Names.has(a)) || alpha(a, b);
const a32c = new Candidates(a32Tie);
const a32Overrides = new Map([
  // Architectural DBGDTRTXint/DBGDTRRXint (MRC/MCR p14,0,c0,c5,0); QEMU ≥ 10.1 calls it DBGDTRTX.
  [cpKey(14, 0, 0, 5, 0, 0), ['DBGDTRTX', 'DBGDTRTXint', 'DBGDTRRXint']],
  // The wrongly encoded AArch32 view of DBGDTR_EL0 (opc1 3) that QEMU kept for compatibility.
  [cpKey(14, 3, 0, 5, 0, 0), ['BOGUS_DBGDTR_EL0', 'DBGDTR_EL0']],
  // Model-specific alternatives: prefer the v7/v8 register over ARMv5/ARMv6/XScale/R-profile ones.
  [cpKey(15, 0, 0, 0, 0, 0), ['MIDR']],
  [cpKey(15, 0, 2, 0, 0, 0), ['TTBR0_EL1']],
  [cpKey(15, 0, 2, 0, 1, 0), ['TTBR1_EL1']],
  [cpKey(15, 0, 5, 0, 0, 0), ['DFSR']],
  [cpKey(15, 0, 5, 0, 1, 0), ['IFSR']],
  [cpKey(15, 0, 6, 0, 1, 0), ['WFAR']],
  [cpKey(15, 0, 9, 1, 0, 0), ['ATCM']],
  [cpKey(15, 0, 9, 1, 1, 0), ['BTCM']],
  [cpKey(15, 1, 9, 0, 2, 0), ['L2CTLR']],
  [cpKey(15, 0, 0, 14, 0, 1), ['CNTPCT']],
]);
// Names of the explicitly Secure-only definitions; they name the bit-29-clear id of their key.
const secureOnly = new Map();
const zeroKey = cpKey(15, 0, 0, 0, 0, 0);
for (const r of qemu) {
  if (r.state !== 'aarch32' || !isRegName(r.name)) continue;
  const f = [r.cp, r.op1_or_opc1, r.crn, r.crm, r.op2_or_opc2, r.is64 || '0'];
  const wild = f.some((x) => x === '*');
  const key = cpKey(...f.map((x) => (x === '*' ? 0 : int(x))));
  // Definitions whose fields are computed at run time were extracted with every field 0; the
  // only genuine names at cp15 0 c0 c0 0 come from the other table and the MIDR wildcard.
  if (key === zeroKey && !wild) continue;
  addA32(key, r.name, wild ? 40 : qemuRank(r.source));
}
for (const r of a32) addA32(cpKey(int(r.cp), int(r.opc1), int(r.crn), int(r.crm), int(r.opc2), int(r.is64)), r.name, 30);
// Wildcard definitions whose names QEMU builds at run time, so neither table has them; the data
// README documents them. v8 CPUs define RES_0_C0_C<m>_X (cp15 0 c0 c<m> *, m = 4..15) as
// AArch32-only RAZ registers; its zero expansion is migrated. (Pre-v8 CPUs call c4..c7 DUMMY.)
for (let m = 4; m <= 15; m++) addA32(cpKey(15, 0, 0, m, 0, 0), `RES_0_C0_C${m}_X`, 39);
for (const [key, names] of a32Overrides) names.forEach((n, i) => addA32(key, n, i));

function addA32(key, name, rank) {
  if (/_S$/.test(name)) {
    const prev = secureOnly.get(key);
    if (prev && prev !== name) throw new Error(`two Secure-only names for ${key.toString(16)}`);
    secureOnly.set(key, name);
  } else a32c.add(key, name, rank);
}
const secureRows = [...secureOnly.entries()].sort((a, b) => a[0] - b[0]);
for (const [key] of secureRows) if (!a32c.map.has(key)) throw new Error(`Secure-only name without a register: ${key}`);

// ----------------------------------------------------------------------------- output
const hex = (n, w) => '0x' + n.toString(16).padStart(w, '0');
const str = (s) => JSON.stringify(s);
const rowLines = (rows, w, suffix = '') =>
  rows.map(([k, ...names]) => `  [${hex(k, w)}${suffix}, ${names.map(str).join(', ')}],`).join('\n');

const a64Rows = a64.rows();
const a32Rows = a32c.rows();
const counts = Object.fromEntries(
  [['arm64-sysregs.tsv', linux], ['aarch32-cpregs.tsv', a32], ['kvm-pseudo-regs.tsv', pseudo], ['qemu-cpreg-names.tsv', qemu]].map(
    ([f, rows]) => [f, rows.length],
  ),
);

const out = `// GENERATED FILE — do not edit. Re-create with \`node scripts/gen-names.mjs\`.
// Sources (shared data directory, rows excluding the header):
${FILES.map((f) => `//   ${f} (${counts[f]} rows)`).join('\n')}
// and src/regs/data/arm64-sys-insns.tsv (${sysInsns.length} rows).
// See scripts/gen-names.mjs for how a canonical name is chosen when several share a key.

/** A name row: numeric key, canonical name, then aliases (most preferred first). */
export type NameRow = readonly [key: number, name: string, ...aliases: string[]];

/** A KVM pseudo-register row: full 64-bit id, display name, then aliases. */
export type IdNameRow = readonly [id: bigint, name: string, ...aliases: string[]];

/**
 * AArch64 system registers, keyed by the low 16 bits of the id
 * (op0<<14 | op1<<11 | CRn<<7 | CRm<<3 | op2). Linux names first, QEMU names as aliases.
 */
export const AARCH64_SYSREG_NAMES: readonly NameRow[] = [
${rowLines(a64Rows, 4)}
];

/**
 * KVM's names for the generic timer sysreg ids (keyed like {@link AARCH64_SYSREG_NAMES}).
 * TIMER_CVAL and TIMER_CNT sit at each other's architectural encodings (fixed KVM ABI).
 */
export const KVM_TIMER_NAMES: readonly NameRow[] = [
${rowLines(kvmTimerRows, 4)}
];

/**
 * AArch32 cp14/cp15 registers (QEMU names), keyed by QEMU's cpreg key without the NS bit:
 * cp<<16 | is64<<15 | CRn<<11 | CRm<<7 | opc1<<3 | opc2. The names belong to the
 * non-secure (bit 29 set) id; the secure-bank id takes a \`_S\` suffix.
 */
export const AARCH32_CPREG_NAMES: readonly NameRow[] = [
${rowLines(a32Rows, 5)}
];

/** Secure-only AArch32 definitions: the name of the bit-29-clear id of their key. */
export const AARCH32_SECURE_NAMES: readonly (readonly [key: number, name: string])[] = [
${secureRows.map(([k, n]) => `  [${hex(k, 5)}, ${str(n)}],`).join('\n')}
];

/** KVM pseudo-registers (core, demux, firmware, firmware bitmaps, SVE), keyed by full id. */
export const KVM_PSEUDO_NAMES: readonly IdNameRow[] = [
${rowLines(pseudoRows, 16, 'n')}
];
`;

const target = join(repoRoot, 'src', 'regs', 'names.generated.ts');
writeFileSync(target, out);
console.log(
  `wrote ${target}: ${a64Rows.length} AArch64, ${kvmTimerRows.length} KVM timer, ${a32Rows.length} AArch32 ` +
    `(+${secureRows.length} Secure-only), ${pseudoRows.length} pseudo`,
);

// ----------------------------------------------------------------- ID-register fields
// src/regs/data/arm64-id-fields.tsv: one row per named field (Linux `arch/arm64/tools/sysreg`,
// plus the Arm ARM for the registers that file does not describe); see src/regs/data/README.md.
const fieldRows = readTsv(join(repoRoot, 'src', 'regs', 'data'), 'arm64-id-fields.tsv');
const fieldRegs = new Map();
for (const r of fieldRows) {
  const key = sysKey(int(r.op0), int(r.op1), int(r.crn), int(r.crm), int(r.op2));
  const msb = int(r.msb);
  const lsb = int(r.lsb);
  if (msb < lsb || msb > 63) throw new Error(`bad bit range ${r.msb}:${r.lsb} in ${r.register}.${r.field}`);
  if (!['U', 'S', 'E', 'F'].includes(r.kind)) throw new Error(`bad kind ${r.kind} in ${r.register}.${r.field}`);
  let reg = fieldRegs.get(key);
  if (!reg) fieldRegs.set(key, (reg = { name: r.register, fields: [], mask: 0n }));
  if (reg.name !== r.register) throw new Error(`two registers at one encoding: ${reg.name}, ${r.register}`);
  const mask = ((1n << BigInt(msb - lsb + 1)) - 1n) << BigInt(lsb);
  if (reg.mask & mask) throw new Error(`overlapping fields in ${r.register}: ${r.field}`);
  reg.mask |= mask;
  reg.fields.push([r.field, lsb, msb - lsb + 1, r.kind]);
}
const fieldOut = `// GENERATED FILE — do not edit. Re-create with \`node scripts/gen-names.mjs\`.
// Source: src/regs/data/arm64-id-fields.tsv (${fieldRows.length} rows; see src/regs/data/README.md).

/**
 * How a field's values compare, as Linux's sysreg file declares it: \`U\` unsigned (a higher value
 * adds to a lower one), \`S\` signed (0b1111 = not implemented), \`E\` an enumeration without an
 * order, \`F\` a plain value (counts, sizes, IMPLEMENTATION DEFINED).
 */
export type FieldKind = 'U' | 'S' | 'E' | 'F';

/** A named field: name, lowest bit, width in bits, kind. */
export type FieldRow = readonly [name: string, lsb: number, width: number, kind: FieldKind];

/**
 * Field layouts of the identification registers, keyed like the AArch64 sysreg names
 * (op0<<14 | op1<<11 | CRn<<7 | CRm<<3 | op2), highest field first.
 */
export const ID_REGISTER_FIELDS: readonly (readonly [key: number, register: string, fields: readonly FieldRow[]])[] = [
${[...fieldRegs.entries()]
  .sort((a, b) => a[0] - b[0])
  .map(
    ([k, r]) =>
      `  [${hex(k, 4)}, ${str(r.name)}, [${r.fields.map(([n, l, w, kd]) => `[${str(n)}, ${l}, ${w}, ${str(kd)}]`).join(', ')}]],`,
  )
  .join('\n')}
];
`;
const fieldTarget = join(repoRoot, 'src', 'regs', 'fields.generated.ts');
writeFileSync(fieldTarget, fieldOut);
console.log(`wrote ${fieldTarget}: ${fieldRegs.size} registers, ${fieldRows.length} fields`);
