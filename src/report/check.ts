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
  subsectionCrashes,
  type Anomaly,
  type AnomalyJson,
  type CpuSubsection,
  type MatchResult,
} from '../match/index.js';
import { combinePolicies, describeRule, type Policy, type PolicySet, type ResolvedRule } from '../policy/index.js';
import { destinationCpuFor, resolveLoader } from '../match/index.js';
import { hex64, inferAccel, regName, type Accel } from '../regs/index.js';
import type { CpuSection } from '../stream/records.js';
import { PLAIN, table, type RenderOptions } from '../cli/format.js';
import type { LoadedDestination } from '../destination/load.js';
import type { VmstateError } from '../wire/errors.js';
import { knownSubsections } from '../destination/load.js';
import { CRASHING_CPU_SUBSECTIONS, generationOfLoader } from '../destination/known-subsections.js';

/** Version of the `check --json` shape (schemas/check.schema.json). */
export const CHECK_SCHEMA = 'vmstate/check/1';

export { policiesFrom, type PolicyInputs } from '../policy/sources.js';

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
  // QEMU 7.2…10.2 have no policy mechanism: with policies, answer "what if the destination
  // (and the source, which shares the machine type) applied them" by leaving out of the
  // incoming list what they make ignorable, then running the unchanged legacy load.
  const whatIf = resolveLoader(opts.loader).name === 'legacy' && !policies.isEmpty;
  const filtered = s.cpus.map((c) => (whatIf ? applyPoliciesLegacy(c, dest, policies, accel) : { cpu: c, anomalies: [] as Anomaly[] }));
  // The destination's QEMU generation: named by the loader alias, else shown by its own stream.
  const generation = generationOfLoader(opts.loader) ?? dest.generation;
  const match: MatchResult = matchCpregs(
    filtered.map(({ cpu: c }) => ({ instance: c.instance, ids: c.ids, values: c.values, count: c.count })),
    dest.model,
    { loader: opts.loader, accel, policies: whatIf ? [] : policies, generation },
  );
  if (whatIf) {
    match.policies = [...policies.names];
    match.notes.push('loader legacy with policies: modelled as if both ends applied them (QEMU 7.2 … 10.2 have no such mechanism)');
    for (const v of match.cpus) {
      const pre = filtered.find((f) => f.cpu.instance === v.instance)!.anomalies;
      v.anomalies = [...pre, ...v.anomalies];
      if (pre.some((a) => a.fatal)) v.ok = false;
    }
  }
  const global: Anomaly[] = [];
  const machine = s.configuration && dest.model.machineType ? compareMachineType(s.configuration.machine, dest.model.machineType) : null;
  if (machine) global.push(machine);
  const known = knownSubsections(dest, generationOfLoader(opts.loader));
  const crashing = generation && dest.model.subsections ? CRASHING_CPU_SUBSECTIONS[generation] : [];
  const warnings: string[] = [];
  const crashes = new Map<number, string>();
  const cpus: CpuCheck[] = match.cpus.map((v) => {
    const cpu = s.cpus.find((c) => c.instance === v.instance)!;
    const subs: CpuSubsection[] = cpu.subsections.map((x) => ({ name: x.name, version: x.version }));
    // In stream order, as QEMU loads them: names it refuses, and names it would crash on.
    const order = new Map(subs.map((x, k) => [x.name, k]));
    const subAnoms = [
      ...(known ? compareSubsections(subs, known) : []),
      ...subsectionCrashes(subs, dest.model.subsections ?? [], crashing),
    ]
      .sort((a, b) => (order.get(a.name!) ?? 0) - (order.get(b.name!) ?? 0))
      .map((a) => ({ ...a, instance: v.instance }));
    // QEMU loads the fields (count check) first, then subsections, then runs post_load (merge).
    const countFailed = v.anomalies.some((a) => a.kind === 'count-bound' && a.fatal);
    const anomalies = countFailed ? [...v.anomalies, ...subAnoms] : [...v.anomalies.filter((a) => a.kind === 'count-bound'), ...subAnoms, ...v.anomalies.filter((a) => a.kind !== 'count-bound')];
    let qemuError = v.qemuError;
    const subFatal = subAnoms.find((a) => a.fatal);
    const crash = !countFailed && subFatal?.detail?.outcome === 'crash';
    if (crash) {
      qemuError = subFatal!.qemuText;
      crashes.set(v.instance, subFatal!.name!);
    } else if (!countFailed && subFatal) qemuError = `${subFatal.qemuText}\nerror while loading state for instance 0x${v.instance.toString(16)} of device 'cpu'`;
    const ok = v.ok && !subFatal;
    return { instance: v.instance, verdict: ok ? 'accept' : 'reject', qemuError: ok ? null : qemuError, anomalies: anomalies.map(anomalyToJson) };
  });
  const reject = !!machine || cpus.some((c) => c.verdict === 'reject');
  const firstCpu = cpus.find((c) => c.verdict === 'reject');
  // QEMU loads the cpu sections in order: only the first refused one decides how the load ends.
  const crashed = !machine && firstCpu ? crashes.get(firstCpu.instance) : undefined;
  if (crashed) {
    warnings.push(
      `cpu ${firstCpu!.instance}: QEMU ${generation === '10.x' ? '10.0 … 10.2' : generation} does not refuse subsection '${crashed}': it aborts on an assertion (the destination process crashes)`,
    );
  }
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

