/**
 * Structural fuzzing of the decoder and the rewriter, and the "nothing lost"
 * property of cpreg edits.
 *
 * Inputs are the real samples with their RAM reduced to a few page records
 * (see `shrinkStream`; everything from the first device section on is the
 * sample's own bytes), mutated by `mutate` (17 kinds aimed at the header,
 * configuration, RAM records and block list, section headers and footers, the
 * cpu cpreg count and arrays, the vmdesc length and JSON, …).
 *
 * Per run 6,000 cases, each decoded as a file (walked whole, and tail-first) and
 * as a pipe (one in eight also rewritten to a file), from fixed seeds — 0x5eed0001, 0x5eed0002 and
 * 0x5eed0003 with 1,000 cases each, 0x5eed0004 with 3,000 — so that a commit
 * always runs the same cases.
 *
 * Long runs of other cases: `npm run fuzz -- --seed <n> --cases <m>` (which sets
 * `VMSTATE_FUZZ_SEED` and `VMSTATE_FUZZ_CASES` and runs only that seed);
 * `VMSTATE_FUZZ_REPLAY=<seed>:<case>` runs one case (every failure prints its
 * reproduction line).
 *
 * Required of every case, from a file (seekable) and from a pipe, in random
 * chunk sizes: success, or an error of the taxonomy (one of the seven classes
 * of src/errors.ts, with the code its class stands for) naming an offset within
 * [0, input length] and a non-empty section (the message ends with both);
 * TRUNCATED names the end of the input; a certainly invalid input fails and a
 * certainly valid one decodes; file (walked whole) and pipe agree; the tail-first
 * decode agrees with them, or succeeds where the whole walk fails in the RAM it
 * did not read (at or after where it jumped from); no decode runs longer than
 * 10 s (a timer per decode, plus a watchdog thread that ends the run, naming
 * the case, if a loop never yields for 30 s); resident memory stays bounded over the batch; after an error the
 * unmodified stream still decodes to the same cpreg lists; a failed rewrite
 * leaves neither its output nor a temporary file.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { decodeStream, type CpuEdit, type DecodedStream } from '../src/stream/decode.js';
import { BufferSource } from '../src/wire/source.js';
import { MemorySink, StreamWriter } from '../src/wire/writer.js';
import { LimitError, ProfileError, RefusalError, StreamFormatError, TruncatedError, UnsupportedError, UsageError, VmstateError } from '../src/errors.js';
import { rewriteFile } from '../src/rewrite/rewrite-file.js';
import type { CpuSection } from '../src/stream/records.js';
import { samplePaths, sampleBytes } from './helpers/samples.js';
import { minimalCpregs } from './helpers/minimal-cpregs.js';
import { caseSeed, layoutOf, mutate, rng, shrinkStream, type Mutation, type Rng, type StreamLayout } from './helpers/mutate.js';

/** The seeds every run uses, with their number of cases. */
const FIXED_SEEDS: [number, number][] = [
  [0x5eed0001, 1000],
  [0x5eed0002, 1000],
  [0x5eed0003, 1000],
  [0x5eed0004, 3000],
];
const PROPERTY_CASES = 150;
const PROPERTY_SEED = 0x10571e55;
/** A case that takes longer than this is a hang. */
const CASE_TIMEOUT_MS = 10_000;
/** Growth of the resident set over a batch that counts as an unbounded allocation. */
const RSS_SLACK = 384 << 20;

/** A long run of one seed (`npm run fuzz -- --seed N --cases M`), instead of the fixed seeds. */
const LONG_SEED = process.env['VMSTATE_FUZZ_SEED'] !== undefined ? Number(process.env['VMSTATE_FUZZ_SEED']) >>> 0 : null;
const LONG_CASES = Number(process.env['VMSTATE_FUZZ_CASES'] ?? 3000);
const REPLAY = process.env['VMSTATE_FUZZ_REPLAY']?.split(':').map(Number);

const hex = (n: number) => '0x' + (n >>> 0).toString(16).padStart(8, '0');

interface Base {
  name: string;
  data: Buffer;
  layout: StreamLayout;
  decoded: DecodedStream;
}

