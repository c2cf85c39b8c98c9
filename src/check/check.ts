/**
 * The check: would the destination QEMU load this stream, and if not, why — every reason, in
 * the order QEMU meets them (machine type; per vCPU: count, subsections, post-load), the lines
 * QEMU would print, and how its load would end. Data only; report/check.ts renders it.
 * @module
 */
import { decodeStream, type DecodedStream, type DecodeLimits, type StreamInput } from '../stream/decode.js';
import type { CpuSection } from '../stream/records.js';
import {
  capabilityLines,
  compareCapabilities,
  compareDevice,
  compareMachineType,
  CRASHING_CPU_SUBSECTIONS,
  destinationCpuFor,
  deviceSections,
  GENERATION_VERSIONS,
  generationOfLoader,
  matchCpregs,
  messageStyle,
  onlyOnDestination,
  resolveLoader,
  type Anomaly,
  type CpuVerdict,
  type DeviceComparison,
  type DeviceSection,
  type DestinationModel,
  type DestinationOrigin,
  type LoaderName,
  type MatchResult,
  type SubsectionRef,
} from '../match/index.js';
import { combinePolicies, describeRule, policyStep, type Policy, type PolicySet, type ResolvedRule } from '../policy/index.js';
import { hex64, inferAccel, regName, type Accel } from '../regs/index.js';
import { loadDestination, type Destination } from '../destination/load.js';
import { knownVmsds } from '../destination/known-devices.js';
import { destinationFacts, type DestinationFacts } from '../destination/infer.js';
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

/** The verdict on one device section of the stream (every FULL section, `cpu` ones included). */
export interface DeviceCheck {
  /** Section idstr, e.g. `cpu`, `arm_gicv3`, `0000:00:02.0/virtio-net`. */
  name: string;
  instance: number;
  /** The VMStateDescription it was saved with; null for a section saved without one, or unknown. */
  vmsd: string | null;
  /** `depends`: QEMU may load or refuse it, by what memory it never initialised holds (a `missing-stale` register). */
  verdict: Verdict;
  /** How QEMU's load ends on this section when it reaches it and refuses it (its lines, joined). */
  qemuError: string | null;
  /** Every finding, in the order QEMU meets them: the section, its fields (cpreg count), subsections, post-load. */
  anomalies: Anomaly[];
  /** Under KVM, every line QEMU prints for it in order (also when it loads); else undefined. */
  qemuLines?: string[];
}

/**
 * A verdict: QEMU loads the stream, refuses it (or crashes), or either, by what memory it never
 * initialised holds when it loads (`depends`: see the `missing-stale` findings).
 */
export type Verdict = 'accept' | 'reject' | 'depends';

/** How the destination's load would end (`depends`: in one of several ways, see `alternatives`). */
export type LoadOutcome = 'load' | 'refuse' | 'crash' | 'depends';

/** One way QEMU's load can end, with what it prints. */
export interface LoadAlternative {
  outcome: 'load' | 'refuse' | 'crash';
  /** The failure QEMU stops on (its lines, joined), or null when it loads. */
  qemuError: string | null;
  qemuLines: string[];
}

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
  /**
   * `reject` when QEMU would refuse (or crash on) the stream, or a policy is violated; `depends`
   * when it may load or refuse it (memory QEMU never initialised decides, see `alternatives`).
   */
  verdict: Verdict;
  loader: LoaderName;
  accel: Accel;
  /** The loader, accelerator and kernel the check assumed, and what told each. */
  facts: CheckFacts;
  /** Names of the policies in effect, built-ins included. */
  policies: string[];
  /** Findings about the stream as a whole: the machine type, sections only the destination has. */
  anomalies: Anomaly[];
  /** Per device section, in stream order. */
  devices: DeviceCheck[];
  /** How QEMU's load would end. */
  outcome: LoadOutcome;
  /** What QEMU prints when it stops (its first failure), or null. */
  qemuError: string | null;
  /**
   * Every line QEMU would print while loading, in its order (without the `qemu-system-aarch64: `
   * prefix): what it prints for each section it loads, up to and including the first failure.
   * Warnings of a load that succeeds are here too. With outcome `depends`: the first of
   * {@link alternatives}.
   */
  qemuLines: string[];
  /**
   * With outcome `depends`: every way the load can end, in the order QEMU would meet them (it
   * refuses at the first uncertain vCPU, or at a later one, …, or gets past all of them).
   * Empty otherwise.
   */
  alternatives: LoadAlternative[];
  /** Where QEMU would crash instead of refusing, and other cautions. */
  warnings: string[];
  notes: string[];
}

