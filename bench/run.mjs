#!/usr/bin/env node
// vmstate benchmark: every figure of the performance targets in one run, on real QEMU 10.0
// streams of 1 GiB and 4 GiB of random guest RAM (and an 8 GiB guest saved with mapped-ram),
// against `cat`, `cp` and QEMU's analyser on the same files, on ext4 and on an XFS (reflink)
// loop image made for the run. See bench/README.md.
//
//   npm run bench                      (builds first)
//   node bench/run.mjs [--runs N] [--only NAME[,NAME…]] [--sizes 1024,4096] [--no-xfs] [--out FILE]
//
// Environment: VMSTATE_BENCH_DIR — cache of the streams and scratch space for the outputs
// (default /var/tmp/vmstate-bench; outside the repository, on the disk to measure). Missing
// streams are made with samples/make-1g.sh in VMSTATE_BENCH_CHROOT (a Debian trixie tree with
// QEMU 10.0; default /work/qemu-trees/trixie). ANALYZER — QEMU's scripts/analyze-migration.py
// (one that reads 10.0 streams); without it the analyser ratios are left out.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const CLI = join(ROOT, 'dist/cli/main.js');
const TIME = '/usr/bin/time';

// ---------------------------------------------------------------------------------------------
// Options

function parseArgs(argv) {
  const o = { runs: 3, only: null, sizes: [1024, 4096], out: join(HERE, 'results.json'), xfs: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--runs') o.runs = Number(val());
    else if (a === '--only') o.only = val().split(',');
    else if (a === '--sizes') o.sizes = val().split(',').map(Number);
    else if (a === '--out') o.out = resolve(val());
    else if (a === '--no-xfs') o.xfs = false;
    else if (a === '-h' || a === '--help') {
      process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 14).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs must be a positive integer');
  for (const s of o.sizes) if (!Number.isInteger(s) || s < 1 || s > 16384) throw new Error(`bad size ${s} (MiB, 1..16384)`);
  o.sizes.sort((a, b) => a - b);
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const DIR = resolve(process.env.VMSTATE_BENCH_DIR || '/var/tmp/vmstate-bench');
if ((DIR + '/').startsWith(ROOT + '/')) throw new Error(`VMSTATE_BENCH_DIR (${DIR}) must be outside the repository`);
mkdirSync(DIR, { recursive: true });
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm run bench does)`);
const TREE = process.env.VMSTATE_BENCH_CHROOT || '/work/qemu-trees/trixie';
const ANALYZER = process.env.ANALYZER && existsSync(process.env.ANALYZER) ? process.env.ANALYZER : null;

const log = (s) => process.stderr.write(s + '\n');
const want = (name) => !opts.only || opts.only.some((o) => name.includes(o));

// ---------------------------------------------------------------------------------------------
// Streams

function isStream(path) {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.toString('latin1') === 'QEVM';
  } finally {
    closeSync(fd);
  }
}

/** A cached stream made by samples/make-1g.sh with QEMU 10.0 (the analyser reads 10.x streams, not 7.2 ones). */
function ensure(name, args) {
  const path = join(DIR, name);
  if (existsSync(path) && isStream(path)) return path;
  if (!existsSync(TREE)) throw new Error(`${path} is missing and VMSTATE_BENCH_CHROOT (${TREE}) is not there to make it`);
  log(`making ${path} (QEMU 10.0 in ${TREE}: ${args.join(' ')}) ...`);
  const r = spawnSync('bash', [join(ROOT, 'samples/make-1g.sh'), path, ...args, '--seed', '1', '--chroot', TREE], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0 || !isStream(path)) throw new Error(`samples/make-1g.sh failed for ${name}`);
  return path;
}

const streamOf = (mib) => ensure(`qemu-10.0-virt-max-${mib}m-seed1.mig`, ['--size-mib', String(mib)]);
const sparseStream = () => ensure('qemu-10.0-virt-max-8192m-ram-1024m-seed1.mapped-ram.mig', ['--size-mib', '1024', '--mem-mib', '8192', '--mapped-ram']);

const allocated = (p) => statSync(p).blocks * 512;

// ---------------------------------------------------------------------------------------------
// Measuring one run

/** Runs `argv` (stdin from nothing, stdout to a file or discarded); wall seconds, CPU and peak RSS of argv's process. */
async function measure({ argv, stdoutFile = null }) {
  const tfile = join(DIR, `.time-${process.pid}`);
  rmSync(tfile, { force: true });
  // Standard output discarded into /dev/null (a closed one is an error to vmstate).
  const outFd = openSync(stdoutFile ?? '/dev/null', 'w');
  const full = [TIME, '-f', '%M %U %S', '-o', tfile, ...argv];
  const t0 = process.hrtime.bigint();
  const child = spawn(full[0], full.slice(1), { stdio: ['ignore', outFd, 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const status = await new Promise((res) => child.on('close', (code, sig) => res(code ?? sig)));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  closeSync(outFd);
  const lines = readFileSync(tfile, 'utf8').trim().split('\n');
  const [m, u, s] = lines[lines.length - 1].split(' ').map(Number);
  rmSync(tfile, { force: true });
  if (status !== 0) throw new Error(`${argv.join(' ')} exited with ${status}: ${stderr.slice(-2000)}`);
  return { wall, rssMiB: m / 1024, cpu: u + s };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Writes back dirty pages so one run's writeback does not land in the next run's time. */
const settle = () => spawnSync('sync');

async function runOnce(c) {
  for (const p of c.clean ?? []) rmSync(p, { force: true });
  settle();
  const m = await measure(c);
  for (const p of c.clean ?? []) rmSync(p, { force: true });
  return m;
}

/** Every case `runs` times, round-robin (a change in the machine's load spreads over all cases); summaries by name. */
async function benchAll(cases, runs = opts.runs) {
  const got = cases.map(() => []);
  for (let i = 0; i < runs; i++) for (const [k, c] of cases.entries()) got[k].push(await runOnce(c));
  const out = {};
  for (const [k, c] of cases.entries()) {
    const r = { name: c.name, wall: median(got[k].map((x) => x.wall)), cpu: median(got[k].map((x) => x.cpu)), rssMiB: Math.max(...got[k].map((x) => x.rssMiB)), runs: got[k] };
    log(`  ${c.name.padEnd(40)} ${r.wall.toFixed(3).padStart(8)} s  cpu ${r.cpu.toFixed(2)} s  ${r.rssMiB.toFixed(1).padStart(7)} MiB`);
    out[c.name] = r;
  }
  return out;
}

const node = (args) => [process.execPath, CLI, ...args];
const sh = (script, ...args) => ['bash', '-c', `set -o pipefail; ${script}`, ...args];

function same(a, b, what) {
  if (spawnSync('cmp', ['-s', a, b]).status !== 0) throw new Error(`${what}: ${a} and ${b} differ`);
}

// ---------------------------------------------------------------------------------------------
// The cases

/** One stream size: references, the commands, the analyser, bytes read, and the outputs checked. */
async function sizeCases(mib) {
  const input = streamOf(mib);
  const out = join(DIR, `out-${mib}m.mig`);
  const bytes = statSync(input).size;
  log(`\n${mib} MiB of guest RAM: ${input} (${bytes} bytes); page cache warmed; ${opts.runs} rounds`);
  spawnSync('sh', ['-c', `cat "${input}" > /dev/null`]);

  // The outputs, checked once (not timed): unedited = the input; the clone and the whole walk agree.
  const checks = {};
  if (want('rewrite')) {
    const full = join(DIR, `out-${mib}m.full.mig`);
    for (const [p, extra] of [[out, []], [full, ['--full-walk']]]) {
      const r = spawnSync(process.execPath, [CLI, 'rewrite', input, '-o', p, '--strip', 'TPIDR_EL0', '-q', ...extra]);
      if (r.status !== 0) throw new Error(`rewrite ${extra.join(' ')}: ${r.stderr}`);
    }
    same(out, full, 'rewrite --strip cloned vs --full-walk');
    checks.stripIdenticalToFullWalk = true;
    checks.stripShorterBy = bytes - statSync(out).size;
    rmSync(full);
    const r = spawnSync(process.execPath, [CLI, 'rewrite', input, '-o', out, '-q']);
    if (r.status !== 0) throw new Error(`rewrite: ${r.stderr}`);
    same(input, out, 'unedited rewrite');
    checks.uneditedIdentical = true;
    rmSync(out);
  }
  const br = JSON.parse(spawnSync(process.execPath, [join(HERE, 'bytes-read.mjs'), input], { encoding: 'utf8' }).stdout);

  const cases = [
    { name: 'cat FILE > /dev/null', argv: ['cat', input] },
    { name: 'cat file→file', argv: ['cat', input], stdoutFile: out, clean: [out] },
    { name: 'cp', argv: ['cp', input, out], clean: [out] },
    { name: 'cp && sync', argv: sh('cp "$0" "$1" && sync -- "$1"', input, out), clean: [out] },
    { name: 'cat | cat > file', argv: sh('cat "$0" | cat > "$1"', input, out), clean: [out] },
    { name: 'cat | cat > file && sync', argv: sh('cat "$0" | cat > "$1" && sync -- "$1"', input, out), clean: [out] },
    { name: 'inspect', argv: node(['inspect', input]) },
    { name: 'regs', argv: node(['regs', input]) },
    { name: 'check --dest (itself)', argv: node(['check', input, '--dest', input]) },
    { name: 'verify', argv: node(['verify', input]) },
    { name: 'inspect --ram', argv: node(['inspect', input, '--ram']) },
    { name: 'rewrite --strip file→file', argv: node(['rewrite', input, '-o', out, '--strip', 'TPIDR_EL0']), clean: [out] },
    { name: 'rewrite --strip --full-walk file→file', argv: node(['rewrite', input, '-o', out, '--strip', 'TPIDR_EL0', '--full-walk']), clean: [out] },
    { name: 'rewrite --strip pipe→file', argv: sh('cat "$0" | "$@"', input, ...node(['rewrite', '-', '-o', out, '--strip', 'TPIDR_EL0'])), clean: [out] },
  ].filter((c) => want(c.name));
  const results = await benchAll(cases);
  let analyser = null;
  if (ANALYZER && want('analyser')) {
    log(`  QEMU's analyser (-d state), once`);
    analyser = (await benchAll([{ name: 'analyze-migration.py -d state', argv: ['python3', ANALYZER, '-d', 'state', '-f', input] }], 1))['analyze-migration.py -d state'];
  }
  return { mib, path: input, bytes, bytesRead: br, checks, results, analyser };
}

