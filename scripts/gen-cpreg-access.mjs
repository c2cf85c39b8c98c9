#!/usr/bin/env node
// Builds src/match/cpreg-access.generated.ts: for each QEMU generation, how TCG's migration
// read-back (`write_list_to_cpustate`: raw write, then raw read, compare) treats each migrated
// system register, taken from QEMU's own ARMCPRegInfo definitions.
//
//   node scripts/gen-cpreg-access.mjs [7.2=<qemu-7.2 tree>] [10.x=<qemu-10.x tree>] [--keys=FILE]
//
// Defaults: 7.2=/work/qemu-src/7.2/qemu-7.2+dfsg  10.x=/work/qemu-src/10.2.2/qemu-10.2.2+ds
// (Debian source packages 1:7.2+dfsg and 1:10.2.2+ds). QEMU 11.1's tree is not available as a
// source package; the table for 11.1 is the 10.x one (see docs/loaders.md).
//
// Every `{ … .name = … }` initialiser under target/arm (system emulation: CONFIG_USER_ONLY
// branches dropped) is read for .state, .cp, .opc0/.opc1/.crn/.crm/.opc2, .type, .writefn,
// .raw_writefn, .fieldoffset. Definitions QEMU never migrates (ARM_CP_NO_RAW, ARM_CP_ALIAS, a
// special type such as ARM_CP_NOP) are skipped; of a wildcard (CP_ANY) only the first instance
// is migrated, as in define_one_arm_cp_reg(). Each migrated definition gets one kind:
//
//   const     .type has ARM_CP_CONST: write_raw_cp_reg() ignores the write, the read gives
//             .resetvalue
//   ignore    the raw write is arm_cp_write_ignore (as .raw_writefn, or as .writefn with no
//             .raw_writefn): the read gives whatever the register computes
//   writefn   .writefn and no .raw_writefn: the raw write runs the guest write function, which
//             may drop or change bits
//   rawfn     a .raw_writefn other than raw_write
//   plain     raw_write into .fieldoffset (or .raw_writefn = raw_write)
//
// A definition inside `for (x = A; x < B; x++)` whose encoding field is `x` is expanded (the
// AArch32 RAZ ID space). Definitions built with other loop expressions are listed on stderr and
// left out: the debug breakpoint/watchpoint registers (.raw_writefn = raw_write) and the PMU
// event counters/types (raw writes that store the value), all of which read back as plain.
//
// Registers are keyed by QEMU's 32-bit cpreg key (ENCODE_AA64_CP_REG / ENCODE_CP_REG with the NS
// bit), the key `get_arm_cp_reginfo(kvm_to_cpreg_id(id))` looks up. A key defined with several
// kinds (CPU-specific definitions of one encoding) keeps the "least raw-writable" kind in this
// order: const, ignore, writefn, rawfn, plain; the generator lists those keys on stderr.
//
// Output is deterministic: the same trees always give byte-identical output.
import { readFileSync, writeFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(repoRoot, 'src/match/cpreg-access.generated.ts');
const TREES = {
  '7.2': '/work/qemu-src/7.2/qemu-7.2+dfsg',
  '10.x': '/work/qemu-src/10.2.2/qemu-10.2.2+ds',
};
let keysOut = null;
for (const a of process.argv.slice(2)) {
  if (a.startsWith('--keys=')) {
    keysOut = a.slice(7);
    continue;
  }
  const m = /^(7\.2|10\.x)=(.+)$/.exec(a);
  if (!m) throw new Error(`usage: gen-cpreg-access.mjs [7.2=DIR] [10.x=DIR] (got ${a})`);
  TREES[m[1]] = resolve(m[2]);
}

const KIND_ORDER = ['const', 'ignore', 'writefn', 'rawfn', 'plain'];

/** .c files under target/arm that define system registers for TCG system emulation. */
function sourceFiles(tree) {
  const root = join(tree, 'target/arm');
  if (!existsSync(root)) throw new Error(`${root} not found`);
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d).sort()) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) {
        if (e !== 'hvf') walk(p);
      } else if (e.endsWith('.c') && !/^(kvm|hvf|whpx)/.test(e)) out.push(p);
    }
  };
  walk(root);
  return out;
}

