/**
 * The check: would the destination QEMU load this stream, and if not, why — every reason, in
 * the order QEMU meets them (machine type; per vCPU: count, subsections, post-load), the lines
 * QEMU would print, and how its load would end. Data only; report/check.ts renders it.
 * @module
 */
import { decodeStream, type DecodedStream, type DecodeLimits, type StreamInput } from '../stream/decode.js';
import type { CpuSection } from '../stream/records.js';
import {
  compareMachineType,
  compareSubsections,
  CRASHING_CPU_SUBSECTIONS,
  destinationCpuFor,
  GENERATION_VERSIONS,
  generationOfLoader,
  matchCpregs,
  resolveLoader,
  subsectionCrashes,
  type Anomaly,
  type CpuSubsection,
  type DestinationOrigin,
  type LoaderName,
  type MatchResult,
} from '../match/index.js';
import { combinePolicies, describeRule, policyStep, type Policy, type PolicySet, type ResolvedRule } from '../policy/index.js';
import { hex64, inferAccel, regName, type Accel } from '../regs/index.js';
import { knownSubsections, loadDestination, type Destination } from '../destination/load.js';
import { destinationFacts, inferLoader, type DestinationFacts } from '../destination/infer.js';
import { kernelRules, versionText } from '../match/index.js';
import { StreamFormatError } from '../errors.js';

/** Options of {@link checkStream}. */
export interface CheckOptions {
  /**
   * The destination's load semantics: a loader name or alias (default: inferred from the
   * destination, see destination/infer.ts; `legacy`, QEMU 7.2 … 10.2, when nothing tells).
   */
  loader?: string;
  /** The destination's accelerator (default: the destination's, else inferred from the stream). */
  accel?: Accel;
  /** Under KVM, the destination's kernel release (default: a profile's, else inferred from the destination's list). */
  kernel?: string;
  /** Policies the destination applies (see `policiesFrom`). */
  policies?: Policy[];
  /** Caps for decoding the stream (and a destination given as a path). */
  limits?: Partial<DecodeLimits>;
  /** How the result names the stream (default: its path, else `stream`). */
  name?: string;
  /** Given the stream as decoded (with the subsections of every device), e.g. to plan a rewrite of it. */
  onDecoded?: (s: DecodedStream) => void;
}

/** The verdict on one device section (today: each `cpu` section). */
export interface DeviceCheck {
  /** Section idstr, e.g. `cpu`. */
  name: string;
  instance: number;
  verdict: 'accept' | 'reject';
  /** How QEMU's load ends on this device, when it refuses it. */
  qemuError: string | null;
  /** Every finding, in the order QEMU meets them. */
  anomalies: Anomaly[];
  /** Under KVM, every line QEMU prints for it in order (also when it loads); else undefined. */
  qemuLines?: string[];
}

/** How the destination's load would end. */
export type LoadOutcome = 'load' | 'refuse' | 'crash';

/** What the check assumed about the destination, and what told it (JSON-ready). */
export interface CheckFacts {
  loader: { name: string; from: string; given: boolean };
  accel: { value: Accel; from: string; given: boolean };
  /** Under KVM: the kernel whose KVM_SET_ONE_REG rules were applied. */
  kernel: { version: string; release: string | null; from: string; exact: boolean; evidence: string } | null;
}

/** Everything a check found. */
export interface CheckResult {
  stream: string;
  destination: { path: string; origin: DestinationOrigin; machineType: string | null };
  /** `reject` when QEMU would refuse (or crash on) the stream, or a policy is violated. */
  verdict: 'accept' | 'reject';
  loader: LoaderName;
  accel: Accel;
  /** The loader, accelerator and kernel the check assumed, and what told each. */
  facts: CheckFacts;
  /** Names of the policies in effect, built-ins included. */
  policies: string[];
  /** Findings about the stream as a whole (machine type). */
  anomalies: Anomaly[];
  /** Per device section, in stream order. */
  devices: DeviceCheck[];
  /** How QEMU's load would end. */
  outcome: LoadOutcome;
  /** What QEMU prints when it stops (its first failure), or null. */
  qemuError: string | null;
  /** Every line QEMU would print, in order (without the `qemu-system-aarch64: ` prefix). */
  qemuLines: string[];
  /** Where QEMU would crash instead of refusing, and other cautions. */
  warnings: string[];
  notes: string[];
}

function isDecoded(x: unknown): x is DecodedStream {
  return typeof x === 'object' && x !== null && Array.isArray((x as DecodedStream).cpus) && 'eofOffset' in x;
}

