#!/usr/bin/env node
// A long fuzz run of one seed (the test suite runs fixed seeds only, so a commit always runs the
// same cases):
//
//   npm run fuzz -- --seed 7 --cases 100000
//   npm run fuzz -- --replay 7:4242        # one case, as a failure prints it
//
// Runs test/fuzz.test.ts with VMSTATE_FUZZ_SEED / VMSTATE_FUZZ_CASES (or VMSTATE_FUZZ_REPLAY).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const USAGE = 'usage: npm run fuzz -- --seed N [--cases M] | --replay SEED:CASE';

function fail(msg) {
  process.stderr.write(`fuzz: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

const env = { ...process.env };
const args = process.argv.slice(2);
const uint = (v, what) => {
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(v ?? '') || Number(v) > 0xffffffff) fail(`${what} must be an unsigned 32-bit integer, got ${v ?? 'nothing'}`);
  return String(Number(v));
};
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--seed') env.VMSTATE_FUZZ_SEED = uint(args[++i], '--seed');
  else if (a === '--cases') env.VMSTATE_FUZZ_CASES = uint(args[++i], '--cases');
  else if (a === '--replay') {
    const m = /^(\w+):(\d+)$/.exec(args[++i] ?? '');
    if (!m) fail('--replay takes SEED:CASE');
    env.VMSTATE_FUZZ_REPLAY = `${uint(m[1], 'the seed')}:${m[2]}`;
  } else if (a === '-h' || a === '--help') {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  } else fail(`unknown argument ${a}`);
}
if (!env.VMSTATE_FUZZ_SEED && !env.VMSTATE_FUZZ_REPLAY) fail('give --seed (or --replay)');
if (env.VMSTATE_FUZZ_CASES && !env.VMSTATE_FUZZ_SEED) fail('--cases needs --seed');
const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/fuzz.test.ts', '-t', 'fuzz'], { cwd: ROOT, env, stdio: 'inherit' });
process.exit(r.status ?? 1);