/** Drops comments, and CONFIG_USER_ONLY-only branches (system emulation is what migrates). */
function preprocess(text) {
  text = text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/\/\/[^\n]*/g, '');
  const out = [];
  const stack = []; // per #if level: { user: true|false|null, inElse }
  const active = () => stack.every((s) => (s.user === null ? true : s.inElse ? s.user : !s.user));
  for (const line of text.split('\n')) {
    const t = line.trim();
    let m;
    if ((m = /^#\s*if(n?)def\s+(\w+)/.exec(t))) {
      // #ifdef CONFIG_USER_ONLY: skip the body; #ifndef CONFIG_USER_ONLY: keep it
      stack.push({ user: m[2] === 'CONFIG_USER_ONLY' ? m[1] !== 'n' : null, inElse: false });
      out.push('');
      continue;
    }
    if (/^#\s*if\b/.test(t)) {
      const user = /^#\s*if\s+defined\(CONFIG_USER_ONLY\)\s*$/.test(t) ? true : /^#\s*if\s+!defined\(CONFIG_USER_ONLY\)\s*$/.test(t) ? false : null;
      stack.push({ user, inElse: false });
      out.push('');
      continue;
    }
    if (/^#\s*else\b/.test(t) && stack.length) {
      stack[stack.length - 1].inElse = true;
      out.push('');
      continue;
    }
    if (/^#\s*endif\b/.test(t) && stack.length) {
      stack.pop();
      out.push('');
      continue;
    }
    out.push(active() ? line : '');
  }
  return out.join('\n');
}

/** Top-level `{ … }` blocks (at any nesting) whose own fields include `.name =`. */
function initialisers(text) {
  const blocks = [];
  const open = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"' || c === "'") {
      for (i++; i < text.length && text[i] !== c; i++) if (text[i] === '\\') i++;
      continue;
    }
    if (c === '{') open.push(i);
    else if (c === '}') {
      const start = open.pop();
      if (start === undefined) continue;
      const body = text.slice(start + 1, i);
      if (/^\s*\.name\s*=/.test(body) || /,\s*\.name\s*=/.test(topLevel(body))) blocks.push({ body, start });
    }
  }
  return blocks;
}

/** The text of a block with nested braces/parentheses blanked out. */
function topLevel(body) {
  let depth = 0;
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '"') {
      let j = i + 1;
      for (; j < body.length && body[j] !== '"'; j++) if (body[j] === '\\') j++;
      out += depth ? ' '.repeat(j - i + 1) : body.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === '{' || c === '(') depth++;
    if (depth) out += c === '\n' ? '\n' : ' ';
    else out += c;
    if (c === '}' || c === ')') depth--;
  }
  return out;
}

/** `.key = value` pairs of a block (the last assignment of a key wins, as in C). */
function fields(body) {
  const out = {};
  let depth = 0;
  let cur = '';
  const parts = [];
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c === '"') {
      let j = i + 1;
      for (; j < body.length && body[j] !== '"'; j++) if (body[j] === '\\') j++;
      cur += body.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === '{' || c === '(') depth++;
    if (c === '}' || c === ')') depth--;
    if (c === ',' && depth === 0) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  for (const p of parts) {
    const m = /^\s*\.(\w+)\s*=\s*([\s\S]*?)\s*$/.exec(p);
    if (m) out[m[1]] = m[2].replace(/\s+/g, ' ');
  }
  return out;
}

const WILD = Symbol('CP_ANY');

/** A numeric field: a literal, CP_ANY, or null (an expression this reader does not evaluate). */
function num(v, dflt = 0) {
  if (v === undefined) return dflt;
  if (v === 'CP_ANY') return WILD;
  if (/^(0x[0-9a-f]+|\d+)$/i.test(v)) return Number(v);
  return null;
}

