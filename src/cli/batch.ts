/**
 * `check` on many streams: each stream is decoded and checked in a pool of worker threads
 * against one destination; results come back in the order the streams were named
 * (report/batch.ts renders them).
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { checkStream, type CheckResult } from '../check/check.js';
import { failureOf, type BatchResult } from '../report/batch.js';
import type { Destination } from '../destination/load.js';
import type { DecodeLimits, DecodedStream } from '../stream/decode.js';
import type { Policy } from '../policy/index.js';
import type { Accel } from '../regs/index.js';

/** Everything a check needs besides the stream. */
export interface CheckJob {
  dest: Destination;
  loader?: string;
  accel?: Accel;
  kernel?: string;
  policies: Policy[];
  limits: Partial<DecodeLimits>;
}

/** Decodes and checks one stream (a negative cpreg count is a verdict, not an error). */
export function checkOne(stream: string, job: CheckJob & { onDecoded?: (s: DecodedStream) => void }): Promise<CheckResult> {
  return checkStream(stream, job.dest, { loader: job.loader, accel: job.accel, kernel: job.kernel, policies: job.policies, limits: job.limits, onDecoded: job.onDecoded });
}

/** Messages between the pool and its workers. */
export type ToWorker = { index: number; stream: string };
export type FromWorker = { index: number; result: BatchResult };

/** Checks every stream, `threads` at a time (default: one per core); results in input order. */
export async function checkMany(streams: string[], job: CheckJob, threads = availableParallelism()): Promise<BatchResult[]> {
  const results: BatchResult[] = new Array(streams.length);
  let next = 0;
  const n = Math.max(1, Math.min(threads, streams.length));
  const url = new URL('./check-worker.js', import.meta.url);
  const runWorker = () =>
    new Promise<void>((resolve) => {
      const w = new Worker(url, { workerData: job });
      let current = -1;
      const feed = () => {
        if (next >= streams.length) {
          ended = true;
          void w.terminate().then(() => resolve());
          return;
        }
        current = next++;
        w.postMessage({ index: current, stream: streams[current]! } satisfies ToWorker);
      };
      w.on('message', (m: FromWorker) => {
        results[m.index] = m.result;
        current = -1;
        feed();
      });
      let ended = false;
      // The worker died: its stream fails; the others carry on in a new worker.
      const died = (e: unknown) => {
        if (ended) return;
        ended = true;
        if (current >= 0) results[current] = failureOf(streams[current]!, e);
        current = -1;
        resolve(next < streams.length ? runWorker() : undefined);
      };
      w.on('error', died);
      w.on('exit', () => died(new Error('worker exited unexpectedly')));
      feed();
    });
  await Promise.all(Array.from({ length: n }, runWorker));
  return results;
}

/** The exit code for a batch: 3 a bug, 2 any bad input, 1 any reject, else 0. */
export function batchExitCode(results: BatchResult[]): number {
  if (results.some((r) => r.verdict === 'error' && r.error.code === 'INTERNAL')) return 3;
  if (results.some((r) => r.verdict === 'error')) return 2;
  return results.some((r) => r.verdict === 'reject') ? 1 : 0;
}