function cpuLists(s: DecodedStream) {
  return s.cpus.map((c) => ({ instance: c.instance, count: c.count, ids: c.ids, values: c.values }));
}

function sameLists(a: DecodedStream, b: DecodedStream): boolean {
  const text = (s: DecodedStream) => JSON.stringify(cpuLists(s), (_, v) => (typeof v === 'bigint' ? v.toString(16) : v));
  return text(a) === text(b);
}

const bases: Base[] = [];
let dir = '';

// ---------------------------------------------------------------------------
// Hang guard for code that never yields: a thread watching a heartbeat.

const beat = new Int32Array(new SharedArrayBuffer(16)); // [counter, active, seed, case]
let watchdog: Worker | null = null;

function startWatchdog(limitMs: number): void {
  watchdog = new Worker(
    `const { workerData } = require('node:worker_threads');
     const b = new Int32Array(workerData.sab);
     let last = -1, since = Date.now();
     setInterval(() => {
       const v = Atomics.load(b, 0);
       if (v !== last || Atomics.load(b, 1) === 0) { last = v; since = Date.now(); return; }
       if (Date.now() - since > workerData.limit) {
         require('node:fs').writeSync(2, 'fuzz: no progress for ' + workerData.limit + ' ms in case VMSTATE_FUZZ_REPLAY=' +
           (Atomics.load(b, 2) >>> 0) + ':' + Atomics.load(b, 3) + ' (a loop that never yields); killing the test process\\n');
         process.kill(process.pid, 'SIGKILL');
       }
     }, 250);`,
    { eval: true, workerData: { sab: beat.buffer, limit: limitMs } },
  );
  watchdog.unref();
}

function heartbeat(seed: number, index: number): void {
  Atomics.store(beat, 2, seed | 0);
  Atomics.store(beat, 3, index);
  Atomics.add(beat, 0, 1);
}