/**
 * A definition inside `for (x = A; x < B; x++)` with a field that is exactly `x` (the AArch32
 * RAZ ID space of register_cp_regs_for_features): the loop's values, else null.
 */
function loopValues(text, start, ident) {
  const before = text.slice(Math.max(0, start - 2000), start);
  const re = new RegExp(`for\\s*\\(\\s*(?:int\\s+)?${ident}\\s*=\\s*(\\d+)\\s*;\\s*${ident}\\s*<\\s*(\\d+)\\s*;\\s*${ident}\\+\\+\\s*\\)`, 'g');
  let m;
  let last = null;
  while ((m = re.exec(before))) last = m;
  if (!last) return null;
  const vals = [];
  for (let v = Number(last[1]); v < Number(last[2]); v++) vals.push(v);
  return vals;
}

const SPECIAL = /\bARM_CP_(NOP|WFI|NZCV|CURRENTEL|DC_ZVA|DC_GVA|DC_GZVA|GCS\w+)\b/;

/** Kind of one definition, or null when QEMU does not migrate it. */
function kindOf(f) {
  const type = f.type ?? '';
  if (/\bARM_CP_(NO_RAW|ALIAS)\b/.test(type) || SPECIAL.test(type)) return null;
  if (/\bARM_CP_CONST\b/.test(type)) return 'const';
  const raw = f.raw_writefn;
  const w = f.writefn;
  if (raw === 'arm_cp_write_ignore' || (!raw && w === 'arm_cp_write_ignore')) return 'ignore';
  if (raw && raw !== 'raw_write') return 'rawfn';
  if (!raw && w) return 'writefn';
  return 'plain';
}

