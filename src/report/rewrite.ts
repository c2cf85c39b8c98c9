/** The `rewrite` report: its JSON document (`rewrite --json`) and its text rendering. */
import type { RewriteResult } from '../rewrite/rewrite.js';
import { checkReport, renderCheck, type CheckReport } from './check.js';
import { PLAIN, type RenderOptions } from './format.js';

/** Version of the `rewrite --json` shape. */
export const REWRITE_SCHEMA = 'vmstate/rewrite/1';

/** The `rewrite --json` document. */
export interface RewriteReport extends Omit<RewriteResult, 'check'> {
  schema: typeof REWRITE_SCHEMA;
  /** The destination's predicted verdict on the result (with `--dest`). */
  check: CheckReport | null;
}

/** The JSON document of a rewrite. */
export function rewriteReport(r: RewriteResult): RewriteReport {
  return { schema: REWRITE_SCHEMA, input: r.input, output: r.output, dryRun: r.dryRun, written: r.written, cpus: r.cpus, check: r.check ? checkReport(r.check) : null, unmatched: r.unmatched };
}

/** Human summary: per vCPU what was removed, changed (loudly) and dropped; then the predicted verdict. */
export function renderRewrite(r: RewriteResult, o: RenderOptions = {}): string {
  const st = o.style ?? PLAIN;
  const out: string[] = [];
  const verb = r.written ? 'did' : 'would';
  for (const c of r.cpus) {
    const n = c.removed.length + c.changed.length + c.droppedSubsections.length;
    out.push(`cpu ${c.instance}: ${c.countBefore} → ${c.countAfter} registers${n ? '' : ' (unchanged)'}`);
    for (const x of c.removed) out.push(`  ${verb} remove ${x.name ?? '?'} ${x.id} = ${x.value}: ${x.reason}`);
    for (const x of c.changed) {
      out.push(`  ${verb} ${st.warn('CHANGE')} ${x.name ?? '?'} ${x.id}: ${x.from} → ${x.to} (${x.reason}; the guest was told otherwise about its CPU)`);
      if (x.fields?.length) out.push(`      fields: ${x.fields.map((f) => `${f.field} ${f.from} → ${f.to}`).join(', ')}`);
    }
    for (const s of c.droppedSubsections) out.push(`  ${verb} drop subsection ${s.name} (version ${s.version}, ${s.size} bytes): ${s.content || '(empty)'}`);
    for (const x of c.refused) out.push(`  ${st.bad('REFUSED')} ${x.name ?? '?'} ${x.id} = ${x.value}: ${x.reason}`);
  }
  if (r.written) out.push(`wrote ${r.output}`);
  // Refused for the destination's verdict: only what blocks it, as `check` shows it.
  const refused = !r.written && !r.dryRun && !!r.check && r.check.verdict !== 'accept';
  if (r.check) out.push(refused ? 'the destination would still reject the result:' : 'predicted on the destination:', renderCheck(r.check, { ...o, fatalOnly: refused }).replace(/^/gm, '  '));
  return out.join('\n');
}
