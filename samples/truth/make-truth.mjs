// Builds every variant listed in cases.json into a scratch directory, loads each one into
// its real destination QEMU with samples/qmp-save.py, and writes truth-table.json.
// Run through make-truth.sh (which builds dist/ first if needed).
//
// Usage: node samples/truth/make-truth.mjs --scratch DIR [--jobs N] [--trees DIR]
//                                          [--only SUBSTR] [--out FILE] [--timeout S]
//        node samples/truth/make-truth.mjs --summary-only
// --only runs the matching cases and prints them; it never writes the table.
// After writing the table (or with --summary-only, from the existing table) the summary
// between the markers in README.md is regenerated.
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { applyVariant } from './variants.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const SAMPLES = resolve(HERE, '..');
const QMP_SAVE = join(SAMPLES, 'qmp-save.py');

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const README = join(HERE, 'README.md');
const START = '<!-- summary:start -->';
const END = '<!-- summary:end -->';

/** The README summary: one line per case, one column per destination QEMU version. */
function summary(table) {
  const versions = ['7.2', '10.0', '11.1'];
  const lines = new Map();
  for (const r of table.rows) {
    const cpu = r.id.split('/')[1];
    const key = `${cpu} · ${r.case}`;
    if (!lines.has(key)) lines.set(key, { cells: {}, title: r.title });
    const cell = r.result === 'crash' ? '**crash**' : r.result;
    const line = lines.get(key);
    line.cells[r.dest.qemu] = line.cells[r.dest.qemu] ? `${line.cells[r.dest.qemu]}, ${cell}` : cell;
  }
  const esc = (t) => t.replace(/\|/g, '\\|');
  const out = ['| destination -cpu · case | 7.2 | 10.0 | 11.1 | what |', '|---|---|---|---|---|'];
  for (const [key, { cells, title }] of lines) {
    out.push(`| \`${key}\` | ${versions.map((v) => cells[v] ?? '—').join(' | ')} | ${esc(title)} |`);
  }
  const n = (q, res) => table.rows.filter((r) => r.dest.qemu === q && r.result === res).length;
  out.push('');
  out.push(`${table.rows.length} rows. ` + versions.map((q) => `QEMU ${q}: ${n(q, 'accept')} accept, ${n(q, 'reject')} reject, ${n(q, 'crash')} crash`).join('; ') + '.');
  return out.join('\n');
}

function writeSummary(table) {
  let text;
  try {
    text = readFileSync(README, 'utf8');
  } catch {
    return;
  }
  const a = text.indexOf(START);
  const b = text.indexOf(END);
  if (a < 0 || b < a) return;
  writeFileSync(README, text.slice(0, a + START.length) + '\n' + summary(table) + '\n' + text.slice(b));
  console.error(`make-truth: summary written to ${README}`);
}

if (args.includes('--summary-only')) {
  writeSummary(JSON.parse(readFileSync(opt('--out', join(HERE, 'truth-table.json')), 'utf8')));
  process.exit(0);
}

const scratch = opt('--scratch');
if (!scratch) {
  console.error('make-truth: --scratch DIR is required');
  process.exit(2);
}
const jobs = Math.max(1, Number(opt('--jobs', '2')));
const trees = opt('--trees', process.env.QEMU_TREES ?? '/work/qemu-trees');
const only = opt('--only');
const outFile = opt('--out', join(HERE, 'truth-table.json'));
const timeout = Number(opt('--timeout', '60'));

/** Where each destination QEMU lives. */
const QEMUS = {
  '7.2': { chroot: null },
  '10.0': { chroot: join(trees, 'trixie') },
  '11.1': { chroot: join(trees, 'sid') },
};

function qemuVersion(q) {
  const { chroot } = QEMUS[q];
  const argv = chroot ? ['chroot', chroot, 'qemu-system-aarch64', '--version'] : ['qemu-system-aarch64', '--version'];
  return execFileSync(argv[0], argv.slice(1), { encoding: 'utf8' }).split('\n')[0].trim();
}

/** QEMU's stderr lines without the program prefix, timestamps, scratch paths and start-up noise. */
function cleanStderr(lines, paths) {
  const out = [];
  for (let l of lines) {
    l = l.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z?\s+/, '');
    l = l.replace(/^(\S*\/)?qemu-system-aarch64: /, '');
    for (const p of paths) l = l.split(p).join('<stream>');
    l = l.replace(/\/tmp\/vmstate-qmp-[A-Za-z0-9_]+\//g, '<scratch>/');
    if (/^warning: Machine type '[^']+' is deprecated/.test(l)) continue;
    out.push(l);
  }
  return out;
}

