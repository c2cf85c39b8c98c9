/**
 * `check` on many streams: each stream is decoded and checked in a pool of worker threads
 * against one destination; results come back in the order the streams were named.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { decodeFile } from '../api.js';
import { checkStream, negativeCountReport, type CheckReport } from '../report/check.js';
import type { LoadedDestination } from '../destination/load.js';
import type { DecodeLimits } from '../stream/decode.js';
import type { Policy } from '../policy/index.js';
import type { Accel } from '../regs/index.js';
import { VmstateError, isVmstateError } from '../wire/errors.js';
import { PLAIN, table, type RenderOptions } from './format.js';

/** Everything a check needs besides the stream. */
export interface CheckJob {
  dest: LoadedDestination;
  loader: string;
  accel?: Accel;
  policies: Policy[];
  limits: Partial<DecodeLimits>;
}

/** Version of a failed stream's entry in `check --json` over several streams. */
export const CHECK_ERROR_SCHEMA = 'vmstate/check-error/1';

/** A stream that could not be checked (bad input, or a bug: code `INTERNAL`). */
export interface CheckFailure {
  schema: typeof CHECK_ERROR_SCHEMA;
  stream: string;
  verdict: 'error';
  error: { code: string; message: string; offset?: number; section?: string };
}

/** One stream's outcome. */
export type BatchResult = CheckReport | CheckFailure;

/** Decodes and checks one stream (a negative cpreg count is a verdict, not an error). */
export async function checkOne(stream: string, job: CheckJob): Promise<CheckReport> {
  try {
    const s = await decodeFile(stream, { limits: job.limits });
    return checkStream(stream, s, job.dest, { loader: job.loader, accel: job.accel, policies: job.policies });
  } catch (e) {
    // No QEMU gets past a negative count either; say what each would do with it.
    if (!(e instanceof VmstateError) || typeof e.data.negativeCount !== 'number') throw e;
    return negativeCountReport(stream, job.dest, job.loader, e);
  }
}

/** The failure entry for an error thrown while checking `stream`. */
export function failureOf(stream: string, e: unknown): CheckFailure {
  if (isVmstateError(e)) {
    return { schema: CHECK_ERROR_SCHEMA, stream, verdict: 'error', error: { code: e.code, message: e.message, ...(e.place ? { offset: e.place.offset, section: e.place.section } : {}) } };
  }
  return { schema: CHECK_ERROR_SCHEMA, stream, verdict: 'error', error: { code: 'INTERNAL', message: (e as Error)?.stack ?? String(e) } };
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

/** The first few reasons a stream would be refused, as one line. */
export function firstReasons(r: BatchResult, max = 2): string {
  if (r.verdict === 'error') return r.error.message;
  const seen = new Set<string>();
  const fatal = [...r.anomalies, ...r.cpus.flatMap((c) => c.anomalies)].filter((a) => a.fatal);
  for (const a of fatal) seen.add(a.name && !a.message.includes(a.name) ? `${a.name} ${a.message}` : a.message);
  const all = [...seen];
  if (!all.length) return r.verdict === 'reject' ? (r.qemuError?.split('\n')[0] ?? '') : '';
  return all.slice(0, max).join('; ') + (all.length > max ? ` (+${all.length - max} more)` : '');
}

/** The summary table: stream, verdict, first reasons; then the totals (not with `quiet`). */
export function renderBatch(results: BatchResult[], o: RenderOptions = {}): string {
  const st = o.style ?? PLAIN;
  const verdict = (r: BatchResult) => (r.verdict === 'accept' ? st.ok('ACCEPT') : r.verdict === 'reject' ? st.bad('REJECT') : st.bad('ERROR'));
  const out = [table(['stream', 'verdict', 'reasons'], results.map((r) => [r.stream, verdict(r), firstReasons(r)]))];
  if (!o.quiet) {
    const count = (v: string) => results.filter((r) => r.verdict === v).length;
    out.push(`${results.length} streams: ${count('accept')} accept, ${count('reject')} reject, ${count('error')} error`);
  }
  return out.join('\n');
}
