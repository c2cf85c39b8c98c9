/** `check` over several streams: a result or a failure per stream, as JSON and as one table. */
import type { CheckResult } from '../check/check.js';
import { isVmstateError } from '../errors.js';
import { checkReport, type CheckReport } from './check.js';
import { PLAIN, table, type RenderOptions } from './format.js';

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
export type BatchResult = CheckResult | CheckFailure;

/** The JSON form of a batch: a check document per stream, or its failure entry. */
export function batchReport(results: BatchResult[]): (CheckReport | CheckFailure)[] {
  return results.map((r) => (r.verdict === 'error' ? r : checkReport(r)));
}

/** The failure entry for an error thrown while checking `stream`. */
export function failureOf(stream: string, e: unknown): CheckFailure {
  if (isVmstateError(e)) {
    return { schema: CHECK_ERROR_SCHEMA, stream, verdict: 'error', error: { code: e.code, message: e.message, ...(e.place ? { offset: e.place.offset, section: e.place.section } : {}) } };
  }
  return { schema: CHECK_ERROR_SCHEMA, stream, verdict: 'error', error: { code: 'INTERNAL', message: (e as Error)?.stack ?? String(e) } };
}

/** The first few reasons a stream would be refused, as one line. */
export function firstReasons(r: BatchResult, max = 2): string {
  if (r.verdict === 'error') return r.error.message;
  const seen = new Set<string>();
  const fatal = [...r.anomalies, ...r.devices.flatMap((c) => c.anomalies)].filter((a) => a.fatal);
  for (const a of fatal) seen.add(a.name && !a.message.includes(a.name) ? `${a.name} ${a.message}` : a.message);
  const all = [...seen];
  if (!all.length) return r.verdict !== 'accept' ? (r.qemuError?.split('\n')[0] ?? '') : '';
  return all.slice(0, max).join('; ') + (all.length > max ? ` (+${all.length - max} more)` : '');
}

/** The summary table: stream, verdict, first reasons; then the totals (not with `quiet`). */
export function renderBatch(results: BatchResult[], o: RenderOptions = {}): string {
  const st = o.style ?? PLAIN;
  const verdict = (r: BatchResult) => (r.verdict === 'accept' ? st.ok('ACCEPT') : r.verdict === 'reject' ? st.bad('REJECT') : r.verdict === 'depends' ? st.bad('DEPENDS') : st.bad('ERROR'));
  const out = [table(['stream', 'verdict', 'reasons'], results.map((r) => [r.stream, verdict(r), firstReasons(r)]))];
  if (!o.quiet) {
    const count = (v: string) => results.filter((r) => r.verdict === v).length;
    out.push(`${results.length} streams: ${count('accept')} accept, ${count('reject')} reject, ${count('depends') ? `${count('depends')} depends, ` : ''}${count('error')} error`);
  }
  return out.join('\n');
}