// QEMU's cpreg keys (cpregs.h): ENCODE_AA64_CP_REG and ENCODE_CP_REG with the NS bit (29).
const aa64Key = (op0, op1, crn, crm, op2) => (0x10000000 | (0x13 << 16) | (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2) >>> 0;
const aa32Key = (cp, is64, opc1, crn, crm, opc2) =>
  (0x20000000 | (cp << 16) | (is64 << 15) | (crn << 11) | (crm << 7) | (opc1 << 3) | opc2) >>> 0;

function tableFor(tree) {
  const byKey = new Map(); // key -> Map(kind -> Set(name))
  const unresolved = [];
  let defs = 0;
  for (const file of sourceFiles(tree)) {
    const text = preprocess(readFileSync(file, 'utf8'));
    for (const { body, start } of initialisers(text)) {
      const f0 = fields(body);
      if (!('name' in f0)) continue;
      defs++;
      const kind = kindOf(f0);
      if (!kind) continue;
      // expand a loop variable used as one encoding field
      const loopField = ['crn', 'crm', 'opc1', 'opc2'].find((k) => /^[a-z_]\w*$/i.test(f0[k] ?? '') && f0[k] !== 'CP_ANY');
      const vals = loopField ? loopValues(text, start, f0[loopField]) : null;
      for (const f of vals ? vals.map((v) => ({ ...f0, [loopField]: String(v) })) : [f0]) {
      const state = f.state ?? 'ARM_CP_STATE_AA32';
      const first = (v) => (v === WILD ? 0 : v);
      const crn = num(f.crn);
      const crm = first(num(f.crm));
      const opc1 = first(num(f.opc1));
      const opc2 = first(num(f.opc2));
      const opc0 = num(f.opc0);
      const keys = [];
      const where = `${file.slice(tree.length + 1)}: ${f.name}`;
      if ([crn, crm, opc1, opc2].some((x) => x === null) || (state !== 'ARM_CP_STATE_AA32' && opc0 === null)) {
        unresolved.push(`${where} (${kind})`);
        continue;
      }
      if (state === 'ARM_CP_STATE_AA64' || state === 'ARM_CP_STATE_BOTH') keys.push(aa64Key(opc0, opc1, crn, crm, opc2));
      if (state === 'ARM_CP_STATE_AA32' || state === 'ARM_CP_STATE_BOTH') {
        const cp = num(f.cp, 15) || 15;
        if (cp === null) {
          unresolved.push(`${where} (${kind})`);
          continue;
        }
        const is64 = /\bARM_CP_64BIT\b/.test(f.type ?? '') ? 1 : 0;
        keys.push(aa32Key(cp, is64, opc1, is64 ? 0 : crn, crm, is64 ? 0 : opc2));
      }
      for (const key of keys) {
        let m = byKey.get(key);
        if (!m) byKey.set(key, (m = new Map()));
        if (!m.has(kind)) m.set(kind, new Set());
        m.get(kind).add(f.name.replace(/^"|"$/g, ''));
      }
      }
    }
  }
  const kinds = Object.fromEntries(KIND_ORDER.map((k) => [k, []]));
  const mixed = [];
  for (const [key, m] of [...byKey].sort((a, b) => a[0] - b[0])) {
    const present = KIND_ORDER.filter((k) => m.has(k));
    if (present.length > 1) mixed.push(`0x${key.toString(16)} ${present.map((k) => `${k}:${[...m.get(k)].join('/')}`).join(' ')}`);
    const kind = present[0];
    if (kind !== 'plain') kinds[kind].push(key);
  }
  return { kinds, mixed, unresolved, defs, keys: byKey.size, all: [...byKey.keys()].sort((a, b) => a - b) };
}

const tables = {};
const allKeys = {};
for (const [gen, tree] of Object.entries(TREES)) {
  const t = tableFor(tree);
  tables[gen] = t.kinds;
  allKeys[gen] = t.all;
  process.stderr.write(
    `${gen}: ${t.defs} definitions, ${t.keys} migrated keys; ` +
      KIND_ORDER.filter((k) => k !== 'plain').map((k) => `${k} ${t.kinds[k].length}`).join(', ') +
      '\n',
  );
  for (const m of t.mixed) process.stderr.write(`  several kinds: ${m}\n`);
  for (const u of t.unresolved) process.stderr.write(`  not evaluated: ${u}\n`);
}

const hexList = (keys) => {
  const items = keys.map((k) => `0x${k.toString(16).padStart(8, '0')}`);
  const lines = [];
  for (let i = 0; i < items.length; i += 8) lines.push('    ' + items.slice(i, i + 8).join(', ') + ',');
  return lines.join('\n');
};

let out = `// Generated by scripts/gen-cpreg-access.mjs from QEMU's target/arm register definitions. Do not edit.
//
// Per QEMU generation, the migrated registers whose raw write (write_raw_cp_reg) does not simply
// store the value, by QEMU cpreg key (idToCpregKey): see the script's header for the kinds.
// Registers not listed are plain: any value written reads back.
// Sources: ${Object.entries(TREES)
  .map(([g, t]) => `${g} = ${t.split('/').pop()}`)
  .join(', ')}.

/** Kinds of raw write other than a plain store. */
export type RawWriteKindName = 'const' | 'ignore' | 'writefn' | 'rawfn';

/** Cpreg keys per kind, per generation. */
export const CPREG_ACCESS: Readonly<Record<'7.2' | '10.x', Readonly<Record<RawWriteKindName, readonly number[]>>>> = {
`;
for (const [gen, k] of Object.entries(tables)) {
  out += `  '${gen}': {\n`;
  for (const kind of ['const', 'ignore', 'writefn', 'rawfn']) out += `    ${kind}: [\n${hexList(k[kind]).replace(/^/gm, '  ')}\n    ],\n`;
  out += '  },\n';
}
out += '};\n';
writeFileSync(OUT, out);
// --keys=FILE: every migrated key found, per generation (to check a stream's ids for coverage)
if (keysOut) writeFileSync(keysOut, JSON.stringify(allKeys));
process.stderr.write(`wrote ${OUT}\n`);
