#!/usr/bin/env node
// Builds src/destination/known-devices.generated.ts: for each QEMU generation, every
// VMStateDescription the destination QEMU has (by its name, as a stream's vmdesc names it), with
// the version it loads, the lowest version it accepts and the subsections it knows. A destination
// refuses a subsection it does not know, but one that merely was not needed when the destination
// saved its own stream is fine: so this, not the destination stream's vmdesc, says what it knows.
//
//   node scripts/gen-known-devices.mjs [--trees DIR]     (needs root for the chroots)
//
// Taken from the QEMU builds themselves, the ones the truth tables were made with:
//   7.2   /usr/bin/qemu-system-aarch64 (Debian bookworm)
//   10.x  chroot DIR/trixie qemu-system-aarch64 (Debian trixie, QEMU 10.0)
//   11.1  chroot DIR/sid qemu-system-aarch64 (Debian sid)
// * `-M virt-7.2 -dump-vmstate FILE` writes the VMStateDescription of every device type (fields,
//   nested structs, subsections, versions): all VMSDs reachable from them are kept. A name two
//   device types use for different descriptions is left out (listed in the output's header).
// * Sections QEMU registers outside the device model (`cpu`, `cpu_common`, `timer`, `PCIBUS`,
//   `globalstate`, `virt_acpi_build`) are not in that dump: their versions are the table
//   OUTSIDE_QDEV below (from QEMU's sources), their subsections the strings of the binary named
//   `<name>/…` (QEMU's naming rule for subsections), without the struct descriptions listed
//   there. 10.x is measured on 10.0: 10.1 and 10.2 may know more.
//
// Output is deterministic for the same binaries.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OUT = join(repoRoot, 'src/destination/known-devices.generated.ts');
const treesArg = process.argv.indexOf('--trees');
const TREES = treesArg > 0 ? process.argv[treesArg + 1] : (process.env.QEMU_TREES ?? '/work/qemu-trees');
const BUILDS = [
  { generation: '7.2', tree: null },
  { generation: '10.x', tree: 'trixie' },
  { generation: '11.1', tree: 'sid' },
];

/**
 * Sections registered with vmstate_register() rather than as a device's dc->vmsd, so
 * -dump-vmstate does not list them. `structs`: descriptions named `<name>/…` that are struct
 * fields, not subsections.
 */
const OUTSIDE_QDEV = {
  cpu: { version: 22, minimum: 22, source: 'target/arm/machine.c vmstate_arm_cpu', structs: ['cpu/sve/zreg_hi', 'cpu/sve/preg'] },
  cpu_common: { version: 1, minimum: 1, source: 'hw/core/cpu-*.c vmstate_cpu_common', structs: [] },
  timer: { version: 2, minimum: 1, source: 'system/cpu-timers.c vmstate_timers', structs: [] },
  PCIBUS: { version: 1, minimum: 1, source: 'hw/pci/pci.c vmstate_pcibus', structs: [] },
  globalstate: { version: 1, minimum: 1, source: 'migration/global_state.c vmstate_globalstate', structs: [] },
  virt_acpi_build: { version: 1, minimum: 1, source: 'hw/arm/virt-acpi-build.c vmstate_virt_acpi_build', structs: [] },
};
/** Subsection versions other than 1 (target/arm/machine.c). */
const SUB_VERSIONS = { 'cpu/vfp': 3, 'cpu/m': 4 };