/**
 * The report for a stream whose cpu section carries a negative cpreg count: QEMU 7.2 … 10.2
 * refuse it at the count check; QEMU 11.1 sizes an allocation by it and aborts.
 */
export function negativeCountReport(streamPath: string, dest: LoadedDestination, loader: string, e: VmstateError): CheckReport {
  const spec = resolveLoader(loader);
  const count = e.data.negativeCount as number;
  const instance = Number(/instance (\d+)/.exec(e.place?.section ?? '')?.[1] ?? 0);
  const bound = destinationCpuFor(dest.model, instance)?.ids.length ?? 0;
  const crash = spec.count.kind === 'allocate';
  const qemuText = crash ? spec.text.count(count, null) : spec.text.count(count, bound);
  const a: AnomalyJson = {
    kind: 'count-bound', fatal: true, id: null, name: null, instance,
    message: `cpreg count ${count} at byte ${e.place?.offset}; nothing after it can be read`, qemuText,
  };
  return {
    schema: CHECK_SCHEMA, stream: streamPath,
    destination: { path: dest.path, origin: dest.model.origin, machineType: dest.model.machineType ?? null },
    verdict: 'reject', loader: spec.name, accel: dest.model.accel ?? 'tcg', policies: [], anomalies: [],
    cpus: [{ instance, verdict: 'reject', qemuError: qemuText, anomalies: [a] }],
    qemuError: qemuText,
    warnings: crash ? [`cpu ${instance}: QEMU 11.1 does not refuse a cpreg count of ${count}: it tries to allocate ${(BigInt(count >>> 0) * 8n).toString()} bytes and aborts (the destination process dies)`] : [],
    notes: [],
  };
}

/**
 * Legacy "what if": drops the registers the policies make ignorable from one vCPU's incoming
 * list — hidden ones always, the tolerating kinds when the destination lacks the register,
 * value-tested ones when their value passes — and reports each.
 */