/** Start-up: `vmstate --version` next to `node -e ''`. */
async function startupCases() {
  if (!want('startup')) return null;
  log(`\nstart-up, ${opts.runs * 3} rounds`);
  return benchAll([
    { name: "node -e ''", argv: [process.execPath, '-e', ''] },
    { name: 'vmstate --version', argv: node(['--version']) },
  ], opts.runs * 3);
}

/** The 8 GiB guest saved with mapped-ram (1 GiB of data, the rest holes): clone, whole walk, du. */
async function sparseCases() {
  if (!want('sparse')) return null;
  const input = sparseStream();
  const out = join(DIR, 'out-sparse.mig');
  log(`\nmapped-ram, 8 GiB guest with 1 GiB of data: ${input} (${statSync(input).size} bytes, ${allocated(input)} allocated)`);
  spawnSync('sh', ['-c', `cat "${input}" > /dev/null`]);
  const full = join(DIR, 'out-sparse.full.mig');
  const r1 = spawnSync(process.execPath, [CLI, 'rewrite', input, '-o', out, '--strip', 'TPIDR_EL0', '-q']);
  const r2 = spawnSync(process.execPath, [CLI, 'rewrite', input, '-o', full, '--strip', 'TPIDR_EL0', '-q', '--full-walk']);
  if (r1.status || r2.status) throw new Error(`sparse rewrite: ${r1.stderr}${r2.stderr}`);
  same(out, full, 'sparse rewrite cloned vs --full-walk');
  const du = { input: allocated(input), clone: allocated(out), fullWalk: allocated(full), bytes: statSync(input).size };
  rmSync(out);
  rmSync(full);
  const results = await benchAll([
    { name: 'cp (sparse)', argv: ['cp', input, out], clean: [out] },
    { name: 'cp && sync (sparse)', argv: sh('cp "$0" "$1" && sync -- "$1"', input, out), clean: [out] },
    { name: 'inspect (mapped-ram)', argv: node(['inspect', input]) },
    { name: 'verify (mapped-ram)', argv: node(['verify', input]) },
    { name: 'rewrite --strip (mapped-ram)', argv: node(['rewrite', input, '-o', out, '--strip', 'TPIDR_EL0']), clean: [out] },
  ]);
  return { path: input, du, results };
}

