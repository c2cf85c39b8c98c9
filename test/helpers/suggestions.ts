/**
 * The next step `vmstate check` prints after a REJECT, run as printed: every check and every
 * suggested rewrite goes through the built CLI's main() (test/helpers/cli-many.mjs), a batch at
 * a time in one process.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A stream, its destination and the loader a user would name. */
export interface Pair {
  id: string;
  src: string;
  dest: string;
  loader: string;
}

/** One pair's check, its suggestion and what running it gave. */
export interface Tried {
  pair: Pair;
  checkCode: number | string;
  verdict: string;
  suggestion: { argv: string[] | null; predictedVerdict: string | null; reason: string; effects: string[] } | null;
  /** With a command: its exit code, its report, and where it wrote. */
  rewrite?: { code: number | string; report: { written: boolean; check: { verdict: string } | null } | null; stderr: string; output: string };
}

type Result = { argv: string[]; code: number | string; stdout: string; stderr: string };

/** Runs many command lines in one process. */
function runMany(dir: string, name: string, cases: string[][]): Result[] {
  const casesFile = join(dir, `${name}.cases.json`);
  const resultsFile = join(dir, `${name}.results.json`);
  writeFileSync(casesFile, JSON.stringify(cases));
  const r = spawnSync(process.execPath, [join(import.meta.dirname, 'cli-many.mjs'), join(import.meta.dirname, '..', '..', 'dist', 'cli', 'run.js'), casesFile, resultsFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', CLI_MANY_FULL: '1' },
    timeout: 900_000,
  });
  if (r.status !== 0) throw new Error(`cli-many: ${r.stderr}`);
  return JSON.parse(readFileSync(resultsFile, 'utf8'));
}

/** Checks every pair, then runs each suggested command with its output in `dir`. */
export function trySuggestions(pairs: Pair[], dir: string): Tried[] {
  const checks = runMany(dir, 'checks', pairs.map((p) => ['check', p.src, '--dest', p.dest, '--loader', p.loader, '--json']));
  const tried: Tried[] = pairs.map((pair, k) => {
    const c = checks[k]!;
    const doc = JSON.parse(c.stdout);
    return { pair, checkCode: c.code, verdict: doc.verdict, suggestion: doc.suggestion ?? null };
  });
  const runs = tried.filter((t) => t.suggestion?.argv);
  const argvs = runs.map((t, k) => {
    const argv = t.suggestion!.argv!.slice(1);
    argv[argv.indexOf('-o') + 1] = join(dir, `suggested-${k}.mig`);
    return [...argv, '--json'];
  });
  const done = runMany(dir, 'rewrites', argvs);
  runs.forEach((t, k) => {
    const r = done[k]!;
    let report = null;
    try {
      report = JSON.parse(r.stdout);
    } catch {
      report = null;
    }
    t.rewrite = { code: r.code, report, stderr: r.stderr, output: argvs[k]![argvs[k]!.indexOf('-o') + 1]! };
  });
  return tried;
}