/**
 * Predicts what a destination QEMU does with a stream: the verdict, every reason, and what
 * QEMU would print. `source` is a stream (a path, bytes, …) or one decoded already;
 * `destination` a loaded {@link Destination} or a path for {@link loadDestination}.
 *
 * A stream whose cpreg count is negative cannot be decoded past it; no QEMU loads it either,
 * and the result says what each would do.
 *
 * @example
 * ```ts
 * import { checkStream } from 'vmstate';
 * const r = await checkStream('samples/qemu-10.0/virt-7.2_cortex-a57.mig', 'samples/qemu-7.2/virt-7.2_cortex-a57.mig');
 * const [count, first] = r.devices[0].anomalies;
 * console.log(r.verdict, r.outcome, count.kind, first.kind, first.name);
 * // prints: reject refuse count-bound unexpected OSDTRRX_EL1
 * console.log(r.qemuLines.join('\n'));
 * // prints: Invalid value 275 expecting positive value <= 258
 * // prints: Failed to load cpu:cpreg_vmstate_array_len
 * // prints: error while loading state for instance 0x0 of device 'cpu'
 * // prints: load of migration failed: Invalid argument
 * ```
 */
export async function checkStream(source: StreamInput | DecodedStream, destination: Destination | string, options: CheckOptions = {}): Promise<CheckResult> {
  const dest = typeof destination === 'string' ? await loadDestination(destination, { limits: options.limits }) : destination;
  const name = options.name ?? (typeof source === 'string' ? source : 'stream');
  let s: DecodedStream;
  try {
    s = isDecoded(source) ? source : await decodeStream(source, { limits: options.limits, deviceSubsections: !!options.onDecoded });
  } catch (e) {
    // No QEMU gets past a negative count either; say what each would do with it.
    if (e instanceof StreamFormatError && typeof e.data.negativeCount === 'number') {
      const facts = destinationFacts(dest, { loader: options.loader, accel: options.accel, kernel: options.kernel });
      return checkNegativeCount(name, dest, facts, e.data.negativeCount, Number(e.data.instance ?? 0), e.place?.offset ?? -1);
    }
    throw e;
  }
  options.onDecoded?.(s);
  return checkDecoded(name, s, dest, options);
}

function factsJson(f: DestinationFacts): CheckFacts {
  const k = f.kernel;
  return {
    loader: { name: f.loader.value, from: f.loader.from, given: f.loader.given },
    accel: { value: f.accel.value, from: f.accel.from, given: f.accel.given },
    kernel: k ? { version: versionText(k.version), release: k.release, from: k.from, exact: k.exact, evidence: k.evidence } : null,
  };
}

/** {@link checkStream} on a decoded stream (`name` names it in the result). */
export function checkDecoded(name: string, s: DecodedStream, dest: Destination, opts: CheckOptions): CheckResult {
  const facts = destinationFacts(dest, { loader: opts.loader, accel: opts.accel, kernel: opts.kernel }, s.cpus.flatMap((c) => c.ids));
  const loader = facts.loader.value;
  const accel = facts.accel.value;
  const policies = combinePolicies(opts.policies ?? [], accel);
  // QEMU 7.2…10.2 have no policy mechanism: with policies, answer "what if the destination
  // (and the source, which shares the machine type) applied them" by leaving out of the
  // incoming list what they make ignorable, then running the unchanged legacy load.
  const whatIf = resolveLoader(loader).name === 'legacy' && !policies.isEmpty;
  const filtered = s.cpus.map((c) => (whatIf ? applyPoliciesLegacy(c, dest, policies, accel) : { cpu: c, anomalies: [] as Anomaly[] }));
  // The destination's QEMU generation: named by the loader alias, else shown by its own stream.
  const generation = generationOfLoader(loader) ?? dest.generation;
  const match: MatchResult = matchCpregs(
    filtered.map(({ cpu: c }) => ({ instance: c.instance, ids: c.ids, values: c.values, count: c.count })),
    dest.model,
    { loader, accel, policies: whatIf ? [] : policies, generation, ...(facts.kernel ? { kernel: kernelRules(facts.kernel.version) } : {}) },
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
  const known = knownSubsections(dest, generationOfLoader(loader));
  const crashing = generation && dest.model.subsections ? CRASHING_CPU_SUBSECTIONS[generation] : [];
  const warnings: string[] = [];
  const crashes = new Map<number, string>();
  const devices: DeviceCheck[] = match.cpus.map((v) => {
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
    } else if (!countFailed && subFatal) {
      const own = subFatal.kind === 'unknown-subsection' ? resolveLoader(loader).text.unknownSubsection(v.instance) : null;
      qemuError = own ?? `${subFatal.qemuText}\nerror while loading state for instance 0x${v.instance.toString(16)} of device 'cpu'`;
    }
    const ok = v.ok && !subFatal;
    const device: DeviceCheck = { name: 'cpu', instance: v.instance, verdict: ok ? 'accept' : 'reject', qemuError: ok ? null : qemuError, anomalies };
    // Under KVM the vCPU's lines come whole from the load model, when its post_load runs.
    if (v.qemuLines && !countFailed && !subFatal) device.qemuLines = v.qemuLines;
    return device;
  });
  const reject = !!machine || devices.some((c) => c.verdict === 'reject');
  const first = devices.find((c) => c.verdict === 'reject');
  // QEMU loads the cpu sections in order: only the first refused one decides how the load ends.
  const crashed = !machine && first ? crashes.get(first.instance) : undefined;
  if (crashed) {
    warnings.push(`cpu ${first!.instance}: QEMU ${GENERATION_VERSIONS[generation!]} does not refuse subsection '${crashed}': it aborts on an assertion (the destination process crashes)`);
  }
  const qemuError = machine ? machine.qemuText : (first?.qemuError ?? null);
  return {
    stream: name,
    destination: { path: dest.path, origin: dest.model.origin, machineType: dest.model.machineType ?? null },
    verdict: reject ? 'reject' : 'accept',
    loader: match.loader,
    accel,
    facts: factsJson(facts),
    policies: match.policies,
    anomalies: global,
    devices,
    outcome: qemuError === null ? 'load' : crashed ? 'crash' : 'refuse',
    qemuError,
    qemuLines: qemuLines(global, first, qemuError, devices),
    warnings,
    notes: match.notes,
  };
}