async function guarded<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no result after ${CASE_TIMEOUT_MS} ms (hang)`)), CASE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vmstate-fuzz-'));
  for (const s of samplePaths()) {
    const data = shrinkStream(sampleBytes(s.path));
    const decoded = await decodeStream(new BufferSource(data, [data.length], true));
    bases.push({ name: s.name, data, decoded, layout: layoutOf(data, decoded) });
  }
  startWatchdog(30_000);
});

afterAll(async () => {
  await watchdog?.terminate();
  rmSync(dir, { recursive: true, force: true });
});

describe('shrunk samples', () => {
  it('are valid streams with the cpreg lists, sections and vmdesc of the originals', async () => {
    expect(bases.length).toBeGreaterThanOrEqual(10);
    for (const b of bases) {
      const orig = sampleBytes(samplePaths().find((s) => s.name === b.name)!.path);
      const full = await decodeStream(new BufferSource(orig, [1 << 20], true));
      expect(cpuLists(b.decoded)).toEqual(cpuLists(full));
      expect(b.decoded.sections.map((s) => [s.name, s.instanceId, s.size])).toEqual(full.sections.map((s) => [s.name, s.instanceId, s.size]));
      expect(b.decoded.warnings).toEqual([]);
      expect(b.data.subarray(b.layout.deviceStart).equals(orig.subarray(full.sections[0]!.offset))).toBe(true);
      expect(minimalCpregs(b.data).map((c) => c.ids)).toEqual(full.cpus.map((c) => c.ids));
      expect(b.data.length).toBeLessThan(70_000);
      // Every RAM item keeps its records and footer: same item count as the original.
      expect(b.decoded.iterative.map((i) => i.items)).toEqual(full.iterative.map((i) => i.items));
    }
  });
});

// ---------------------------------------------------------------------------
// The fuzz batches

type Outcome = { ok: true; res: DecodedStream } | { ok: false; error: unknown };

function chunkSizes(r: Rng): number[] {
  switch (r.int(6)) {
    case 0:
      return [1 << 20];
    case 1:
      return [65536];
    case 2:
      return [r.range(1, 64), r.range(1000, 9000)];
    case 3:
      return [7, 4093, 1, 65537, 13];
    case 4:
      return [r.range(1, 70_000)];
    default:
      return [4096];
  }
}

function randomEdit(r: Rng): ((cpu: CpuSection) => CpuEdit | null) | undefined {
  if (r.chance(0.5)) return undefined;
  return (cpu) => {
    const keep = cpu.ids.map(() => r.chance(0.9));
    return { ids: cpu.ids.filter((_, i) => keep[i]), values: cpu.values.filter((_, i) => keep[i]).map((v) => (r.chance(0.1) ? v ^ 1n : v)) };
  };
}

async function outcome(p: Promise<DecodedStream>, what: string): Promise<Outcome> {
  try {
    return { ok: true, res: await guarded(p, what) };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The error classes of the taxonomy, each with the codes it stands for. */
const TAXONOMY = new Map<Function, (code: string) => boolean>([
  [TruncatedError, (c) => c === 'TRUNCATED'],
  [StreamFormatError, (c) => /^BAD_/.test(c) && c !== 'BAD_PROFILE'],
  [LimitError, (c) => c === 'LIMIT'],
  [UnsupportedError, (c) => c === 'UNSUPPORTED'],
  [ProfileError, (c) => c === 'BAD_PROFILE'],
  [UsageError, (c) => c === 'USAGE' || c === 'IO'],
  [RefusalError, (c) => c === 'REFUSED'],
]);

/** Problems with one outcome (empty when it meets every requirement). */
function checkOutcome(o: Outcome, m: Mutation, mode: string, small = false, full?: Outcome): string[] {
  const bad: string[] = [];
  const len = m.data.length;
  if (o.ok) {
    if (m.invalid === true && !(full && unreadFailure(o, full))) bad.push(`${mode}: decoded an input that must fail`);
    return bad;
  }
  const e = o.error;
  if (!(e instanceof VmstateError)) {
    bad.push(`${mode}: ${(e as Error)?.name ?? typeof e} instead of a VmstateError: ${(e as Error)?.stack ?? String(e)}`);
    return bad;
  }
  const codeOf = TAXONOMY.get(e.constructor);
  if (!codeOf) bad.push(`${mode}: a ${e.constructor.name}, which is not one of the taxonomy's classes: ${e.message}`);
  else if (!codeOf(e.code)) bad.push(`${mode}: a ${e.name} with code ${e.code}: ${e.message}`);
  if (m.invalid === false && !(small && e.code === 'LIMIT')) bad.push(`${mode}: failed on a valid input: ${e.message}`);
  const p = e.place;
  if (!p) {
    bad.push(`${mode}: ${e.code} error without a place: ${e.message}`);
    return bad;
  }
  if (!Number.isInteger(p.offset) || p.offset < 0 || p.offset > len) bad.push(`${mode}: offset ${p.offset} outside [0, ${len}]: ${e.message}`);
  if (typeof p.section !== 'string' || p.section.length === 0) bad.push(`${mode}: empty section: ${e.message}`);
  if (!e.message.endsWith(`(at byte ${p.offset}, in ${p.section})`)) bad.push(`${mode}: message does not end with its place: ${e.message}`);
  // Names read from the input are shown escaped: a message is one printable line.
  if (/[\x00-\x1f\x7f-\x9f]/.test(e.message)) bad.push(`${mode}: control characters in the message: ${JSON.stringify(e.message)}`);
  if (e.code === 'TRUNCATED' && p.offset !== len) bad.push(`${mode}: TRUNCATED at ${p.offset}, but the input ends at ${len}: ${e.message}`);
  // A valid stream cut short is reported as such, where it ends (under the default caps).
  if (m.kind === 'truncate' && !small && e.code !== 'TRUNCATED') bad.push(`${mode}: a cut stream gives ${e.code}, not TRUNCATED: ${e.message}`);
  return bad;
}

/**
 * Whether a tail-first decode `o` succeeded where the whole walk `full` failed in the RAM the
 * tail-first one stepped over unread: at or after the place it jumped from.
 */
function unreadFailure(o: Outcome, full: Outcome): boolean {
  if (!o.ok || full.ok || o.res.walk.mode !== 'tail-first') return false;
  const p = full.error instanceof VmstateError ? full.error.place : undefined;
  return p !== undefined && p.offset >= o.res.walk.from;
}