/** accept | reject | crash (QEMU died from a signal or printed an assertion/allocation abort). */
function classify(r, stderr) {
  if (r.verdict === 'accept') return 'accept';
  if (r.verdict !== 'reject') return 'error';
  if (r.signal !== null && r.signal !== undefined) return 'crash';
  if (stderr.some((l) => /Assertion .* failed|failed to allocate|Aborted|core dumped/.test(l))) return 'crash';
  return 'reject';
}

function load(c, file) {
  const q = QEMUS[c.dest.qemu];
  const argv = [QMP_SAVE, 'load', '--json', '--timeout', String(timeout), '-M', c.dest.machine, '-c', c.dest.cpu, '-i', file];
  if (q.chroot) argv.splice(2, 0, '--chroot', q.chroot);
  return new Promise((res) => {
    const p = spawn('python3', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      try {
        res(JSON.parse(out));
      } catch {
        res({ verdict: 'error', signal: null, exit_code: null, stderr: [], reason: `qmp-save.py exited ${code}: ${err.trim()}` });
      }
    });
  });
}

async function pool(items, n, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i], i);
      }
    }),
  );
  return results;
}

const { cases } = JSON.parse(readFileSync(join(HERE, 'cases.json'), 'utf8'));
const ids = new Set();
for (const c of cases) {
  if (ids.has(c.id)) throw new Error(`duplicate case id ${c.id}`);
  ids.add(c.id);
}
const selected = only ? cases.filter((c) => c.id.includes(only)) : cases;
mkdirSync(scratch, { recursive: true });

const versions = {};
for (const q of new Set(selected.map((c) => c.dest.qemu))) versions[q] = qemuVersion(q);

// 1. variants (sequential: deterministic and cheap)
const built = [];
for (const [i, c] of selected.entries()) {
  const file = join(scratch, `${String(i).padStart(3, '0')}.mig`);
  const v = await applyVariant(join(SAMPLES, c.source), c.variant, file);
  built.push({ c, file, v });
}
console.error(`make-truth: ${built.length} variants in ${scratch}; loading with ${jobs} job(s)`);

// 2. loads
let done = 0;
const rows = await pool(built, jobs, async ({ c, file, v }) => {
  const r = await load(c, file);
  const stderr = cleanStderr(r.stderr ?? [], [file, resolve(file)]);
  const result = classify(r, stderr);
  done++;
  console.error(`[${done}/${built.length}] ${c.id} -> QEMU ${c.dest.qemu} -M ${c.dest.machine} -cpu ${c.dest.cpu}: ${result}`);
  return {
    id: c.id,
    case: c.case,
    title: c.title,
    source: c.source,
    variant: c.variant,
    dest: c.dest,
    destSample: c.destSample,
    result,
    exitCode: r.exit_code ?? null,
    signal: r.signal ?? null,
    stderr,
    ...(result === 'error' ? { reason: r.reason } : {}),
    variantCount: v.cpus[0]?.count ?? null,
    variantDigest: v.cpus[0]?.digest ?? null,
    variantSha256: v.sha256,
  };
});

const errors = rows.filter((r) => r.result === 'error');
for (const r of errors) console.error(`make-truth: ERROR ${r.id}: ${r.reason}`);
const tally = {};
for (const r of rows) tally[`${r.dest.qemu} ${r.result}`] = (tally[`${r.dest.qemu} ${r.result}`] ?? 0) + 1;
console.error('make-truth:', JSON.stringify(tally));

if (only) {
  for (const r of rows) console.log(JSON.stringify({ id: r.id, result: r.result, stderr: r.stderr }));
  process.exit(errors.length ? 1 : 0);
}
if (errors.length) {
  console.error('make-truth: not writing the table (harness errors above)');
  process.exit(1);
}
const table = {
  description:
    'Real QEMU load outcomes for the cases in cases.json. result: accept (incoming migration completed), reject (QEMU reported a failed load and exited), crash (QEMU died from a signal or aborted on an assertion/allocation failure while loading). stderr: QEMU\'s messages without the program prefix and without the machine-type deprecation warning.',
  qemu: versions,
  destination: '-m 64 -smp 2 -S -nodefaults -display none -incoming "exec:cat FILE", TCG',
  rows,
};
writeFileSync(outFile, JSON.stringify(table, null, 2) + '\n');
console.error(`make-truth: wrote ${rows.length} rows to ${outFile}`);
if (outFile === join(HERE, 'truth-table.json')) writeSummary(table);
