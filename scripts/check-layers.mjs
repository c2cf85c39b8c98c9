#!/usr/bin/env node
// The import graph of src/ against the layer order: every import (static, dynamic, type-only)
// must point to the importing file's own layer or one below it, and no two folders may import
// each other, directly or around a loop.
//
//   node scripts/check-layers.mjs          # prints the violations, exits 1 if there are any
//
// The layer order is stated here and only here (design notes and README refer to it).
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Lowest first. A folder of src/ is its own unit; a file directly in src/ is named by its file
 * name. Units on one line share a layer (they may import each other, but not in a loop).
 */
export const LAYERS = [
  ['errors.ts', 'version.ts'], // the error taxonomy; the package version
  ['wire'], // bytes: reader, writer, sources, look-ahead
  ['container'], // what wraps a stream (libvirt save images): byte sources over byte sources
  ['regs'], // register ids and names
  ['cpu'], // the aarch64 `cpu` section: layout, cpreg arrays, subsections, edits
  ['stream'], // records: the walk, RAM, device sections, vmdesc, configuration
  ['policy'], // register policies
  ['match'], // destinations, loaders, the matcher
  ['destination'], // loading a destination: a stream, a profile, a register list
  ['check'], // the verdict (domain, no rendering)
  ['rewrite'], // plans, the rewrite job, the output
  ['report'], // renderers: text and JSON
  ['cli'], // the command line
  ['index.ts'], // the public API
];

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(ROOT, 'src');

function* files(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* files(p);
    else if (e.name.endsWith('.ts')) yield p;
  }
}

/** The unit (folder, or file directly in src/) a path under `src` belongs to. */
function unitOf(src, path) {
  return relative(src, path).split(sep)[0];
}

const IMPORT = /(?:^|[^\w.])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]|(?:^|[^\w.])import\s*\(\s*['"]([^'"]+)['"]\s*\)|(?:^|[^\w.])import\s+['"]([^'"]+)['"]/gm;

/** Relative module specifiers imported by a source text (comments stripped first). */
export function importsOf(text) {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const out = [];
  for (const m of code.matchAll(IMPORT)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec.startsWith('.')) out.push(spec);
  }
  return out;
}

/** Checks the tree `src` (default: this repository's src/); returns the violations as text lines. */
export function checkLayers(src = SRC, layers = LAYERS) {
  const rank = new Map();
  layers.forEach((units, i) => units.forEach((u) => rank.set(u, i)));
  const problems = [];
  const edges = new Map(); // unit -> Set(unit)
  for (const file of files(src)) {
    const from = unitOf(src, file);
    if (!rank.has(from)) problems.push(`${relative(ROOT, file)}: '${from}' is in no layer (add it to LAYERS in scripts/check-layers.mjs)`);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      if (!target.startsWith(src + sep)) continue;
      const to = unitOf(src, target);
      if (to === from) continue;
      if (!rank.has(to)) continue;
      if (rank.get(to) > rank.get(from)) problems.push(`${relative(ROOT, file)}: imports ${spec} — '${to}' is above '${from}'`);
      if (!edges.has(from)) edges.set(from, new Set());
      edges.get(from).add(to);
    }
  }
  // Loops between units (possible only within one layer).
  const state = new Map();
  const stack = [];
  const visit = (u) => {
    state.set(u, 'open');
    stack.push(u);
    for (const v of edges.get(u) ?? []) {
      if (state.get(v) === 'open') problems.push(`folder loop: ${[...stack.slice(stack.indexOf(v)), v].join(' → ')}`);
      else if (!state.has(v)) visit(v);
    }
    stack.pop();
    state.set(u, 'done');
  };
  for (const u of [...edges.keys()].sort()) if (!state.has(u)) visit(u);
  return problems;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const problems = checkLayers();
  if (problems.length) {
    process.stderr.write(problems.map((p) => `check-layers: ${p}`).join('\n') + '\n');
    process.exit(1);
  }
  process.stdout.write(`check-layers: ${LAYERS.length} layers, no upward import, no folder loop\n`);
}