/** Problems of a tail-first decode (or a cloned rewrite) `o` against the whole walk `full` of the same bytes. */
function tailAgreement(o: Outcome, full: Outcome, what: string): string[] {
  if (o.ok && full.ok) return sameLists(o.res, full.res) ? [] : [`${what} and the whole walk decode different cpreg lists`];
  if (!o.ok && !full.ok) {
    const [a, b] = [o.error as VmstateError, full.error as VmstateError];
    return a.code === b.code ? [] : [`${what} and the whole walk disagree: ${describeError(o)} / ${describeError(full)}`];
  }
  return unreadFailure(o, full) ? [] : [`${what} and the whole walk disagree: ${describeError(o)} / ${describeError(full)}`];
}

function describeError(o: Outcome): string {
  if (o.ok) return 'ok';
  const e = o.error;
  return e instanceof VmstateError ? `${e.code}: ${e.message}` : String(e);
}

interface BatchStats {
  cases: number;
  errors: number;
  codes: Map<string, number>;
  kinds: Map<string, number>;
  rewrites: number;
  maxCaseMs: number;
  rssGrowth: number;
}

async function runCase(seed: number, index: number, stats: BatchStats): Promise<string[]> {
  heartbeat(seed, index);
  const r = rng(caseSeed(seed, index));
  const base = r.pick(bases);
  const m = mutate(base.data, base.layout, r);
  const chunks = chunkSizes(r);
  const t0 = performance.now();
  // As `dump` does, keep the decoded device state in half of the cases.
  const collectState = r.chance(0.5);
  // One case in ten runs under small caps (which a pipe meets sooner than a file: it holds the device state).
  const small = r.chance(0.1);
  const limits = small ? { maxBuffer: r.pick([4096, 40_000, 70_000]), maxCpregs: r.pick([0, 100, 400]), maxVmdesc: r.pick([100, 20_000]) } : undefined;
  const file = await outcome(decodeStream(new BufferSource(m.data, chunks, true), { collectState, limits, fullWalk: true }), 'file decode');
  const pipe = await outcome(decodeStream(new BufferSource(m.data, chunks, false), { collectState, limits }), 'pipe decode');
  const tail = await outcome(decodeStream(new BufferSource(m.data, chunks, true), { collectState, limits }), 'tail-first decode');
  const bad = [...checkOutcome(file, m, 'file', small), ...checkOutcome(pipe, m, 'pipe', small), ...checkOutcome(tail, m, 'tail-first', small, file)];
  if (!small) bad.push(...tailAgreement(tail, file, 'tail-first'));
  // The same bytes decode the same way however they arrive (caps apply to different amounts in
  // the two modes: a file reads at most maxVmdesc bytes of its tail, a pipe holds the device state).
  if (small) {
    // Only the requirements above.
  } else if (file.ok !== pipe.ok || (!file.ok && !pipe.ok && (file.error as VmstateError).code !== (pipe.error as VmstateError).code)) {
    bad.push(`file and pipe disagree: file ${describeError(file)} / pipe ${describeError(pipe)}`);
  } else if (file.ok && pipe.ok && !sameLists(file.res, pipe.res)) {
    bad.push('file and pipe decode different cpreg lists');
  }
  stats.cases++;
  stats.kinds.set(m.kind, (stats.kinds.get(m.kind) ?? 0) + 1);
  for (const o of [file, pipe, tail]) {
    const code = o.ok ? 'ok' : o.error instanceof VmstateError ? o.error.code : 'FOREIGN';
    stats.codes.set(code, (stats.codes.get(code) ?? 0) + 1);
  }
  if (!file.ok || !pipe.ok) {
    stats.errors++;
    // Nothing is left over from the failure: the unmodified stream still decodes.
    const again = await outcome(decodeStream(new BufferSource(base.data, [r.pick([4096, 65536, 1 << 20])], r.chance(0.5))), 'base decode');
    if (!again.ok) bad.push(`the unmodified stream no longer decodes: ${describeError(again)}`);
    else if (!sameLists(again.res, base.decoded)) bad.push('the unmodified stream decodes to other cpreg lists after an error');
  }
  if (index % 8 === 0) {
    stats.rewrites++;
    const input = join(dir, `in-${hex(seed)}-${index}.mig`);
    const output = join(dir, `out-${hex(seed)}-${index}.mig`);
    writeFileSync(input, m.data);
    // The random edit keeps the input's order, which a mutation may have broken: allowed here.
    // Every other rewrite walks the whole input; the rest clone it, reading it tail-first.
    const fullWalk = index % 16 === 0;
    const rw = await outcome(rewriteFile(input, output, { editCpu: randomEdit(r), unorderedEdits: true, limits, fullWalk }), 'rewrite');
    bad.push(...checkOutcome(rw, m, 'rewrite', small, file));
    // A rewrite decodes like a plain file decode of its kind (the state walk of `collectState` checks more).
    const like = fullWalk ? file : tail;
    if (!collectState && rw.ok !== like.ok) bad.push(`rewrite${fullWalk ? ' --full-walk' : ''} ${describeError(rw)} but file decode ${describeError(like)}`);
    const left = readdirSync(dir).filter((f) => f !== `in-${hex(seed)}-${index}.mig`);
    if (rw.ok) {
      if (!left.includes(`out-${hex(seed)}-${index}.mig`) || left.length !== 1) bad.push(`rewrite succeeded but left ${JSON.stringify(left)}`);
      unlinkSync(output);
    } else if (left.length) {
      bad.push(`failed rewrite left ${JSON.stringify(left)}`);
      for (const f of left) rmSync(join(dir, f), { force: true });
    }
    unlinkSync(input);
  }
  stats.maxCaseMs = Math.max(stats.maxCaseMs, performance.now() - t0);
  return bad.map((b) => `${b}\n    base ${base.name}, ${m.kind}: ${m.note}\n    replay: VMSTATE_FUZZ_REPLAY=${seed >>> 0}:${index}`);
}

