#!/usr/bin/env node
// vmstate benchmark: wall time and peak RSS of the CLI on real QEMU 7.2 streams of 64 MiB and
// 1 GiB of guest RAM, against `cat` as the physical reference, plus the matcher on synthetic
// register lists and, where available, `inspect` against QEMU's analyser. See bench/README.md.
//
//   npm run bench                      (builds first)
//   node bench/run.mjs [--runs N] [--only NAME[,NAME…]] [--sizes 64,1024] [--out FILE]
//
// Environment: VMSTATE_BENCH_DIR — cache of the generated streams and scratch space for the
// outputs (default /var/tmp/vmstate-bench; it must be outside the repository and on the disk
// you want to measure). Streams are made once with samples/make-1g.sh and reused.
// ANALYZER — QEMU's scripts/analyze-migration.py; with VMSTATE_BENCH_CHROOT (a Debian trixie
// tree, QEMU 10.0) or a cached qemu-10.0 stream, inspect is also timed against it.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const CLI = join(ROOT, 'dist/cli/main.js');
const TIME = '/usr/bin/time';

// ---------------------------------------------------------------------------------------------
// Options

function parseArgs(argv) {
  const o = { runs: 5, only: null, sizes: [64, 1024], out: join(HERE, 'results.json') };
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
    else if (a === '-h' || a === '--help') {
      process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').slice(1, 11).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n');
      process.exit(0);
    } else throw new Error(`unknown option ${a}`);
  }
  if (!Number.isInteger(o.runs) || o.runs < 1) throw new Error('--runs must be a positive integer');
  for (const s of o.sizes) if (!Number.isInteger(s) || s < 1 || s > 1920) throw new Error(`bad size ${s} (MiB, 1..1920)`);
  return o;
}

const opts = parseArgs(process.argv.slice(2));
const DIR = resolve(process.env.VMSTATE_BENCH_DIR || '/var/tmp/vmstate-bench');
if ((DIR + '/').startsWith(ROOT + '/')) throw new Error(`VMSTATE_BENCH_DIR (${DIR}) must be outside the repository`);
mkdirSync(DIR, { recursive: true });
if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first (npm run bench does)`);

const log = (s) => process.stderr.write(s + '\n');

// ---------------------------------------------------------------------------------------------
// Streams

/** A cached stream of `mib` MiB of random guest RAM, made with samples/make-1g.sh if missing. */
function ensureStream(mib) {
  const path = join(DIR, `qemu-7.2-virt-max-${mib}m-seed1.mig`);
  if (existsSync(path) && isStream(path) && statSync(path).size > mib * 1048576) return path;
  log(`making ${path} (QEMU 7.2, ${mib} MiB of random guest RAM) ...`);
  const r = spawnSync('bash', [join(ROOT, 'samples/make-1g.sh'), path, '--size-mib', String(mib), '--seed', '1'], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0 || !isStream(path)) throw new Error(`samples/make-1g.sh failed for ${mib} MiB (is QEMU 7.2 installed?)`);
  return path;
}

/**
 * The 1 GiB stream saved by QEMU 10.0 (QEMU's analyser reads 10.x streams, not 7.2 ones): cached,
 * or made in the VMSTATE_BENCH_CHROOT tree; null when neither.
 */
function ensureStream10() {
  const path = join(DIR, 'qemu-10.0-virt-max-1024m-seed1.mig');
  if (existsSync(path) && isStream(path)) return path;
  const tree = process.env.VMSTATE_BENCH_CHROOT;
  if (!tree) return null;
  log(`making ${path} (QEMU 10.0 in ${tree}) ...`);
  const r = spawnSync('bash', [join(ROOT, 'samples/make-1g.sh'), path, '--size-mib', '1024', '--seed', '1', '--chroot', tree], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (r.status !== 0 || !isStream(path)) throw new Error(`samples/make-1g.sh --chroot ${tree} failed`);
  return path;
}

function isStream(path) {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(4);
    return readSync(fd, b, 0, 4, 0) === 4 && b.toString('latin1') === 'QEVM';
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Measuring one run

const HAVE_TIME = existsSync(TIME);
if (!HAVE_TIME) log(`note: ${TIME} not found (package 'time'); peak RSS is polled from /proc/PID/status VmHWM instead`);

/**
 * Runs `argv` (stdin from a file, from `cat FILE` through a shell pipe as a user would type it,
 * or nothing; stdout to a file or discarded), returns { wall seconds, rss MiB of argv's process }.
 */
async function measure({ argv, stdinFile = null, pipeFrom = null, stdoutFile = null }) {
  const tfile = join(DIR, `.time-${process.pid}`);
  rmSync(tfile, { force: true });
  const outFd = stdoutFile ? openSync(stdoutFile, 'w') : 'ignore';
  const inFd = stdinFile ? openSync(stdinFile, 'r') : 'ignore';
  let full = HAVE_TIME ? [TIME, '-f', '%M %U %S', '-o', tfile, ...argv] : argv;
  // A real pipe made by the shell (Node's own 'pipe' stdio would be a socket pair).
  if (pipeFrom) full = ['bash', '-c', 'set -o pipefail; cat "$0" | "$@"', pipeFrom, ...full];
  const t0 = process.hrtime.bigint();
  const child = spawn(full[0], full.slice(1), { stdio: [inFd, outFd, 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  let hwm = 0;
  let cpu = NaN;
  // Without /usr/bin/time: poll the peak RSS of the measured process (for a pipe, bash's last child).
  const measured = () => (pipeFrom ? lastChild(child.pid) : child.pid);
  const poll = HAVE_TIME
    ? null
    : setInterval(() => {
        try {
          const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${measured()}/status`, 'utf8'));
          if (m) hwm = Math.max(hwm, Number(m[1]));
        } catch {
          /* not there yet, or exited */
        }
      }, 2);
  const status = await new Promise((res) => child.on('close', (code, sig) => res(code ?? sig)));
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  if (poll) clearInterval(poll);
  if (typeof outFd === 'number') closeSync(outFd);
  if (typeof inFd === 'number') closeSync(inFd);
  if (HAVE_TIME) {
    const lines = readFileSync(tfile, 'utf8').trim().split('\n');
    const [m, u, sys] = lines[lines.length - 1].split(' ').map(Number);
    hwm = m;
    cpu = u + sys;
    rmSync(tfile, { force: true });
  }
  if (status !== 0) throw new Error(`${argv.join(' ')} exited with ${status}: ${stderr.slice(-2000)}`);
  return { wall, rssMiB: hwm / 1024, cpu };
}

