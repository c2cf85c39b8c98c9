/** The `check` report: its JSON document (`check --json`) and its text rendering. */
import { anomalyToJson, type AnomalyJson } from '../match/index.js';
import type { Accel } from '../regs/index.js';
import type { CheckFacts, CheckResult } from '../check/check.js';
import type { Suggestion } from '../rewrite/suggest.js';
import { PLAIN, table, type RenderOptions } from './format.js';

/** Version of the `check --json` shape (schemas/check.schema.json). */
export const CHECK_SCHEMA = 'vmstate/check/1';

/** One vCPU in the report. */
export interface CpuCheck {
  instance: number;
  verdict: 'accept' | 'reject';
  qemuError: string | null;
  anomalies: AnomalyJson[];
}

/** The `check --json` document. */
export interface CheckReport {
  schema: typeof CHECK_SCHEMA;
  stream: string;
  destination: { path: string; origin: string; machineType: string | null };
  verdict: 'accept' | 'reject';
  loader: string;
  accel: Accel;
  /** The loader, accelerator and (KVM) kernel assumed for the destination, and what told each. */
  facts: CheckFacts;
  policies: string[];
  /** Anomalies not about one vCPU (machine type). */
  anomalies: AnomalyJson[];
  cpus: CpuCheck[];
  /** What the destination QEMU would print when it refuses the stream (its first failure). */
  qemuError: string | null;
  /** Every line the destination QEMU would print, in order (under KVM also when it loads). */
  qemuLines: string[];
  /** Where the destination QEMU would crash instead of refusing, and other cautions. */
  warnings: string[];
  notes: string[];
  /**
   * After a REJECT of a single stream: the `vmstate rewrite` command the matcher predicts would
   * load (`argv`, `predictedVerdict`), or why none can (`argv` null); null after an ACCEPT.
   */
  suggestion?: Suggestion | null;
}

/** The JSON document of a check (with the next step, when one was worked out). */
export function checkReport(r: CheckResult, suggestion?: Suggestion | null): CheckReport {
  const doc: CheckReport = {
    schema: CHECK_SCHEMA,
    stream: r.stream,
    destination: r.destination,
    verdict: r.verdict,
    loader: r.loader,
    accel: r.accel,
    facts: r.facts,
    policies: r.policies,
    anomalies: r.anomalies.map(anomalyToJson),
    cpus: r.devices
      .filter((d) => d.name === 'cpu')
      .map((d) => ({ instance: d.instance, verdict: d.verdict, qemuError: d.qemuError, anomalies: d.anomalies.map(anomalyToJson) })),
    qemuError: r.qemuError,
    qemuLines: r.qemuLines,
    warnings: r.warnings,
    notes: r.notes,
  };
  if (suggestion !== undefined) doc.suggestion = suggestion;
  return doc;
}

/** A command line as one shell-quoted string. */
export function shellLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The next step in words: the command and what it means for the guest, or why no rewrite can. */
export function renderSuggestion(sg: Suggestion, o: RenderOptions = {}): string {
  const st = o.style ?? PLAIN;
  if (!sg.argv) return `next step: ${sg.reason}`;
  const out = [`next step: ${st.bold(shellLine(sg.argv))}`, `  predicted: ${st.ok('ACCEPT')} (${sg.reason})`];
  for (const e of sg.effects) out.push(`  for the guest: ${e}`);
  return out.join('\n');
}

/** Options of {@link renderCheck}. */
export interface CheckRenderOptions extends RenderOptions {
  /** Only what makes the load fail: fatal findings of the devices it refuses (a refused rewrite). */
  fatalOnly?: boolean;
}

/** What was inferred about the destination (what the command line gave is not repeated). */
function factLines(f: CheckFacts, st: NonNullable<CheckRenderOptions['style']>): string[] {
  const lines: string[] = [];
  if (!f.loader.given) lines.push(`  loader ${f.loader.name}: ${f.loader.from}`);
  if (!f.accel.given) lines.push(`  accelerator ${f.accel.value}: ${f.accel.from}`);
  if (f.kernel && f.kernel.from !== 'option') lines.push(`  kernel ${f.kernel.release ?? f.kernel.version}: ${f.kernel.exact ? f.kernel.evidence : `${f.kernel.evidence}`}`);
  return lines.length ? [st.dim('destination (inferred):'), ...lines.map((l) => st.dim(l))] : [];
}

/** Human rendering of a check. */
export function renderCheck(r: CheckResult, o: CheckRenderOptions = {}): string {
  const st = o.style ?? PLAIN;
  const out: string[] = [];
  const verdict = r.verdict === 'accept' ? st.ok(st.bold('ACCEPT')) : st.bad(st.bold('REJECT'));
  out.push(`${verdict}: ${r.stream} → ${r.destination.path} (loader ${r.loader}, ${r.accel}${r.policies.length ? `, policies ${r.policies.join(', ')}` : ''})`);
  if (!o.quiet && !o.fatalOnly && r.facts) out.push(...factLines(r.facts, st));
  for (const a of r.anomalies) if (a.fatal || !o.fatalOnly) out.push(`  ${a.fatal ? st.bad('fatal') : 'note '}  ${a.kind}: ${a.message}`);
  for (const c of r.devices) {
    if (o.fatalOnly && c.verdict === 'accept') continue;
    const shown = o.fatalOnly ? c.anomalies.filter((a) => a.fatal) : c.anomalies;
    out.push(`${c.name} ${c.instance}: ${c.verdict === 'accept' ? c.verdict : st.bad(c.verdict)}${shown.length ? `, ${shown.length} ${o.fatalOnly ? 'fatal ' : ''}finding(s)` : ''}`);
    if (shown.length) {
      out.push(
        table(
          ['', 'kind', 'id', 'name', 'detail'],
          shown.map((a) => [a.fatal ? st.bad('fatal') : '', a.kind, a.id ?? '', a.name ?? '', a.message]),
        ).replace(/^/gm, '  '),
      );
    }
  }
  // The destination's own lines for the first device it refuses (QEMU stops there).
  if (r.qemuLines.length) out.push('QEMU would print:', r.qemuLines.join('\n').replace(/^/gm, '  '));
  if (!o.quiet) {
    for (const w of r.warnings) out.push(st.warn(`warning: ${w}`));
    for (const n of r.notes) out.push(st.dim(`note: ${n}`));
  }
  return out.join('\n');
}