function isDecoded(x: unknown): x is DecodedStream {
  return typeof x === 'object' && x !== null && Array.isArray((x as DecodedStream).cpus) && 'eofOffset' in x;
}

/**
 * Predicts what a destination QEMU does with a stream: every device section against the
 * destination's (there at all, a version it loads, laid out as it reads it, every subsection —
 * nested ones included — one it knows), every vCPU's cpreg lists, the verdict, every reason,
 * and what QEMU would print, line for line. `source` is a stream (a path, bytes, …) or one decoded already;
 * `destination` a loaded {@link Destination} or a path for {@link loadDestination}.
 *
 * A stream whose cpreg count is negative cannot be decoded past it; no QEMU loads it either,
 * and the result says what each would do.
 *
 * @example
 * ```ts
 * import { checkStream } from 'vmstate';
 * const r = await checkStream('samples/qemu-10.0/virt-7.2_cortex-a57.mig', 'samples/qemu-7.2/virt-7.2_cortex-a57.mig');
 * const [count, first] = r.devices.find((d) => d.name === 'cpu')!.anomalies;
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
  const style = messageStyle(match.loader);
  const global: Anomaly[] = [];
  // The configuration's capabilities subsection is checked as it loads, before the machine type
  // (the configuration's own post-load); 7.2 validates other capabilities and is not modelled.
  const destCaps = generation !== '7.2' ? dest.model.capabilities : undefined;
  const caps = s.configuration && destCaps ? compareCapabilities(s.configuration.capabilities, destCaps, style) : null;
  const machineType = s.configuration && dest.model.machineType ? compareMachineType(s.configuration.machine, dest.model.machineType, style) : null;
  const machine = caps ?? machineType;
  if (caps) global.push(caps);
  if (machineType) global.push(machineType);
  const known = knownVmsds(generation);
  const crashing = generation && (dest.model.devices || dest.model.subsections) ? CRASHING_CPU_SUBSECTIONS[generation] : [];
  const streamDevices = deviceSections(s.sections, s.vmdesc?.json.devices ?? null, s.cpus);
  const destIndex = dest.model.devices ? new Map(dest.model.devices.map((d) => [`${d.idstr}\0${d.instance}`, d])) : null;
  const verdicts = new Map(match.cpus.map((v) => [v.instance, v]));
  const steps: LoadStep[] = streamDevices.map((d) => {
    const to = destIndex ? destIndex.get(`${d.idstr}\0${d.instance}`) : destinationSection(d, dest.model);
    const cmp: DeviceComparison = to === null ? { section: [], subsections: [] } : compareDevice(d, to, { known, style, crashing });
    const cpu = d.idstr === 'cpu' ? verdicts.get(d.instance) : undefined;
    return deviceStep(d, cmp, cpu, !!destIndex);
  });
  if (destIndex && s.vmdesc) global.push(...onlyOnDestination(streamDevices, dest.model.devices!));
  // QEMU loads the configuration, then the sections in stream order, and stops at the first
  // failure; at a section whose outcome is open it either stops or goes on.
  const ways: (LoadAlternative & { crash: LoadStep['crash'] })[] = [];
  const lines: string[] = [];
  let ended = false;
  if (machine) {
    ways.push({ outcome: 'refuse', qemuError: machine.qemuText, qemuLines: machine.qemuText!.split('\n'), crash: null });
    ended = true;
  }
  for (const st of ended ? [] : steps) {
    lines.push(...st.printed);
    if (st.qemuError === null) continue;
    const stop = { outcome: st.crash ? ('crash' as const) : ('refuse' as const), qemuError: st.qemuError, qemuLines: [...lines, ...st.qemuError.split('\n')], crash: st.crash };
    ways.push(stop);
    if (!st.depends) {
      ended = true;
      break;
    }
  }
  if (!ended) ways.push({ outcome: 'load', qemuError: null, qemuLines: lines, crash: null });
  const first = ways[0]!;
  const warnings: string[] = [];
  // The capabilities QEMU validates are how the destination is started (migrate-set-capabilities
  // before migrate-incoming), which a saved stream does not fix: say what it must set.
  for (const cap of destCaps ? [] : (s.configuration?.capabilities ?? [])) {
    if (dest.model.capabilities?.includes(cap)) continue;
    const refusal = capabilityLines(style, [{ name: cap, local: false }])[0];
    warnings.push(`the stream was saved with capability ${cap}: start the destination with it too (migrate-set-capabilities before migrate-incoming), else QEMU refuses: '${refusal}'`);
  }
  const crashed = ways.find((w) => w.crash)?.crash;
  if (crashed) {
    warnings.push(`${crashed.device} ${crashed.instance}: QEMU ${GENERATION_VERSIONS[generation!]} does not refuse subsection '${crashed.name}': it aborts on an assertion (the destination process crashes)`);
  }
  const devices = steps.map((st) => st.check);
  const loads = ways.some((w) => w.outcome === 'load');
  const verdict: Verdict = !!machine || devices.some((c) => c.verdict === 'reject') || !loads ? 'reject' : ways.length > 1 ? 'depends' : 'accept';
  const outcomes = new Set(ways.map((w) => w.outcome));
  return {
    stream: name,
    destination: { path: dest.path, origin: dest.model.origin, machineType: dest.model.machineType ?? null },
    verdict,
    loader: match.loader,
    accel,
    facts: factsJson(facts),
    policies: match.policies,
    anomalies: global,
    devices,
    outcome: outcomes.size > 1 ? 'depends' : first.outcome,
    qemuError: first.qemuError,
    qemuLines: first.qemuLines,
    alternatives: ways.length > 1 ? ways.map(({ crash: _c, ...w }) => w) : [],
    warnings,
    notes: match.notes,
  };
}

/** One section as QEMU loads it: its check, what QEMU prints when it gets there, and how it fails. */
interface LoadStep {
  check: DeviceCheck;
  /** Lines QEMU prints while loading it that are not its failure (11.1's per-register lines). */
  printed: string[];
  /** QEMU's failure lines (joined) when it refuses the section, else null. */
  qemuError: string | null;
  /** The subsection QEMU aborts on, when the failure is a crash. */
  crash: { device: string; instance: number; name: string } | null;
  /** The failure is not certain: QEMU may as well load the section and go on. */
  depends: boolean;
}

