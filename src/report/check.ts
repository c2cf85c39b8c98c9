/**
 * The `check` report: would the destination QEMU load this stream, and if not, why — every
 * reason, in the order QEMU meets them (machine type; per vCPU: count, subsections, post-load).
 */
import type { DecodedStream } from '../stream/decode.js';
import {
  anomalyToJson,
  compareMachineType,
  compareSubsections,
  matchCpregs,
  type Anomaly,
  type AnomalyJson,
  type CpuSubsection,
  type MatchResult,
} from '../match/index.js';
import { combinePolicies, parsePolicyJson, parseQemuProperties, presetPolicy, type Policy } from '../policy/index.js';
import type { Accel } from '../regs/index.js';
import { inferAccel } from '../regs/index.js';
import { table } from '../cli/format.js';
import type { LoadedDestination } from '../destination/load.js';
import { knownSubsections } from '../destination/load.js';
import { generationOfLoader } from '../destination/known-subsections.js';

/** Version of the `check --json` shape (schemas/check.schema.json). */
export const CHECK_SCHEMA = 'vmstate/check/1';

/** Policy sources as given on the command line. */
export interface PolicyInputs {
  /** Policy JSON documents: [source name, text]. */
  files?: [string, string][];
  /** QEMU property strings (`x-mig-safe-missing-regs=…`). */
  compat?: string[];
  /** Preset names. */
  presets?: string[];
}

/** Builds the policy list from command-line sources. */
export function policiesFrom(p: PolicyInputs): Policy[] {
  const out: Policy[] = [];
  for (const name of p.presets ?? []) out.push(presetPolicy(name));
  for (const [src, text] of p.files ?? []) out.push(parsePolicyJson(text, src));
  if (p.compat?.length) out.push(parseQemuProperties(p.compat, '--compat'));
  return out;
}

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
  policies: string[];
  /** Anomalies not about one vCPU (machine type). */
  anomalies: AnomalyJson[];
  cpus: CpuCheck[];
  /** What the destination QEMU would print when it refuses the stream (its first failure). */
  qemuError: string | null;
  /** Where the destination QEMU would crash instead of refusing, and other cautions. */
  warnings: string[];
  notes: string[];
}

/** Options of {@link checkStream}. */
export interface CheckOptions {
  loader: string;
  accel?: Accel;
  policies?: Policy[];
}

/** Checks a decoded stream against a loaded destination. */
export function checkStream(streamPath: string, s: DecodedStream, dest: LoadedDestination, opts: CheckOptions): CheckReport {
  const accel = opts.accel ?? dest.model.accel ?? inferAccel(s.cpus.flatMap((c) => c.ids));
  const policies = combinePolicies(opts.policies ?? [], accel);
  const match: MatchResult = matchCpregs(
    s.cpus.map((c) => ({ instance: c.instance, ids: c.ids, values: c.values, count: c.count })),
    dest.model,
    { loader: opts.loader, accel, policies },
  );
  const global: Anomaly[] = [];
  const machine = s.configuration && dest.model.machineType ? compareMachineType(s.configuration.machine, dest.model.machineType) : null;
  if (machine) global.push(machine);
  const known = knownSubsections(dest, generationOfLoader(opts.loader));
  const cpus: CpuCheck[] = match.cpus.map((v) => {
    const cpu = s.cpus.find((c) => c.instance === v.instance)!;
    const subs: CpuSubsection[] = cpu.subsections.map((x) => ({ name: x.name, version: x.version }));
    const subAnoms = known ? compareSubsections(subs, known).map((a) => ({ ...a, instance: v.instance })) : [];
    // QEMU loads the fields (count check) first, then subsections, then runs post_load (merge).
    const countFailed = v.anomalies.some((a) => a.kind === 'count-bound' && a.fatal);
    const anomalies = countFailed ? [...v.anomalies, ...subAnoms] : [...v.anomalies.filter((a) => a.kind === 'count-bound'), ...subAnoms, ...v.anomalies.filter((a) => a.kind !== 'count-bound')];
    let qemuError = v.qemuError;
    const subFatal = subAnoms.find((a) => a.fatal);
    if (!countFailed && subFatal) qemuError = `${subFatal.qemuText}\nerror while loading state for instance 0x${v.instance.toString(16)} of device 'cpu'`;
    const ok = v.ok && !subFatal;
    return { instance: v.instance, verdict: ok ? 'accept' : 'reject', qemuError: ok ? null : qemuError, anomalies: anomalies.map(anomalyToJson) };
  });
  const warnings: string[] = [];
  if (match.loader === 'qemu-11.1') {
    for (const c of s.cpus) {
      if (c.count < 0) warnings.push(`cpu ${c.instance}: cpreg count ${c.count}: QEMU 11.1 tries to allocate ${-c.count * 8 * 2 ** 32} bytes and aborts instead of refusing the stream`);
    }
  }
  const reject = !!machine || cpus.some((c) => c.verdict === 'reject');
  const firstCpu = cpus.find((c) => c.verdict === 'reject');
  return {
    schema: CHECK_SCHEMA,
    stream: streamPath,
    destination: { path: dest.path, origin: dest.model.origin, machineType: dest.model.machineType ?? null },
    verdict: reject ? 'reject' : 'accept',
    loader: match.loader,
    accel,
    policies: match.policies,
    anomalies: global.map(anomalyToJson),
    cpus,
    qemuError: machine ? machine.qemuText : (firstCpu?.qemuError ?? null),
    warnings,
    notes: match.notes,
  };
}

/** Human rendering of {@link CheckReport}. */
export function renderCheck(r: CheckReport): string {
  const out: string[] = [];
  out.push(`${r.verdict === 'accept' ? 'ACCEPT' : 'REJECT'}: ${r.stream} → ${r.destination.path} (loader ${r.loader}, ${r.accel}${r.policies.length ? `, policies ${r.policies.join(', ')}` : ''})`);
  for (const a of r.anomalies) out.push(`  ${a.fatal ? 'fatal' : 'note '}  ${a.kind}: ${a.message}`);
  for (const c of r.cpus) {
    out.push(`cpu ${c.instance}: ${c.verdict}${c.anomalies.length ? `, ${c.anomalies.length} finding(s)` : ''}`);
    if (c.anomalies.length) {
      out.push(
        table(
          ['', 'kind', 'id', 'name', 'detail'],
          c.anomalies.map((a) => [a.fatal ? 'fatal' : '', a.kind, a.id ?? '', a.name ?? '', a.message]),
        ).replace(/^/gm, '  '),
      );
    }
  }
  if (r.qemuError) out.push('QEMU would print:', r.qemuError.replace(/^/gm, '  '));
  for (const w of r.warnings) out.push(`warning: ${w}`);
  for (const n of r.notes) out.push(`note: ${n}`);
  return out.join('\n');
}