async function runBatch(seed: number, first: number, count: number): Promise<{ failures: string[]; stats: BatchStats }> {
  const stats: BatchStats = { cases: 0, errors: 0, codes: new Map(), kinds: new Map(), rewrites: 0, maxCaseMs: 0, rssGrowth: 0 };
  const failures: string[] = [];
  Atomics.store(beat, 1, 1);
  const rss0 = process.memoryUsage.rss();
  const peak0 = process.resourceUsage().maxRSS * 1024;
  try {
    for (let i = first; i < first + count; i++) {
      failures.push(...(await runCase(seed, i, stats)));
      if (i % 32 === 0) stats.rssGrowth = Math.max(stats.rssGrowth, process.memoryUsage.rss() - rss0);
      if (failures.length >= 20) break;
    }
  } finally {
    Atomics.store(beat, 1, 0);
  }
  // The peak resident set (high-water mark) catches a large allocation freed right away.
  stats.rssGrowth = Math.max(stats.rssGrowth, process.memoryUsage.rss() - rss0, process.resourceUsage().maxRSS * 1024 - Math.max(peak0, rss0));
  return { failures, stats };
}

function summary(seed: number, s: BatchStats, ms: number): string {
  const codes = [...s.codes].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
  return `seed ${hex(seed)}: ${s.cases} cases in ${(ms / 1000).toFixed(1)} s (${s.errors} with an error; ${s.rewrites} rewrites; slowest ${s.maxCaseMs.toFixed(0)} ms; rss +${(s.rssGrowth / 2 ** 20).toFixed(0)} MiB); outcomes: ${codes}`;
}

