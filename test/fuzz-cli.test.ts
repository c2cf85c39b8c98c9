/**
 * Mutated streams through the built command line: `inspect`, `regs`, `dump`
 * and `rewrite`, from a file and from a pipe (stdin).
 *
 * 48 cases per run, one command run each, from seed 0xc11f0001. Kinds and
 * commands are taken in turn, so every mutation kind meets several commands
 * and every command meets both modes (they alternate every four cases). The
 * library's own decode of the same bytes says what must happen: where it
 * fails, the command exits 2 and its stderr carries the same message, ending
 * `(at byte N, in SECTION)` with N within the input; where it succeeds, the
 * command exits 0. A failed `rewrite` leaves neither its output nor a
 * temporary file; a successful one (no edits) writes the input byte for byte.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeStream, type DecodedStream } from '../src/stream/decode.js';
import { BufferSource } from '../src/wire/source.js';
import { VmstateError } from '../src/errors.js';
import { CLI } from './helpers/cli.js';
import { samplePaths, sampleBytes } from './helpers/samples.js';
import { caseSeed, layoutOf, mutate, MUTATION_KINDS, rng, shrinkStream, type StreamLayout } from './helpers/mutate.js';

const SEED = 0xc11f0001;
const CASES = 48;
const COMMANDS = ['inspect', 'regs', 'dump', 'rewrite'] as const;

interface Run {
  code: number;
  stderr: string;
  stdout: Buffer;
}

/** Runs the CLI without blocking the event loop (two at a time, one per core). */
function run(args: string[], input?: Buffer): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (b: Buffer) => out.push(b));
    p.stderr.on('data', (b: Buffer) => err.push(b));
    p.on('error', reject);
    // The command may stop reading stdin early (it failed): that is not an error here.
    p.stdin.on('error', () => {});
    p.on('close', (code) => resolve({ code: code ?? -1, stderr: Buffer.concat(err).toString('utf8'), stdout: Buffer.concat(out) }));
    p.stdin.end(input ?? Buffer.alloc(0));
  });
}

let dir = '';
const bases: { name: string; data: Buffer; layout: StreamLayout }[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vmstate-fuzz-cli-'));
  for (const s of samplePaths()) {
    const data = shrinkStream(sampleBytes(s.path));
    const decoded = await decodeStream(new BufferSource(data, [data.length], true));
    bases.push({ name: s.name, data, layout: layoutOf(data, decoded) });
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function expected(data: Buffer, seekable: boolean, collectState: boolean): Promise<{ ok: true; res: DecodedStream } | { ok: false; e: VmstateError }> {
  try {
    return { ok: true, res: await decodeStream(new BufferSource(data, [65536], seekable), { collectState }) };
  } catch (e) {
    if (!(e instanceof VmstateError)) throw e;
    return { ok: false, e };
  }
}

describe(`CLI on mutated streams (${CASES} cases, seed 0x${SEED.toString(16)})`, () => {
  it('exit 2 with the placed message on bad input, 0 otherwise; no output left by a failed rewrite', { timeout: 300_000 }, async () => {
    const problems: string[] = [];
    const exits: Record<string, number> = {};
    const one = async (i: number): Promise<void> => {
      const r = rng(caseSeed(SEED, i));
      const base = r.pick(bases);
      const m = mutate(base.data, base.layout, r, MUTATION_KINDS[i % MUTATION_KINDS.length]);
      const cmd = COMMANDS[i % COMMANDS.length]!;
      const input = join(dir, `case-${i}.mig`);
      writeFileSync(input, m.data);
      const what = `case ${i} (${base.name}, ${m.kind}: ${m.note}), ${cmd}`;
      // Commands in turn; each command meets both modes on alternate turns.
      for (const pipe of [((i >> 2) & 1) === 1]) {
        const mode = pipe ? 'pipe' : 'file';
        const want = await expected(m.data, !pipe, cmd === 'dump');
        const output = join(dir, `case-${i}-${mode}.out`);
        const args = cmd === 'rewrite' ? ['rewrite', pipe ? '-' : input, '-o', output] : cmd === 'dump' ? ['dump', pipe ? '-' : input] : [cmd, pipe ? '-' : input, '--json'];
        const got = await run(args, pipe ? m.data : undefined);
        exits[got.code] = (exits[got.code] ?? 0) + 1;
        if (want.ok) {
          if (got.code !== 0) problems.push(`${what} (${mode}): exit ${got.code}, the library decodes it: ${got.stderr}`);
          if (cmd === 'rewrite' && got.code === 0 && !readFileSync(output).equals(m.data)) problems.push(`${what} (${mode}): rewrite without edits changed bytes`);
        } else {
          const e = want.e;
          const tail = `(at byte ${e.place!.offset}, in ${e.place!.section})`;
          if (got.code !== 2) problems.push(`${what} (${mode}): exit ${got.code}, expected 2 for: ${e.message}\n${got.stderr}`);
          else if (!got.stderr.includes(e.message) || !got.stderr.includes(tail)) problems.push(`${what} (${mode}): stderr lacks '${e.message}': ${got.stderr}`);
          const n = /at byte (\d+), in ./.exec(got.stderr);
          if (!n || Number(n[1]) > m.data.length) problems.push(`${what} (${mode}): no offset within the input in: ${got.stderr}`);
          if (cmd === 'rewrite' && existsSync(output)) problems.push(`${what} (${mode}): failed rewrite left ${output}`);
        }
        rmSync(output, { force: true });
      }
      rmSync(input, { force: true });
    };
    // Two cases at a time.
    for (let i = 0; i < CASES; i += 2) await Promise.all([one(i), ...(i + 1 < CASES ? [one(i + 1)] : [])]);
    console.log(`CLI: ${CASES} cases; exit codes ${JSON.stringify(exits)}`);
    expect(problems, problems.join('\n\n')).toEqual([]);
    // Both outcomes occurred.
    expect(Object.keys(exits).sort()).toEqual(['0', '2']);
    // No temporary file of a rewrite survives.
    expect(readdirSync(dir)).toEqual([]);
  });
});