/** The largest stream on an XFS file system with reflink, in a loop image made for the run. */
async function xfsCases(mib) {
  if (!opts.xfs || !want('xfs')) return null;
  const why = process.getuid?.() !== 0 ? 'not root' : !existsSync('/usr/sbin/mkfs.xfs') && !existsSync('/sbin/mkfs.xfs') ? 'no mkfs.xfs (xfsprogs)' : null;
  if (why) {
    log(`\nXFS skipped: ${why}`);
    return { skipped: why };
  }
  const src = streamOf(mib);
  const img = join(DIR, 'xfs.img');
  const mnt = join(DIR, 'xfs');
  const size = statSync(src).size;
  mkdirSync(mnt, { recursive: true });
  // Room for the input, a full copy (the whole walk's output) and metadata.
  spawnSync('truncate', ['-s', String(Math.ceil((size * 2.5) / 2 ** 30) + 1) + 'G', img]);
  const run = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  };
  run('mkfs.xfs', ['-q', '-f', '-m', 'reflink=1', img]);
  run('mount', ['-o', 'loop', img, mnt]);
  try {
    const input = join(mnt, 'in.mig');
    const out = join(mnt, 'out.mig');
    log(`\nXFS (reflink=1) loop image ${img} on ${mnt}: ${mib} MiB stream copied in`);
    run('cp', ['--reflink=never', src, input]);
    settle();
    spawnSync('sh', ['-c', `cat "${input}" > /dev/null`]);
    const full = join(mnt, 'out.full.mig');
    run(process.execPath, [CLI, 'rewrite', input, '-o', out, '--strip', 'TPIDR_EL0', '-q']);
    run(process.execPath, [CLI, 'rewrite', input, '-o', full, '--strip', 'TPIDR_EL0', '-q', '--full-walk']);
    same(out, full, 'XFS rewrite cloned vs --full-walk');
    const shared = spawnSync('filefrag', ['-v', out], { encoding: 'utf8' }).stdout.includes('shared');
    rmSync(out);
    rmSync(full);
    const results = await benchAll([
      { name: 'vmstate --version (XFS)', argv: node(['--version']) },
      { name: 'cp --reflink=always (XFS)', argv: ['cp', '--reflink=always', input, out], clean: [out] },
      { name: 'rewrite --strip file→file (XFS)', argv: node(['rewrite', input, '-o', out, '--strip', 'TPIDR_EL0']), clean: [out] },
    ]);
    return { mib, bytes: size, sharedExtents: shared, identicalToFullWalk: true, results };
  } finally {
    spawnSync('umount', [mnt]);
    rmSync(img, { force: true });
    rmSync(mnt, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Report

const render = (h, rs) => {
  const w = h.map((x, i) => Math.max(x.length, ...rs.map((r) => String(r[i]).length)));
  const line = (r) => '| ' + r.map((c, i) => String(c).padEnd(w[i])).join(' | ') + ' |';
  return [line(h), '|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|', ...rs.map(line)].join('\n');
};
const f3 = (x) => (Number.isFinite(x) ? x.toFixed(3) : '-');
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : '-');
const yes = (b) => (b === null || b === undefined ? '' : b ? 'yes' : 'NO');

function report(sizes, startup, sparse, xfs) {
  const small = sizes[0];
  const big = sizes[sizes.length - 1];
  const t = (s, name) => s.results[name]?.wall;
  const goals = [];
  const goal = (what, value, target, met) => goals.push([what, value, target, yes(met)]);
  let text = `Streams: ${sizes.map((s) => `${s.mib} MiB of random guest RAM = ${s.bytes.toLocaleString('en')} bytes`).join('; ')}, saved by QEMU 10.0. Times are medians of ${opts.runs} runs (wall s); RSS is the peak over the runs (MiB).\n\n`;
  const names = Object.keys(big.results);
  text += render(['command', ...sizes.flatMap((s) => [`${s.mib} MiB s`, `${s.mib} MiB RSS`]), 'CPU s (largest)'], names.map((n) => [n, ...sizes.flatMap((s) => [f3(t(s, n)), s.results[n] ? s.results[n].rssMiB.toFixed(1) : '-']), f2(big.results[n].cpu)]));
  if (big.analyser) text += `\n\nQEMU's analyser (-d state, one run): ${sizes.map((s) => `${s.mib} MiB ${f3(s.analyser?.wall)} s`).join(', ')}`;
  text += `\n\nBytes read by the decode (counted in the process): ${sizes.map((s) => `${s.mib} MiB: tail-first ${s.bytesRead.tailFirst.bytes.toLocaleString('en')} (${s.bytesRead.tailFirst.mode}), whole ${s.bytesRead.whole.bytes.toLocaleString('en')}`).join('; ')}`;

  // 1. Device-state commands: flat in the stream's size, far below the analyser, little read.
  for (const n of ['inspect', 'regs', 'check --dest (itself)']) {
    if (!big.results[n]) continue;
    if (small !== big) goal(`${n}: time(${big.mib}) ÷ time(${small.mib})`, f2(t(big, n) / t(small, n)), '≤ 1.1', t(big, n) / t(small, n) <= 1.1);
    for (const s of sizes) if (s.analyser) goal(`${n} ÷ analyser, ${s.mib} MiB`, f3(t(s, n) / s.analyser.wall), '≤ 0.1', t(s, n) / s.analyser.wall <= 0.1);
  }
  for (const s of sizes) goal(`bytes read tail-first, ${s.mib} MiB`, s.bytesRead.tailFirst.bytes.toLocaleString('en'), '≤ 4 MiB', s.bytesRead.tailFirst.bytes <= 4 << 20);
  // 2. rewrite file→file against cp (and cp && sync: the rewrite syncs its output).
  for (const s of sizes) {
    const r = t(s, 'rewrite --strip file→file');
    if (r === undefined) continue;
    goal(`rewrite --strip ÷ cp, ${s.mib} MiB`, f2(r / t(s, 'cp')), '≤ 1.1', r / t(s, 'cp') <= 1.1);
    goal(`rewrite --strip ÷ (cp && sync), ${s.mib} MiB`, f2(r / t(s, 'cp && sync')), '≤ 1.1', r / t(s, 'cp && sync') <= 1.1);
    goal(`rewrite --strip = --full-walk output, ${s.mib} MiB`, s.checks.stripIdenticalToFullWalk ? 'identical' : '-', 'identical', !!s.checks.stripIdenticalToFullWalk);
  }
  if (xfs && !xfs.skipped) {
    const above = xfs.results['rewrite --strip file→file (XFS)'].wall - xfs.results['vmstate --version (XFS)'].wall;
    goal(`XFS: rewrite --strip ${xfs.mib} MiB − start-up`, `${f3(above)} s`, '≤ 0.2 s', above <= 0.2);
  } else if (xfs?.skipped) goal('XFS reflink', `skipped: ${xfs.skipped}`, '≤ 0.2 s', false);
  if (sparse) goal('mapped-ram rewrite keeps holes: allocated out ÷ in', `${f2(sparse.du.clone / sparse.du.input)} (whole walk ${f2(sparse.du.fullWalk / sparse.du.input)})`, '≤ 1', sparse.du.clone <= sparse.du.input && sparse.du.fullWalk <= sparse.du.input);
  // 3. verify per GiB against cat > /dev/null per GiB; pipe rewrite against cat | cat; RSS.
  if (small !== big && big.results.verify) {
    const per = (t(big, 'verify') - t(small, 'verify')) / (t(big, 'cat FILE > /dev/null') - t(small, 'cat FILE > /dev/null'));
    goal(`verify per GiB ÷ cat > /dev/null per GiB (${small.mib}→${big.mib} MiB)`, f2(per), '≤ 2.5', per <= 2.5);
  }
  for (const s of sizes) {
    const p = t(s, 'rewrite --strip pipe→file');
    if (p === undefined) continue;
    goal(`pipe rewrite ÷ cat | cat > file, ${s.mib} MiB`, f2(p / t(s, 'cat | cat > file')), '≤ 1.5', p / t(s, 'cat | cat > file') <= 1.5);
    goal(`pipe rewrite ÷ (cat | cat > file && sync), ${s.mib} MiB`, f2(p / t(s, 'cat | cat > file && sync')), '≤ 1.5', p / t(s, 'cat | cat > file && sync') <= 1.5);
  }
  const ours = (s) => Object.values(s.results).filter((r) => !/^(cat|cp)/.test(r.name));
  const rss = Math.max(...sizes.flatMap((s) => ours(s).map((r) => r.rssMiB)));
  goal('peak RSS of every vmstate case', `${rss.toFixed(1)} MiB`, '≤ 100 MiB', rss <= 100);
  if (small !== big) {
    const growth = Math.max(...ours(big).map((r) => r.rssMiB / (small.results[r.name]?.rssMiB ?? r.rssMiB)));
    goal(`RSS ${big.mib} ÷ ${small.mib} MiB (largest of the cases)`, f2(growth), '≤ 1.1 (flat)', growth <= 1.1);
  }
  // 6. Start-up.
  if (startup) {
    const d = startup['vmstate --version'].wall - startup["node -e ''"].wall;
    goal("vmstate --version − node -e ''", `${f3(d)} s (${f3(startup['vmstate --version'].wall)} vs ${f3(startup["node -e ''"].wall)})`, '< 0.1 s', d < 0.1);
  }
  if (sparse) {
    text += `\n\nmapped-ram, 8 GiB guest (1 GiB of data): ${sparse.du.bytes.toLocaleString('en')} bytes, ${sparse.du.input.toLocaleString('en')} allocated; rewrite --strip output ${sparse.du.clone.toLocaleString('en')} allocated (cloned), ${sparse.du.fullWalk.toLocaleString('en')} (--full-walk)\n\n`;
    text += render(['command', 'median s', 'RSS MiB'], Object.values(sparse.results).map((r) => [r.name, f3(r.wall), r.rssMiB.toFixed(1)]));
  }
  if (xfs && !xfs.skipped) {
    text += `\n\nXFS (reflink) loop image, ${xfs.mib} MiB stream; output extents shared with the input: ${xfs.sharedExtents ? 'yes' : 'no'}\n\n`;
    text += render(['command', 'median s', 'RSS MiB'], Object.values(xfs.results).map((r) => [r.name, f3(r.wall), r.rssMiB.toFixed(1)]));
  }
  if (startup) text += '\n\n' + render(['start-up', 'median s', 'CPU s', 'RSS MiB'], Object.values(startup).map((r) => [r.name, f3(r.wall), f2(r.cpu), r.rssMiB.toFixed(1)]));
  text += '\n\n' + render(['target', 'measured', 'goal', 'met'], goals);
  return { text, goals: goals.map(([what, value, target, met]) => ({ what, value, target, met: met === 'yes' })) };
}

function machine() {
  const c = cpus();
  const df = spawnSync('df', ['-hT', DIR], { encoding: 'utf8' }).stdout.trim().split('\n').pop()?.split(/\s+/) ?? [];
  return {
    cpus: c.length,
    cpuModel: c[0]?.model ?? 'unknown',
    memGiB: +(totalmem() / 2 ** 30).toFixed(1),
    kernel: release(),
    node: process.version,
    benchDir: DIR,
    filesystem: df.length >= 2 ? `${df[0]} (${df[1]})` : 'unknown',
    loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '),
  };
}

// ---------------------------------------------------------------------------------------------

if (!existsSync(TIME)) throw new Error(`${TIME} is needed (Debian package 'time')`);
const started = new Date();
const mach = machine();
log(`vmstate bench — ${mach.cpus} × ${mach.cpuModel}, node ${mach.node}, scratch ${DIR} on ${mach.filesystem}; analyser: ${ANALYZER ?? 'none (set ANALYZER)'}`);
const sizes = [];
for (const mib of opts.sizes) sizes.push(await sizeCases(mib));
const startup = await startupCases();
const sparse = await sparseCases();
const xfs = await xfsCases(opts.sizes[opts.sizes.length - 1]);
const { text, goals } = report(sizes, startup, sparse, xfs);
process.stdout.write('\n' + text + '\n');
writeFileSync(
  opts.out,
  JSON.stringify({ date: started.toISOString(), machine: { ...mach, loadavgAfter: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') }, runs: opts.runs, analyser: ANALYZER, sizes, startup, sparse, xfs, goals, table: text }, null, 2) + '\n',
);
log(`\nwrote ${opts.out}`);