/** A finding QEMU itself stops on (a require-value rule is this tool's, not QEMU's). */
const stopsQemu = (a: Anomaly): boolean => a.fatal && a.policy?.kind !== 'require-value' && a.kind !== 'policy-violation';

/**
 * One section's findings in QEMU's order — the section itself, its fields (for a vCPU: the cpreg
 * count), its subsections, then its post-load (a vCPU's lists) — and where QEMU stops in it.
 */
function deviceStep(d: DeviceSection, cmp: DeviceComparison, v: CpuVerdict | undefined, described: boolean): LoadStep {
  const subs = cmp.subsections.map((a) => (d.idstr === 'cpu' ? { ...a, instance: d.instance } : a));
  const sect = cmp.section.map((a) => (d.idstr === 'cpu' ? { ...a, instance: d.instance } : a));
  let anomalies: Anomaly[];
  let printed: string[] = [];
  let qemuError: string | null = null;
  let crash: LoadStep['crash'] = null;
  let depends = false;
  let kvmLines: string[] | undefined;
  const sectionStop = sect.find(stopsQemu);
  if (!v) {
    anomalies = [...sect, ...subs];
    const first = sectionStop ?? subs.find(stopsQemu);
    if (first) {
      qemuError = first.qemuText;
      if (first.detail?.outcome === 'crash') crash = { device: d.idstr, instance: d.instance, name: first.name! };
    }
  } else {
    // The matcher reports a vCPU missing from a register list; a described destination has
    // reported the section as unknown already.
    const own = described ? v.anomalies.filter((a) => a.kind !== 'unknown-instance') : v.anomalies;
    const count = own.filter((a) => a.kind === 'count-bound');
    const countFailed = count.some((a) => a.fatal);
    anomalies = countFailed ? [...sect, ...own, ...subs] : [...sect, ...count, ...subs, ...own.filter((a) => a.kind !== 'count-bound')];
    const subStop = subs.find(stopsQemu);
    if (sectionStop) qemuError = sectionStop.qemuText;
    else if (countFailed || (!subStop && v.qemuError !== null)) {
      printed = countFailed ? [] : v.printed;
      qemuError = v.qemuError;
      depends = !countFailed && v.qemuDepends;
    } else if (subStop) {
      qemuError = subStop.qemuText;
      if (subStop.detail?.outcome === 'crash') crash = { device: d.idstr, instance: d.instance, name: subStop.name! };
    } else printed = v.printed;
    // Under KVM the vCPU's lines come whole from the load model, when its post-load runs.
    if (v.qemuLines && !sectionStop && !countFailed && !subStop) kvmLines = v.qemuLines;
  }
  const verdict: Verdict = anomalies.some((a) => a.fatal) ? 'reject' : depends ? 'depends' : 'accept';
  return {
    check: {
      name: d.idstr,
      instance: d.instance,
      vmsd: d.vmsd,
      verdict,
      qemuError: verdict === 'accept' ? null : (qemuError ?? null),
      anomalies,
      ...(kvmLines ? { qemuLines: kvmLines } : {}),
    },
    printed,
    qemuError,
    crash,
    depends,
  };
}