describe('fuzz: every mutated stream decodes or fails with a placed VmstateError', () => {
  if (REPLAY) {
    it(`replays case ${REPLAY[0]}:${REPLAY[1]}`, async () => {
      const { failures, stats } = await runBatch(REPLAY[0]!, REPLAY[1]!, 1);
      const r = rng(caseSeed(REPLAY[0]!, REPLAY[1]!));
      const base = r.pick(bases);
      console.log(`${base.name}: ${mutate(base.data, base.layout, r).note}; ${[...stats.codes.keys()].join(', ')}`);
      expect(failures).toEqual([]);
    });
    return;
  }
  const seeds = LONG_SEED !== null ? [[LONG_SEED, 'VMSTATE_FUZZ_SEED', LONG_CASES] as const] : FIXED_SEEDS.map(([s, n]) => [s, 'fixed', n] as const);
  for (const [seed, why, cases] of seeds) {
    it(`seed ${hex(seed)} (${why}), ${cases} cases`, { timeout: Math.max(600_000, cases * 60) }, async () => {
      if (why !== 'fixed') console.log(`fuzz seed ${hex(seed)} (${why}); replay one case with VMSTATE_FUZZ_REPLAY=${seed}:<case>`);
      const t0 = performance.now();
      const { failures, stats } = await runBatch(seed, 0, cases);
      console.log(summary(seed, stats, performance.now() - t0));
      expect(failures, failures.join('\n\n')).toEqual([]);
      expect(stats.rssGrowth, 'resident memory grew without bound').toBeLessThan(RSS_SLACK);
      // Every mutation kind was exercised (a short run may miss one).
      if (cases >= 1000) expect(stats.kinds.size).toBe(17);
    });
  }
});

// ---------------------------------------------------------------------------
// Nothing lost: random cpreg edits change exactly the edited arrays and the vmdesc.