function applyPoliciesLegacy(cpu: CpuSection, dest: LoadedDestination, policies: PolicySet, accel: Accel): { cpu: CpuSection; anomalies: Anomaly[] } {
  const destCpu = destinationCpuFor(dest.model, cpu.instance);
  const onDest = destCpu ? new Set(destCpu.ids) : new Set<bigint>();
  const ids: bigint[] = [];
  const values: bigint[] = [];
  const anomalies: Anomaly[] = [];
  const note = (kind: 'tolerated' | 'policy-violation', id: bigint, value: bigint, r: ResolvedRule, message: string): void => {
    anomalies.push({ kind, fatal: kind === 'policy-violation', id: hex64(id), reg: id, name: regName(id, accel), instance: cpu.instance, value, message, qemuText: null, policy: { source: r.source, kind: r.kind, ...(r.mask !== undefined ? { mask: r.mask, value: r.value } : {}) } });
  };
  cpu.ids.forEach((id, i) => {
    const value = cpu.values[i]!;
    const rules = policies.get(id);
    const absent = !onDest.has(id);
    const flag = rules?.hidden ?? (absent ? (rules?.safeMissing ?? rules?.notOnBothEnds) : undefined);
    if (flag) return note('tolerated', id, value, flag, `${flag.kind} (${flag.source}): left out of the load`);
    const masked = rules?.requireValue ?? (absent ? rules?.onlySrcTestValue : undefined);
    if (masked) {
      if ((value & masked.mask!) === masked.value) return note('tolerated', id, value, masked, `${describeRule(masked)} (${masked.source}): value passes, left out of the load`);
      note('policy-violation', id, value, masked, `${describeRule(masked)} (${masked.source}): value ${hex64(value)} fails the test`);
    }
    ids.push(id);
    values.push(value);
  });
  return { cpu: { ...cpu, ids, values, count: ids.length }, anomalies };
}

/** Options of {@link renderCheck}. */
export interface CheckRenderOptions extends RenderOptions {
  /** Only what makes the load fail: fatal findings of the vCPUs it refuses (a refused rewrite). */
  fatalOnly?: boolean;
}

/** Human rendering of {@link CheckReport}. */
export function renderCheck(r: CheckReport, o: CheckRenderOptions = {}): string {
  const st = o.style ?? PLAIN;
  const out: string[] = [];
  const verdict = r.verdict === 'accept' ? st.ok(st.bold('ACCEPT')) : st.bad(st.bold('REJECT'));
  out.push(`${verdict}: ${r.stream} → ${r.destination.path} (loader ${r.loader}, ${r.accel}${r.policies.length ? `, policies ${r.policies.join(', ')}` : ''})`);
  for (const a of r.anomalies) if (a.fatal || !o.fatalOnly) out.push(`  ${a.fatal ? st.bad('fatal') : 'note '}  ${a.kind}: ${a.message}`);
  for (const c of r.cpus) {
    if (o.fatalOnly && c.verdict === 'accept') continue;
    const shown = o.fatalOnly ? c.anomalies.filter((a) => a.fatal) : c.anomalies;
    out.push(`cpu ${c.instance}: ${c.verdict === 'accept' ? c.verdict : st.bad(c.verdict)}${shown.length ? `, ${shown.length} ${o.fatalOnly ? 'fatal ' : ''}finding(s)` : ''}`);
    if (shown.length) {
      out.push(
        table(
          ['', 'kind', 'id', 'name', 'detail'],
          shown.map((a) => [a.fatal ? st.bad('fatal') : '', a.kind, a.id ?? '', a.name ?? '', a.message]),
        ).replace(/^/gm, '  '),
      );
    }
  }
  if (r.qemuError) {
    // The destination's own lines for the first vCPU it refuses (QEMU stops there).
    const first = r.cpus.find((c) => c.verdict === 'reject');
    // A failed count check ends the load before anything else is looked at.
    // So does a crash on a subsection (the process dies before post-load).
    const stopsEarly =
      r.anomalies.length > 0 ||
      first?.anomalies.some((a) => (a.kind === 'count-bound' && a.fatal) || (a.fatal && a.detail?.outcome === 'crash' && a.qemuText === first.qemuError));
    const lines = stopsEarly ? [] : (first?.anomalies.flatMap((a) => a.qemuText?.split('\n') ?? []) ?? []);
    const log = [...new Set([...lines, ...r.qemuError.split('\n')])];
    out.push('QEMU would print:', log.join('\n').replace(/^/gm, '  '));
  }
  if (!o.quiet) {
    for (const w of r.warnings) out.push(st.warn(`warning: ${w}`));
    for (const n of r.notes) out.push(st.dim(`note: ${n}`));
  }
  return out.join('\n');
}