/**
 * The destination's section for an incoming one when the destination does not list its
 * sections (a profile without them, a register list): a vCPU it has stands for a `cpu` section
 * (with the subsections it is known to carry); any other section cannot be compared (null).
 */
function destinationSection(d: DeviceSection, model: DestinationModel): DeviceSection | null | undefined {
  if (d.idstr !== 'cpu') return null;
  if (!destinationCpuFor(model, d.instance)) return null; // the matcher reports the missing vCPU
  const subsections: SubsectionRef[] | null = model.subsections
    ? model.subsections.map((x) => ({ name: x.name, version: x.version, parent: x.name.slice(0, x.name.lastIndexOf('/')), fields: [] }))
    : null;
  return { idstr: 'cpu', instance: d.instance, sectionId: d.sectionId, version: d.version, offset: -1, vmsd: 'cpu', subsections, layout: null };
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
  const countText = crash ? spec.text.count(count, null) : spec.text.count(count, bound);
  const tail = spec.text.failure(instance, 'count');
  const qemuText = tail ? `${countText}\n${tail}` : countText;
  const a: Anomaly = {
    kind: 'count-bound', fatal: true, id: null, reg: null, name: null, instance,
    message: `cpreg count ${count} at byte ${offset}; nothing after it can be read`, qemuText: countText,
  };
  const device: DeviceCheck = { name: 'cpu', instance, vmsd: 'cpu', verdict: 'reject', qemuError: qemuText, anomalies: [a] };
  return {
    stream: name,
    destination: { path: dest.path, origin: dest.model.origin, machineType: dest.model.machineType ?? null },
    verdict: 'reject', loader: spec.name, accel: facts.accel.value, facts: factsJson(facts), policies: [], anomalies: [],
    devices: [device],
    outcome: crash ? 'crash' : 'refuse',
    qemuError: qemuText,
    qemuLines: qemuText.split('\n'),
    alternatives: [],
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