function qemu(tree, args) {
  const argv = tree ? ['chroot', join(TREES, tree), 'qemu-system-aarch64', ...args] : ['qemu-system-aarch64', ...args];
  return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function binaryPath(tree) {
  const which = execFileSync(tree ? 'chroot' : 'sh', tree ? [join(TREES, tree), 'sh', '-c', 'command -v qemu-system-aarch64'] : ['-c', 'command -v qemu-system-aarch64'], { encoding: 'utf8' }).trim();
  return tree ? join(TREES, tree, which) : which;
}

/** Printable strings of a binary matching `re` (like `strings`). */
function strings(path, re) {
  const buf = readFileSync(path);
  const out = new Set();
  let start = -1;
  for (let i = 0; i <= buf.length; i++) {
    const c = i < buf.length ? buf[i] : 0;
    if (c >= 0x20 && c < 0x7f) {
      if (start < 0) start = i;
      continue;
    }
    if (start >= 0 && i - start >= 4) {
      const s = buf.toString('latin1', start, i);
      if (re.test(s)) out.add(s);
    }
    start = -1;
  }
  return [...out].sort();
}

function dumpVmstate(tree) {
  const dir = tree ? mkdtempSync(join(TREES, tree, 'tmp', 'vmstate-dump-')) : mkdtempSync(join(tmpdir(), 'vmstate-dump-'));
  try {
    const inside = tree ? dir.slice(join(TREES, tree).length) : dir;
    qemu(tree, ['-M', 'virt-7.2', '-nodefaults', '-dump-vmstate', join(inside, 'dump.json')]);
    return JSON.parse(readFileSync(join(dir, 'dump.json'), 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function collect(dump) {
  const seen = new Map();
  const clash = new Set();
  const visit = (d) => {
    const entry = { version: d.version_id, minimum: d.minimum_version_id, subsections: (d.Subsections ?? []).map((s) => s.name) };
    const prev = seen.get(d.name);
    if (prev && JSON.stringify(prev) !== JSON.stringify(entry)) clash.add(d.name);
    seen.set(d.name, entry);
    for (const f of d.Fields ?? []) if (f.Description) visit(f.Description);
    for (const s of d.Subsections ?? []) visit(s);
  };
  for (const t of Object.values(dump)) if (t.Description) visit(t.Description);
  for (const n of clash) seen.delete(n);
  return { vmsds: seen, clash: [...clash].sort() };
}

function outsideQdev(binary, vmsds) {
  const names = strings(binary, /^[A-Za-z_]+(\/[A-Za-z0-9_.-]+)+$/);
  for (const [top, t] of Object.entries(OUTSIDE_QDEV)) {
    const mine = names.filter((n) => n.startsWith(top + '/') && !t.structs.includes(n));
    // each subsection belongs to the longest name that is a prefix of it (cpu/m/fp → cpu/m)
    const parents = [top, ...mine];
    const subs = new Map(parents.map((p) => [p, []]));
    for (const n of mine) {
      const parent = parents.filter((p) => n.startsWith(p + '/')).sort((a, b) => b.length - a.length)[0];
      subs.get(parent).push(n);
    }
    vmsds.set(top, { version: t.version, minimum: t.minimum, subsections: subs.get(top) });
    for (const n of mine) vmsds.set(n, { version: SUB_VERSIONS[n] ?? 1, minimum: SUB_VERSIONS[n] ?? 1, subsections: subs.get(n) });
  }
}

const data = {};
const sources = {};
const clashes = {};
for (const b of BUILDS) {
  const version = qemu(b.tree, ['--version']).split('\n')[0].trim();
  const { vmsds, clash } = collect(dumpVmstate(b.tree));
  outsideQdev(binaryPath(b.tree), vmsds);
  data[b.generation] = Object.fromEntries([...vmsds.entries()].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0)));
  sources[b.generation] = version;
  clashes[b.generation] = clash;
}

// Compact: [version, minimum, subsection names with the parent's name + '/' written as '~/'].
const enc = (name, e) => {
  const subs = e.subsections.map((s) => (s.startsWith(name + '/') ? '~' + s.slice(name.length) : s));
  return `[${e.version},${e.minimum},${JSON.stringify(subs)}]`;
};
const lines = [
  '// Generated by scripts/gen-known-devices.mjs from the QEMU builds named below. Do not edit.',
  '//',
  '// Per QEMU generation, every VMStateDescription by name: [version it loads, lowest version it',
  "// accepts, the subsections it knows ('~/x' stands for '<name>/x')]. From `-M virt-7.2",
  "// -dump-vmstate` (every device type's description, nested structs and subsections included);",
  '// the sections registered outside the device model (cpu, cpu_common, timer, PCIBUS, globalstate,',
  "// virt_acpi_build) from QEMU's sources (versions) and the binary's strings (subsection names).",
  ...Object.entries(clashes).map(([g, c]) => `// Left out for ${g} (two device types describe them differently): ${c.join(', ') || 'none'}.`),
  '',
  "import type { QemuGeneration } from '../match/index.js';",
  '',
  '/** `[version, minimum version, subsections]` of one VMStateDescription. */',
  'export type KnownVmsdEntry = readonly [number, number, readonly string[]];',
  '',
  '/** Which QEMU build each generation was read from (`--version`, first line). */',
  `export const KNOWN_DEVICES_SOURCE: Readonly<Record<QemuGeneration, string>> = ${JSON.stringify(sources, null, 2).replace(/"([0-9.x]+)":/g, "'$1':")};`,
  '',
  '/** The VMStateDescriptions of each generation, by name. */',
  'export const KNOWN_VMSDS: Readonly<Record<QemuGeneration, Readonly<Record<string, KnownVmsdEntry>>>> = {',
];
for (const b of BUILDS) {
  lines.push(`  '${b.generation}': {`);
  for (const [name, e] of Object.entries(data[b.generation])) lines.push(`    ${JSON.stringify(name)}: ${enc(name, e)},`);
  lines.push('  },');
}
lines.push('};', '');
writeFileSync(OUT, lines.join('\n'));
console.error(`wrote ${OUT}: ${BUILDS.map((b) => `${b.generation} ${Object.keys(data[b.generation]).length}`).join(', ')}`);