/**
 * The lines QEMU prints for the first device it refuses: each finding's own lines, then how
 * the load ends — only the latter when the load stops before the findings are reached (a
 * failed machine type or count check, or a crash on a subsection).
 */
function qemuLines(global: readonly Anomaly[], first: DeviceCheck | undefined, qemuError: string | null, devices: readonly DeviceCheck[] = []): string[] {
  if (!qemuError) return devices.flatMap((d) => d.qemuLines ?? []);
  if (global.length === 0 && first?.qemuLines) {
    // QEMU loads the vCPUs in order: the ones before the refused one printed their lines too.
    return [...devices.slice(0, devices.indexOf(first)).flatMap((d) => d.qemuLines ?? []), ...first.qemuLines];
  }
  const stopsEarly =
    global.length > 0 ||
    first?.anomalies.some(
      (a) =>
        (a.kind === 'count-bound' && a.fatal) ||
        (a.fatal && a.detail?.outcome === 'crash' && a.qemuText === first.qemuError) ||
        // A refused subsection stops the section before post_load: no merge line is printed.
        (a.fatal && (a.kind === 'unknown-subsection' || a.kind === 'subsection-version')),
    );
  const lines = stopsEarly ? [] : (first?.anomalies.flatMap((a) => a.qemuText?.split('\n') ?? []) ?? []);
  return [...new Set([...lines, ...qemuError.split('\n')])];
}

/**
 * The result for a stream whose cpu section `instance` carries the negative cpreg count
 * `count` (at byte `offset`): QEMU 7.2 … 10.2 refuse it at the count check; QEMU 11.1 sizes an
 * allocation by it and aborts.
 */
function checkNegativeCount(name: string, dest: Destination, facts: DestinationFacts, count: number, instance: number, offset: number): CheckResult {
  const spec = resolveLoader(facts.loader.value);
  const bound = destinationCpuFor(dest.model, instance)?.ids.length ?? 0;
  const crash = spec.count.kind === 'allocate';
  const qemuText = crash ? spec.text.count(count, null) : spec.text.count(count, bound);
  const a: Anomaly = {
    kind: 'count-bound', fatal: true, id: null, reg: null, name: null, instance,
    message: `cpreg count ${count} at byte ${offset}; nothing after it can be read`, qemuText,
  };
  const device: DeviceCheck = { name: 'cpu', instance, verdict: 'reject', qemuError: qemuText, anomalies: [a] };
  return {
    stream: name,
    destination: { path: dest.path, origin: dest.model.origin, machineType: dest.model.machineType ?? null },
    verdict: 'reject', loader: spec.name, accel: facts.accel.value, facts: factsJson(facts), policies: [], anomalies: [],
    devices: [device],
    outcome: crash ? 'crash' : 'refuse',
    qemuError: qemuText,
    qemuLines: qemuLines([], device, qemuText),
    warnings: crash ? [`cpu ${instance}: QEMU 11.1 does not refuse a cpreg count of ${count}: it tries to allocate ${(BigInt(count >>> 0) * 8n).toString()} bytes and aborts (the destination process dies)`] : [],
    notes: [],
  };
}

/**
 * Legacy "what if": drops the registers the policies make ignorable from one vCPU's incoming
 * list (the policy ladder, see policy/ladder.ts) and reports each.
 */
function applyPoliciesLegacy(cpu: CpuSection, dest: Destination, policies: PolicySet, accel: Accel): { cpu: CpuSection; anomalies: Anomaly[] } {
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
    const step = policyStep(policies.get(id), onDest.has(id), value);
    if (step.action === 'drop') {
      const r = step.rule;
      const why = r.mask === undefined ? `${r.kind} (${r.source}): left out of the load` : `${describeRule(r)} (${r.source}): value passes, left out of the load`;
      return note('tolerated', id, value, r, why);
    }
    if (step.action === 'violation') note('policy-violation', id, value, step.rule, `${describeRule(step.rule)} (${step.rule.source}): value ${hex64(value)} fails the test`);
    ids.push(id);
    values.push(value);
  });
  return { cpu: { ...cpu, ids, values, count: ids.length }, anomalies };
}