/** The newest child process of `pid` (the last command of a shell pipeline). */
function lastChild(pid) {
  const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return kids[kids.length - 1];
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Flushes dirty pages so one run's writeback does not land in the next run's time. */
const settle = () => spawnSync('sync');

/** One run of a case (fresh output), verified on its first run. */
async function runOnce(c, first) {
  if (c.stdoutFile) rmSync(c.stdoutFile, { force: true });
  if (c.outPath) rmSync(c.outPath, { force: true });
  settle();
  const m = await measure(c);
  if (first && c.verify) c.verify();
  if (c.stdoutFile) rmSync(c.stdoutFile, { force: true });
  if (c.outPath) rmSync(c.outPath, { force: true });
  return m;
}

function summary(name, runs) {
  const r = {
    name,
    wall: median(runs.map((x) => x.wall)),
    cpu: median(runs.map((x) => x.cpu)),
    rssMiB: Math.max(...runs.map((x) => x.rssMiB)),
    runs,
  };
  log(`  ${name.padEnd(34)} ${r.wall.toFixed(3).padStart(8)} s  cpu ${Number.isFinite(r.cpu) ? r.cpu.toFixed(2) : '-'} s  ${r.rssMiB.toFixed(1).padStart(7)} MiB`);
  return r;
}

/**
 * Runs every case `runs` times, round-robin (so a change in the machine's load spreads over
 * all cases instead of skewing one), and returns their summaries in order.
 */
async function benchAll(cases) {
  const runs = cases.map(() => []);
  for (let i = 0; i < opts.runs; i++) {
    for (const [k, c] of cases.entries()) runs[k].push(await runOnce(c, i === 0));
  }
  return cases.map((c, k) => summary(c.name, runs[k]));
}

/** Runs one case `runs` times. */
async function bench(name, c) {
  return (await benchAll([{ name, ...c }]))[0];
}

function sameBytes(a, b) {
  const r = spawnSync('cmp', ['-s', a, b]);
  if (r.status !== 0) throw new Error(`${b} differs from ${a}: an unedited rewrite must be byte-identical`);
}

function sizeCheck(input, output, edited) {
  const d = statSync(input).size - statSync(output).size;
  // Stripping one register from each of two vCPUs removes 2×16 bytes (+ the vmdesc shrinks).
  if (!(edited ? d > 0 && d < 4096 : d === 0)) throw new Error(`unexpected output size of ${output}: ${d} bytes shorter than the input`);
}

// ---------------------------------------------------------------------------------------------
// The cases

const want = (name) => !opts.only || opts.only.some((o) => name.includes(o));

async function streamCases(mib) {
  const input = ensureStream(mib);
  const out = join(DIR, `out-${mib}m.mig`);
  const bytes = statSync(input).size;
  log(`\n${mib} MiB stream: ${input} (${bytes} bytes); page cache warmed; ${opts.runs} rounds over all cases`);
  spawnSync('sh', ['-c', `cat "${input}" > /dev/null`]);
  const node = (args) => [process.execPath, CLI, ...args];
  const cases = [
    { name: 'cat file→file', argv: ['cat', input], stdoutFile: out },
    { name: 'dd bs=128K file→file', argv: ['dd', `if=${input}`, `of=${out}`, 'bs=128K', 'status=none'], outPath: out },
    { name: 'cat pipe→file', argv: ['cat'], pipeFrom: input, stdoutFile: out },
    { name: 'rewrite file→file', argv: node(['rewrite', input, '-o', out]), outPath: out, verify: () => sameBytes(input, out) },
    { name: 'rewrite pipe→file', argv: node(['rewrite', '-', '-o', out]), pipeFrom: input, outPath: out, verify: () => sameBytes(input, out) },
    { name: 'rewrite --strip file→file', argv: node(['rewrite', input, '-o', out, '--strip', 'TPIDR_EL0']), outPath: out, verify: () => sizeCheck(input, out, true) },
    { name: 'rewrite --strip pipe→file', argv: node(['rewrite', '-', '-o', out, '--strip', 'TPIDR_EL0']), pipeFrom: input, outPath: out, verify: () => sizeCheck(input, out, true) },
    { name: 'inspect', argv: node(['inspect', input]) },
    { name: 'check --dest (itself)', argv: node(['check', input, '--dest', input]) },
  ].filter((c) => want(c.name));
  const results = await benchAll(cases);
  return { mib, path: input, bytes, results };
}

async function matcherCases() {
  const results = [];
  if (!want('matcher')) return results;
  log(`\nmatcher (matchCpregs from dist/match/index.js), ${opts.runs} runs each`);
  for (const n of [250_000, 1_000_000]) {
    const runs = [];
    for (let i = 0; i < opts.runs; i++) {
      const r = spawnSync(process.execPath, [join(HERE, 'matcher.mjs'), String(n)], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`matcher ${n}: ${r.stderr}`);
      const j = JSON.parse(r.stdout);
      // Peak RSS of the same work in a fresh process.
      const m = await measure({ argv: [process.execPath, join(HERE, 'matcher.mjs'), String(n)] });
      runs.push({ wall: j.ms / 1000, rssMiB: m.rssMiB, anomalies: j.anomalies, matched: j.matched });
    }
    const r = { name: `matcher ${n.toLocaleString('en')} regs`, registers: n, wall: median(runs.map((x) => x.wall)), rssMiB: Math.max(...runs.map((x) => x.rssMiB)), runs };
    log(`  ${r.name.padEnd(34)} ${r.wall.toFixed(3).padStart(8)} s  ${r.rssMiB.toFixed(1).padStart(7)} MiB`);
    results.push(r);
  }
  return results;
}

/** `inspect` against QEMU's analyser on the same QEMU 10.0 stream (both print the whole state summary). */
async function analyserCases() {
  if (!want('analyser')) return null;
  const analyser = process.env.ANALYZER;
  const input = analyser && existsSync(analyser) ? ensureStream10() : null;
  if (!input) {
    log('\nanalyser comparison skipped: set ANALYZER (scripts/analyze-migration.py) and have a QEMU 10.0 stream (VMSTATE_BENCH_CHROOT)');
    return null;
  }
  log(`\ninspect vs QEMU's analyser on ${input}, ${opts.runs} rounds`);
  spawnSync('sh', ['-c', `cat "${input}" > /dev/null`]);
  const [ours, theirs] = await benchAll([
    { name: 'vmstate inspect (QEMU 10.0 stream)', argv: [process.execPath, CLI, 'inspect', input] },
    { name: 'analyze-migration.py (same stream)', argv: ['python3', analyser, '-f', input] },
  ]);
  return { path: input, bytes: statSync(input).size, analyser, ours, theirs, speedup: theirs.wall / ours.wall };
}

/** Bare process start of the CLI (`--version`): the fixed cost inside every CLI figure. */
async function startupCase() {
  if (!want('startup')) return null;
  log(`\nCLI start-up, ${opts.runs} runs`);
  return bench('vmstate --version (start-up)', { argv: [process.execPath, CLI, '--version'] });
}

// ---------------------------------------------------------------------------------------------
// Report

const TARGETS = {
  'rewrite file→file': { ratio: 1.25 },
  'rewrite pipe→file': { ratio: 1.25 },
  'rewrite --strip file→file': { ratio: 1.25 },
  'rewrite --strip pipe→file': { ratio: 1.25 },
  inspect: { seconds: 0.35 },
};
const RSS_MAX = 100;
const RSS_GROWTH = 1.5;
const MATCH_MAX = 1;

function table(streams, matcher, startup, versus) {
  const big = streams[streams.length - 1];
  const small = streams.length > 1 ? streams[0] : null;
  const catOf = (s, name = 'cat file→file') => s.results.find((r) => r.name === name);
  const rows = [];
  const head = ['command', ...(small ? [`${small.mib} MiB s`, `${small.mib} MiB RSS`] : []), `${big.mib} MiB s`, '× cat', '× same-input cat', ...(small ? ['per-GiB × same-input cat'] : []), 'CPU s', `${big.mib} MiB RSS`, ...(small ? ['RSS ×'] : []), 'target', 'met'];
  for (const r of big.results) {
    const s = small?.results.find((x) => x.name === r.name);
    const cat = catOf(big);
    const ratio = cat ? r.wall / cat.wall : NaN;
    // The same kind of input for both: a pipe case against `cat | cat`, a file case against `cat`.
    const refName = r.name.includes('pipe→') ? 'cat pipe→file' : 'cat file→file';
    const ref = catOf(big, refName);
    const sameRatio = ref ? r.wall / ref.wall : NaN;
    // What each further GiB costs: the difference between the two sizes, so start-up drops out.
    const refSmall = small ? catOf(small, refName) : null;
    const perGiB = s && refSmall && ref ? (r.wall - s.wall) / (ref.wall - refSmall.wall) : NaN;
    r.ratioToCat = ratio;
    r.ratioToSameInputCat = sameRatio;
    r.perGiBRatio = perGiB;
    const growth = s ? r.rssMiB / s.rssMiB : NaN;
    const t = TARGETS[r.name];
    const isCat = r.name.startsWith('cat') || r.name.startsWith('dd');
    const goals = [];
    let ok = true;
    if (t?.ratio) {
      goals.push(`≤ ${t.ratio} × cat`);
      ok &&= ratio <= t.ratio;
    }
    if (t?.seconds) {
      goals.push(`≤ ${t.seconds} s`);
      ok &&= r.wall <= t.seconds;
    }
    if (!isCat) {
      goals.push(`RSS ≤ ${RSS_MAX} MiB${s ? `, ≤ ${RSS_GROWTH}× ${small.mib} MiB` : ''}`);
      ok &&= r.rssMiB <= RSS_MAX && (!s || growth <= RSS_GROWTH);
    }
    rows.push([
      r.name,
      ...(small ? [s ? s.wall.toFixed(3) : '-', s ? s.rssMiB.toFixed(1) : '-'] : []),
      r.wall.toFixed(3),
      Number.isFinite(ratio) ? ratio.toFixed(2) : '-',
      Number.isFinite(sameRatio) && !isCat ? sameRatio.toFixed(2) : '-',
      ...(small ? [Number.isFinite(perGiB) && !isCat ? perGiB.toFixed(2) : '-'] : []),
      Number.isFinite(r.cpu) ? r.cpu.toFixed(2) : '-',
      r.rssMiB.toFixed(1),
      ...(small ? [Number.isFinite(growth) ? growth.toFixed(2) : '-'] : []),
      goals.join('; ') || '(reference)',
      goals.length ? (ok ? 'yes' : 'NO') : '',
    ]);
    r.met = goals.length ? ok : null;
  }
  if (startup) {
    rows.push([startup.name, ...(small ? ['', ''] : []), startup.wall.toFixed(3), '', '', ...(small ? [''] : []), Number.isFinite(startup.cpu) ? startup.cpu.toFixed(2) : '-', startup.rssMiB.toFixed(1), ...(small ? [''] : []), '(included in every CLI time)', '']);
  }
  const mt = [];
  for (const m of matcher) {
    m.met = m.registers === 1_000_000 ? m.wall < MATCH_MAX : null;
    mt.push([m.name, m.wall.toFixed(3), m.rssMiB.toFixed(1), m.registers === 1_000_000 ? `< ${MATCH_MAX} s` : '', m.met === null ? '' : m.met ? 'yes' : 'NO']);
  }
  const m250 = matcher.find((m) => m.registers === 250_000);
  const m1m = matcher.find((m) => m.registers === 1_000_000);
  const render = (h, rs) => {
    const w = h.map((x, i) => Math.max(x.length, ...rs.map((r) => String(r[i]).length)));
    const line = (r) => '| ' + r.map((c, i) => String(c).padEnd(w[i])).join(' | ') + ' |';
    return [line(h), '|' + w.map((n) => '-'.repeat(n + 2)).join('|') + '|', ...rs.map(line)].join('\n');
  };
  let text = `Streams: ${streams.map((s) => `${s.mib} MiB of guest RAM = ${s.bytes.toLocaleString('en')} bytes`).join('; ')}. Times are medians of ${opts.runs} runs (wall, s; CPU = user + system of the measured process); RSS is the peak over the runs (MiB).\n\n`;
  text += render(head, rows);
  if (versus) {
    versus.met = versus.speedup >= 10;
    text += '\n\n' + render(['on the QEMU 10.0 1 GiB stream', 'median s', 'peak RSS MiB', 'analyser ÷ inspect', 'target', 'met'], [
      [versus.ours.name, versus.ours.wall.toFixed(3), versus.ours.rssMiB.toFixed(1), versus.speedup.toFixed(1), '≥ 10 (or inspect ≤ 0.35 s)', versus.met ? 'yes' : 'NO'],
      [versus.theirs.name, versus.theirs.wall.toFixed(3), versus.theirs.rssMiB.toFixed(1), '', '', ''],
    ]);
  }
  if (mt.length) {
    text += '\n\n' + render(['matcher (library call)', 'median s', 'peak RSS MiB', 'target', 'met'], mt);
    if (m250 && m1m) text += `\n\nmatcher growth 250,000 → 1,000,000 registers: × ${(m1m.wall / m250.wall).toFixed(2)} (linear = × 4)`;
  }
  return text;
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

const started = new Date();
const mach = machine();
log(`vmstate bench — ${mach.cpus} × ${mach.cpuModel}, node ${mach.node}, scratch ${DIR} on ${mach.filesystem}`);
const streams = [];
for (const mib of [...opts.sizes].sort((a, b) => a - b)) streams.push(await streamCases(mib));
const startup = await startupCase();
const versus = await analyserCases();
const matcher = await matcherCases();
const text = table(streams, matcher, startup, versus);
process.stdout.write('\n' + text + '\n');
const doc = {
  date: started.toISOString(),
  machine: { ...mach, loadavgAfter: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ') },
  runs: opts.runs,
  rssSource: HAVE_TIME ? '/usr/bin/time %M (maxrss)' : '/proc/PID/status VmHWM (polled)',
  streams,
  startup,
  analyser: versus,
  matcher,
  table: text,
};
writeFileSync(opts.out, JSON.stringify(doc, null, 2) + '\n');
log(`\nwrote ${opts.out}`);