/** QEMU's compact JSON (one space after ':' and ','), for the plain ASCII data of a vmdesc. */
function qemuJsonText(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(qemuJsonText).join(', ') + ']';
  if (v !== null && typeof v === 'object') return '{' + Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${qemuJsonText(x)}`).join(', ') + '}';
  return JSON.stringify(v);
}

function encodeArrays(ids: bigint[], values: bigint[]): Buffer {
  const b = Buffer.alloc(4 + 16 * ids.length);
  b.writeInt32BE(ids.length, 0);
  ids.forEach((id, i) => b.writeBigUInt64BE(id, 4 + 8 * i));
  values.forEach((v, i) => b.writeBigUInt64BE(v, 4 + 8 * ids.length + 8 * i));
  return b;
}

function randomU64(r: Rng): bigint {
  return r.pick([0n, 0xffffffffffffffffn, 1n, (BigInt(r.u32()) << 32n) | BigInt(r.u32())]);
}

/** A random edit of one cpu's arrays: a random subset kept (sometimes none, one or all), some values changed. */
function plannedEdit(r: Rng, cpu: { ids: bigint[]; values: bigint[] }): { ids: bigint[]; values: bigint[] } {
  const n = cpu.ids.length;
  let keep: boolean[];
  switch (r.int(6)) {
    case 0:
      keep = cpu.ids.map(() => false);
      break;
    case 1: {
      const only = r.int(n);
      keep = cpu.ids.map((_, i) => i === only);
      break;
    }
    case 2:
      keep = cpu.ids.map(() => true);
      break;
    default: {
      const p = r.float();
      keep = cpu.ids.map(() => r.chance(p));
    }
  }
  const pChange = r.pick([0, 0.05, 0.5, 1]);
  const ids: bigint[] = [];
  const values: bigint[] = [];
  for (let i = 0; i < n; i++) {
    if (!keep[i]) continue;
    ids.push(cpu.ids[i]!);
    values.push(r.chance(pChange) ? randomU64(r) : cpu.values[i]!);
  }
  return { ids, values };
}

describe('nothing lost: cpreg edits through editCpu', () => {
  it(`${PROPERTY_CASES} random edits (seed ${hex(PROPERTY_SEED)}) change exactly the edited arrays and the vmdesc`, { timeout: 300_000 }, async () => {
    const fullBases = samplePaths().map((s) => ({ name: s.name, data: sampleBytes(s.path) }));
    for (let i = 0; i < PROPERTY_CASES; i++) {
      const r = rng(caseSeed(PROPERTY_SEED, i));
      // Mostly the shrunk samples; one case in ten on a whole real sample.
      const b = i % 10 === 0 ? r.pick(fullBases) : r.pick(bases);
      const input = b.data;
      const before = await decodeStream(new BufferSource(input, [input.length], true));
      const plan = new Map<number, { ids: bigint[]; values: bigint[] }>();
      const spare = r.chance(0.2) ? r.pick(before.cpus).instance : -1; // sometimes one vCPU is left alone
      for (const c of before.cpus) if (c.instance !== spare) plan.set(c.instance, plannedEdit(r, c));
      const sink = new MemorySink();
      const w = new StreamWriter(sink);
      const seekable = r.chance(0.5);
      const res = await decodeStream(new BufferSource(input, chunkSizes(r), seekable), {
        output: w,
        editCpu: (cpu) => plan.get(cpu.instance) ?? null,
      });
      await w.end();
      const out = sink.bytes();
      const where = `case ${i} (${b.name}, ${seekable ? 'file' : 'pipe'}; replay with PROPERTY seed ${hex(PROPERTY_SEED)})`;
      expect(res.edited, where).toEqual([...plan.keys()]);

      // Decoded output = decoded input with exactly the requested edits.
      const after = await decodeStream(new BufferSource(out, [65536], true));
      expect(after.warnings, where).toEqual([]);
      const expected = before.cpus.map((c) => ({ instance: c.instance, count: (plan.get(c.instance) ?? c).ids.length, ids: (plan.get(c.instance) ?? c).ids, values: (plan.get(c.instance) ?? c).values }));
      expect(cpuLists(after), where).toEqual(expected);
      expect(minimalCpregs(out).map((c) => [c.instance, c.ids, c.values]), where).toEqual(expected.map((c) => [c.instance, c.ids, c.values]));
      expect(after.sections.map((s) => [s.name, s.instanceId, s.sectionId]), where).toEqual(before.sections.map((s) => [s.name, s.instanceId, s.sectionId]));
      expect(after.ram, where).toEqual(before.ram);
      expect(after.configuration, where).toEqual(before.configuration);
      expect(after.cpus.map((c) => c.subsections.map((s) => [s.name, s.size])), where).toEqual(before.cpus.map((c) => c.subsections.map((s) => [s.name, s.size])));

      // Byte for byte: input segments between the edited arrays, the new arrays, then the expected vmdesc.
      const parts: Buffer[] = [];
      let at = 0;
      for (const c of before.cpus) {
        const p = plan.get(c.instance);
        if (!p) continue;
        parts.push(input.subarray(at, c.countOffset), encodeArrays(p.ids, p.values));
        at = c.arraysEnd;
      }
      parts.push(input.subarray(at, before.vmdesc!.offset));
      const desc = JSON.parse(input.subarray(before.vmdesc!.offset + 5).toString('latin1')) as { devices: { name: string; instance_id: number; fields: { name: string }[] }[] };
      for (const d of desc.devices) {
        const p = d.name === 'cpu' ? plan.get(d.instance_id) : undefined;
        if (!p) continue;
        const n = p.ids.length;
        const fields = d.fields.filter((f) => f.name !== 'cpreg_vmstate_indexes' && f.name !== 'cpreg_vmstate_values');
        const k = fields.findIndex((f) => f.name === 'cpreg_vmstate_array_len');
        const recs = n === 0 ? [] : ['cpreg_vmstate_indexes', 'cpreg_vmstate_values'].map((name) => (n === 1 ? { name, type: 'uint64', size: 8 } : { name, array_len: n, type: 'uint64', size: 8 }));
        fields.splice(k + 1, 0, ...recs);
        d.fields = fields;
      }
      if (plan.size === 0) expect(qemuJsonText(desc)).toBe(input.subarray(before.vmdesc!.offset + 5).toString('latin1'));
      const json = Buffer.from(qemuJsonText(desc), 'latin1');
      const head = Buffer.from([0x06, 0, 0, 0, 0]);
      head.writeUInt32BE(json.length, 1);
      parts.push(head, json);
      const want = Buffer.concat(parts);
      expect(out.length, where).toBe(want.length);
      if (!out.equals(want)) expect(out.findIndex((x, j) => x !== want[j]), `${where}: first differing byte`).toBe(-1);
    }
  });
});
