#!/usr/bin/env node
// Times one matchCpregs call on a synthetic register list (run by bench/run.mjs in a fresh
// process, so its peak RSS is the matcher's own).
//
//   node bench/matcher.mjs N
//
// The destination holds N ascending ids. The incoming vCPU carries the same N ids with values,
// except that every 1000th one is replaced by an id the destination lacks (an anomaly on both
// sides), so the merge walks both full lists and reports 2·N/1000 anomalies. Only the
// matchCpregs call is timed; building the lists is not. Prints one JSON line.
import { performance } from 'node:perf_hooks';
// The matcher is internal to the package: reached by its module path (not a public API).
import { matchCpregs, destinationFromList } from '../dist/match/index.js';

const n = Number(process.argv[2] ?? 1_000_000);
if (!Number.isInteger(n) || n < 1) throw new Error(`bad register count: ${process.argv[2]}`);

// Plausible AArch64 system-register ids (0x6030_0000_0013_xxxx), spaced by 4 so that a
// replacement id (base + 4i + 1) falls between two destination ids.
const BASE = 0x6030_0000_0013_0000n;
const dest = new Array(n);
const ids = new Array(n);
const values = new Array(n);
for (let i = 0; i < n; i++) {
  const id = BASE + BigInt(i) * 4n;
  dest[i] = id;
  ids[i] = i % 1000 === 999 ? id + 1n : id;
  values[i] = BigInt(i) * 0x9e37_79b9n;
}
const model = destinationFromList(dest, { accel: 'tcg' });
const incoming = [{ instance: 0, ids, values }];

const t0 = performance.now();
const res = matchCpregs(incoming, model, { loader: 'legacy', accel: 'tcg' });
const ms = performance.now() - t0;

const c = res.cpus[0];
process.stdout.write(
  JSON.stringify({ registers: n, ms, matched: c.stats.matched, anomalies: c.anomalies.length, ok: res.ok }) + '\n',
);
