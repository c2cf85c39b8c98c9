#!/usr/bin/env node
// evaluate.mjs — what the tool says about the real-KVM table (samples/truth/kvm-table.json).
//
//   node samples/kvm/evaluate.mjs check      run `vmstate check` on every row (loader = the destination's
//                                            QEMU, as a user would choose it) and write
//                                            samples/kvm/check-vs-kvm.json: verdict and "QEMU would print"
//                                            lines against QEMU's real verdict and stderr
//   node samples/kvm/evaluate.mjs rewrites   for every row real KVM refused, run the rewrite the tool
//                                            suggests (`rewrite SRC --dest DEST --strip-unknown
//                                            --adopt-dest-values id-regs --strip-unknown-subsections
//                                            --loader L`) and write the rewritten streams to
//                                            CACHE/rewrites/ and their list to samples/kvm/rewrite-cases.json
//                                            (then `make-kvm.py rewrites` loads them in their real
//                                            destinations and `make-kvm.py collect` adds those rows)
// Options: --cache DIR (default $KVM_CACHE or /work/kvm-cache). Needs `npm run build` and `xz`.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const samples = join(root, 'samples');
const cli = join(root, 'dist', 'cli', 'main.js');
const args = process.argv.slice(2);
const mode = args[0];
const cache = args.includes('--cache') ? args[args.indexOf('--cache') + 1] : (process.env.KVM_CACHE ?? '/work/kvm-cache');
const LOADER = { '7.2': 'qemu-7.2', '10.0': 'qemu-10.0', '11.1': 'qemu-11.1' };
const table = JSON.parse(readFileSync(join(samples, 'truth', 'kvm-table.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'vmstate-kvm-eval-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const plain = new Map();
/** The uncompressed stream of a committed `kvm/…mig.xz` sample (or a cache path as is). */
function streamFile(p) {
  if (!p.endsWith('.xz')) return p;
  let f = plain.get(p);
  if (!f) {
    f = join(work, p.replace(/[/]/g, '__').replace(/\.xz$/, ''));
    writeFileSync(f, execFileSync('xz', ['-dc', join(samples, p)], { maxBuffer: 1 << 30 }));
    plain.set(p, f);
  }
  return f;
}

function run(argv) {
  const r = spawnSync(process.execPath, [cli, ...argv], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The lines after "QEMU would print:" in check's human output. */
function wouldPrint(text) {
  const lines = text.split('\n');
  const i = lines.indexOf('QEMU would print:');
  if (i < 0) return [];
  const out = [];
  for (const l of lines.slice(i + 1)) {
    if (!l.startsWith('  ')) break;
    out.push(l.slice(2));
  }
  return out;
}

function checkRow(row, extra = []) {
  const src = row.phase === 'rewrites' ? join(cache, 'rewrites', basename(row.variant.file)) : streamFile(row.source);
  const dest = streamFile(row.destSample);
  const loader = LOADER[row.dest.qemu];
  const base = ['check', src, '--dest', dest, '--loader', loader, ...extra];
  const j = run([...base, '--json']);
  const t = run(base);
  let rep = null;
  try {
    rep = JSON.parse(j.stdout);
  } catch {
    return { error: (j.stderr || j.stdout).trim().split('\n')[0] };
  }
  const predicted = wouldPrint(t.stdout);
  // QEMU's lines minus the per-register warnings the checker does not list one by one
  const real = row.stderr;
  const realCrash = row.result === 'crash';
  return {
    verdict: rep.verdict,
    agrees: rep.verdict === (row.result === 'accept' ? 'accept' : 'reject') || (realCrash && rep.verdict === 'reject'),
    linesEqual: JSON.stringify(predicted) === JSON.stringify(real),
    lastLineEqual: (predicted.at(-1) ?? null) === (real.at(-1) ?? null),
    wouldPrint: predicted,
    reasons: rep.cpus
      .flatMap((c) => c.anomalies.filter((a) => a.fatal).map((a) => `${a.kind} ${a.name ?? a.id}`))
      .filter((v, i, a) => a.indexOf(v) === i)
      .slice(0, 12),
    accel: rep.accel,
    loaderUsed: rep.loader,
  };
}

if (mode === 'check') {
  const out = [];
  for (const row of table.rows) {
    const plainRes = checkRow(row);
    const res = { id: row.id, phase: row.phase, result: row.result, stderr: row.stderr, check: plainRes };
    if (row.dest.qemu === '11.1') res.checkWithPreset = checkRow(row, ['--preset', 'qemu-11.1-host']);
    out.push(res);
    process.stderr.write(`${row.result.padEnd(7)} ${String(plainRes.verdict).padEnd(7)} ${plainRes.agrees ? ' ' : 'X'} ${row.id}\n`);
  }
  const p = join(here, 'check-vs-kvm.json');
  writeFileSync(p + '.part', JSON.stringify({ description: 'vmstate check (loader = the destination QEMU) on every row of samples/truth/kvm-table.json; 11.1 rows also with --preset qemu-11.1-host', rows: out }, null, 1) + '\n');
  renameSync(p + '.part', p);
  const n = out.length;
  const agree = out.filter((r) => r.check.agrees).length;
  const lines = out.filter((r) => r.check.linesEqual).length;
  console.log(`${n} rows: verdict agrees on ${agree}, "QEMU would print" equals QEMU's lines on ${lines}`);
} else if (mode === 'rewrites') {
  const dir = join(cache, 'rewrites');
  mkdirSync(dir, { recursive: true });
  const seen = new Set();
  const cases = [];
  for (const row of table.rows) {
    if (row.phase === 'rewrites' || row.result === 'accept') continue;
    const key = `${row.source} ${row.destSample} ${row.dest.machine}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const loader = LOADER[row.dest.qemu];
    const id = `rewrite/${row.id}`;
    const file = join(dir, id.replace(/[/]/g, '__') + '.mig');
    const flags = ['--strip-unknown', '--adopt-dest-values', 'id-regs', '--strip-unknown-subsections', '--loader', loader];
    rmSync(file, { force: true });
    const r = run(['rewrite', streamFile(row.source), '-o', file, '--dest', streamFile(row.destSample), ...flags, '--json']);
    let rep = null;
    try {
      rep = JSON.parse(r.stdout);
    } catch {
      rep = null;
    }
    const written = r.status === 0 && existsSync(file);
    const c = {
      id,
      case: `${row.case} rewritten for ${row.dest.l1}`,
      title: `${row.title}, after \`rewrite ${flags.join(' ')}\``,
      source: row.source,
      variant: { rewriteOf: row.id, flags, file: basename(file), toolExit: r.status, predicted: written ? 'accept' : 'reject', toolMessage: written ? null : (r.stderr || r.stdout).trim().split('\n').slice(0, 6) , edits: rep?.changes ?? rep?.summary ?? null },
      dest: { ...row.dest, combo: `${{ '6.1': 'bookworm', '6.12': 'trixie', '7.2': 'sid' }[row.dest.kernel]}_${{ '7.2': 'bookworm', '10.0': 'trixie', '11.1': 'sid' }[row.dest.qemu]}` },
      destSample: row.destSample,
      file: written ? file : null,
      sha256: written ? createHash('sha256').update(readFileSync(file)).digest('hex') : null,
    };
    cases.push(c);
    process.stderr.write(`${c.variant.predicted.padEnd(7)} ${id}\n`);
  }
  const p = join(here, 'rewrite-cases.json');
  writeFileSync(p, JSON.stringify({ description: 'rewrites the tool suggests for the real-KVM failures; make-kvm.py rewrites loads the written ones', cases: cases.map((c) => ({ ...c, file: c.file ? basename(c.file) : null })) }, null, 1) + '\n');
  console.log(`${cases.length} failing rows: the tool writes ${cases.filter((c) => c.file).length} (predicts accept), refuses ${cases.filter((c) => !c.file).length}`);
} else {
  console.error('usage: evaluate.mjs check|rewrites [--cache DIR]');
  process.exit(2);
}
