/** The `rewrite` report: its JSON document (`rewrite --json`) and its text rendering. */
import type { RewriteResult } from '../rewrite/rewrite.js';
import { ADOPT_MEANING } from '../rewrite/guest-effects.js';
import { checkReport, renderCheck, renderSuggestion, type CheckReport } from './check.js';
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
  const doc: RewriteReport = {
    schema: REWRITE_SCHEMA, input: r.input, output: r.output, dryRun: r.dryRun, written: r.written, cpus: r.cpus, devices: r.devices,
    adopted: r.adopted, check: r.check ? checkReport(r.check) : null, unmatched: r.unmatched,
  };
  if (r.suggestion !== undefined) doc.suggestion = r.suggestion;
  return doc;
}

/** How many missing registers are listed one by one before the rest is counted. */
const MISSING_SHOWN = 8;
/** Hex digits of a dropped subsection's body shown before the rest is counted (the JSON has it all). */
const CONTENT_SHOWN = 64;

/** A subsection body (hex) for the text: whole when short, else its start and its size. */
function contentText(hex: string): string {
  if (!hex) return '(empty)';
  return hex.length <= CONTENT_SHOWN ? hex : `${hex.slice(0, CONTENT_SHOWN)}… (${hex.length / 2} bytes)`;
}

/**
 * Human summary: per vCPU and device what was removed (and what that means for the guest),
 * changed (loudly), put in, left missing and dropped; the guest-visible classes taken from the
 * destination; then the predicted verdict and, for a refused rewrite, the next step.
 */
export function renderRewrite(r: RewriteResult, o: RenderOptions = {}): string {
  const st = o.style ?? PLAIN;
  const out: string[] = [];
  const verb = r.written ? 'did' : 'would';
  for (const c of r.cpus) {
    const n = c.removed.length + c.changed.length + c.inserted.length + c.droppedSubsections.length;
    out.push(`cpu ${c.instance}: ${c.countBefore} → ${c.countAfter} registers${n ? '' : ' (unchanged)'}`);
    for (const x of c.removed) out.push(`  ${verb} remove ${x.name ?? '?'} ${x.id} = ${x.value}: ${x.reason} (${x.effect === 'feature-in-use' ? st.warn(x.note) : x.note})`);
    for (const x of c.changed) {
      const what = x.class ? `changes ${ADOPT_MEANING[x.class]}` : 'the guest was told otherwise';
      out.push(`  ${verb} ${st.warn('CHANGE')} ${x.name ?? '?'} ${x.id}: ${x.from} → ${x.to} (${x.reason}; ${what})`);
      if (x.fields?.length) out.push(`      fields: ${x.fields.map((f) => `${f.field} ${f.from} → ${f.to}`).join(', ')}`);
    }
    for (const x of c.inserted) out.push(`  ${verb} put in ${x.name ?? '?'} ${x.id} = ${x.value}: ${x.reason}`);
    if (c.missing.length) {
      const shown = c.missing.slice(0, MISSING_SHOWN).map((x) => x.name ?? x.id);
      const more = c.missing.length > MISSING_SHOWN ? ` and ${c.missing.length - MISSING_SHOWN} more` : '';
      out.push(`  not put in (the stream does not hold the guest's value, and it is not a destination constant): ${shown.join(', ')}${more}`);
    }
    for (const s of c.droppedSubsections) out.push(`  ${verb} drop subsection ${s.name} (version ${s.version}, ${s.size} bytes): ${contentText(s.content)}: ${s.reason}; ${s.state}`);
    for (const x of c.refused) out.push(`  ${st.bad('REFUSED')} ${x.name ?? '?'} ${x.id} = ${x.value}: ${x.reason}`);
    for (const x of c.refusedSubsections) out.push(`  ${st.bad('REFUSED')} subsection ${x.name}: ${x.reason}`);
  }
  for (const d of r.devices) {
    out.push(`${d.name} ${d.instance}:`);
    for (const s of d.droppedSubsections) out.push(`  ${verb} drop subsection ${s.name}${s.within ? ` in ${s.within}` : ''} (version ${s.version}, ${s.size} bytes): ${contentText(s.content)}: ${s.reason}; ${s.state}`);
    for (const x of d.refusedSubsections) out.push(`  ${st.bad('REFUSED')} subsection ${x.name}${x.within ? ` in ${x.within}` : ''}: ${x.reason}`);
  }
  if (r.adopted.length) {
    out.push(`guest-visible values ${r.written ? 'taken' : 'to take'} from the destination (only the classes named by --adopt-dest-values):`);
    for (const a of r.adopted) out.push(`  ${st.warn(a.class)}: ${a.registers} register${a.registers > 1 ? 's' : ''}; changes ${a.meaning}`);
  }
  if (r.written) out.push(`wrote ${r.output}`);
  // Refused for the destination's verdict: only what blocks it, as `check` shows it.
  const refused = !r.written && !r.dryRun && r.check?.verdict === 'reject';
  if (r.check) out.push(refused ? 'the destination would still reject the result:' : 'predicted on the destination:', renderCheck(r.check, { ...o, fatalOnly: refused }).replace(/^/gm, '  '));
  if (r.suggestion) out.push(renderSuggestion(r.suggestion, o));
  return out.join('\n');
}
