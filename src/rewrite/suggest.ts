/**
 * The next step after a REJECT: the `vmstate rewrite` command whose output the matcher
 * predicts the destination would load, or why no rewrite can make it load. The flags come from
 * the findings (and from what the rewrite would drop in device sections); every candidate is
 * planned and re-checked in-process, exactly as `rewrite` itself plans and re-checks, before it
 * is offered. The same planner serves `check` and a refused `rewrite`.
 * @module
 */
import { basename, dirname, extname, join } from 'node:path';
import type { DecodedStream, DecodeLimits } from '../stream/decode.js';
import type { Destination } from '../destination/load.js';
import { inferLoader } from '../destination/infer.js';
import type { Policy } from '../policy/index.js';
import type { Accel } from '../regs/index.js';
import { checkDecoded, type CheckResult } from '../check/check.js';
import type { Anomaly } from '../match/index.js';
import { hex64, lookupRegs } from '../regs/index.js';
import { adoptClassOf, ADOPT_CLASSES, ADOPT_MEANING, type AdoptClass } from './guest-effects.js';
import { planStream, type EditRequest, type StreamPlanner } from './stream-plan.js';

/** The next step a check or a refused rewrite offers. */
export interface Suggestion {
  /** The whole command (`vmstate rewrite …`), or null when no rewrite is predicted to load. */
  argv: string[] | null;
  /** The matcher's verdict on the output of {@link argv} (`accept`), or null without a command. */
  predictedVerdict: 'accept' | null;
  /** Why these edits, or why no rewrite can make the stream load. */
  reason: string;
  /** What the rewrite means for the guest, one line per kind of edit. */
  effects: string[];
}

/** How the suggestion is worded and what the rewrite would be told besides its edits. */
export interface SuggestContext {
  /** The stream as the user named it (`-` for standard input). */
  input: string;
  /** The destination as the user named it. */
  dest: string;
  /** The loader the user gave (`--loader`), if any: else inferred from the destination, and not repeated. */
  loader?: string;
  /** The accelerator the user gave (`--accel`), if any. */
  accel?: Accel;
  /** The destination kernel the user gave (`--kernel`), if any. */
  kernel?: string;
  /** Policies for the rewrite (what `--policy`, `--compat`, `--preset` chose). */
  policies?: Policy[];
  /** The options that chose them, repeated in the command. */
  policyArgs: string[];
  /** The output file to name (default: the input's name with `-rewritten` before its extension). */
  output?: string;
  limits?: Partial<DecodeLimits>;
}

/** Findings no rewrite of the stream can remove. */
const UNFIXABLE: Partial<Record<Anomaly['kind'], (a: Anomaly) => string>> = {
  'machine-type': (a) => `${a.message}: start the destination with the stream's machine type, or save the guest with the destination's`,
  capabilities: (a) => `${a.message}: set them on the destination (migrate-set-capabilities before migrate-incoming)`,
  'unknown-instance': (a) => `${a.message}: start the destination with as many vCPUs as the source had`,
  'policy-violation': (a) => `${a.name ?? a.id}: ${a.message} (a rewrite would have to remove it with --force)`,
  unsorted: (a) => `${a.name ?? a.id}: the stream's register list is out of order (${a.message})`,
  duplicate: (a) => `${a.name ?? a.id}: the stream's register list repeats an id (${a.message})`,
};

/** The `-o` name offered: next to the input, `-rewritten` before its extension. */
export function rewrittenName(input: string): string {
  if (input === '-') return 'rewritten.mig';
  const ext = extname(input);
  const stem = basename(input, ext);
  const dir = dirname(input);
  const name = `${stem}-rewritten${ext || '.mig'}`;
  return dir === '.' && !input.startsWith('./') ? name : join(dir, name);
}

/** The edit flags of a request, as `rewrite` takes them. */
export function requestFlags(r: EditRequest): string[] {
  const out: string[] = [];
  if (r.stripUnknown) out.push('--strip-unknown');
  if (r.adopt?.length) out.push('--adopt-dest-values', r.adopt.join(','));
  if (r.addMissing?.length) out.push('--add-missing', r.addMissing.join(','));
  if (r.stripUnknownSubsections) out.push('--strip-unknown-subsections');
  return out;
}

/** Everything fatal in a check, whole-stream findings first. */
function fatalOf(r: CheckResult): Anomaly[] {
  return [...r.anomalies, ...r.devices.flatMap((d) => d.anomalies)].filter((a) => a.fatal);
}

/** What a planned rewrite means for the guest, in a few lines. */
function effectsOf(p: StreamPlanner): string[] {
  const cpus = [...p.cpus.values()];
  const out: string[] = [];
  const adopted = new Map<AdoptClass | null, Set<string>>();
  for (const c of cpus) for (const ch of c.changed) adopted.set(ch.class, (adopted.get(ch.class) ?? new Set()).add(ch.name ?? ch.id));
  for (const [cls, regs] of adopted) {
    if (cls) out.push(`takes the destination's ${cls} (${regs.size} register${regs.size > 1 ? 's' : ''}): changes ${ADOPT_MEANING[cls]}`);
    else out.push(`takes the destination's values of ${[...regs].join(', ')}`);
  }
  const removed = new Map<string, number>();
  for (const c of cpus) for (const r of c.removed) removed.set(r.effect, (removed.get(r.effect) ?? 0) + 1);
  const reset = removed.get('reset-value') ?? 0;
  const dropped = removed.get('value-dropped') ?? 0;
  if (reset) out.push(`removes ${reset} register value${reset > 1 ? 's' : ''} at their reset value (nothing lost)`);
  if (dropped) out.push(`removes ${dropped} register value${dropped > 1 ? 's' : ''} the destination does not migrate (dropped)`);
  const inserted = cpus.reduce((n, c) => n + c.inserted.length, 0);
  if (inserted) out.push(`puts in ${inserted} register value${inserted > 1 ? 's' : ''} the destination fixes anyway (its constants)`);
  const subs = new Set<string>();
  for (const c of cpus) for (const s of c.droppedSubsections) subs.add(s.name);
  for (const d of p.devicePlans()) for (const s of d.droppedSubsections) subs.add(s.name);
  if (subs.size) out.push(subs.size > 1 ? `drops subsections ${[...subs].join(', ')} (at their defaults)` : `drops subsection ${[...subs][0]} (at its default)`);
  return out;
}

/**
 * The next step for a stream the destination refuses. `s` is the stream as decoded (with
 * `deviceSubsections`); `check` is the verdict the user saw, if at hand (else it is computed).
 */
export function suggestRewrite(s: DecodedStream, dest: Destination, ctx: SuggestContext, check?: CheckResult): Suggestion {
  const accel = ctx.accel ?? dest.model.accel ?? 'tcg';
  const given = { loader: ctx.loader, accel: ctx.accel, kernel: ctx.kernel };
  const loader = inferLoader(dest, ctx.loader).value;
  const original = check ?? checkDecoded(ctx.input, s, dest, { ...given, policies: ctx.policies });
  const fatal = fatalOf(original);
  const none = (reason: string): Suggestion => ({ argv: null, predictedVerdict: null, reason, effects: [] });
  const blocking = fatal.filter((a) => UNFIXABLE[a.kind]).map((a) => UNFIXABLE[a.kind]!(a));
  if (blocking.length) return none(`no rewrite can make it load: ${[...new Set(blocking)].join('; ')}`);

  const candidates = candidateRequests(s, dest, ctx, loader, accel, fatal);
  let last: { request: EditRequest; result: CheckResult } | null = null;
  for (const request of candidates) {
    const p = planStream(s, { ...request, policies: ctx.policies }, dest, loader, accel);
    const refusals = p.refusals();
    if (refusals.length) {
      return none(`no rewrite can make it load without losing what the guest uses: ${refusals.slice(0, 3).join('; ')}${refusals.length > 3 ? `; and ${refusals.length - 3} more` : ''}`);
    }
    const result = checkDecoded(ctx.input, p.after(s), dest, given);
    if (result.verdict === 'accept') {
      const argv = ['vmstate', 'rewrite', ctx.input, '-o', ctx.output ?? rewrittenName(ctx.input), '--dest', ctx.dest];
      if (ctx.loader) argv.push('--loader', ctx.loader);
      if (ctx.accel) argv.push('--accel', ctx.accel);
      if (ctx.kernel) argv.push('--kernel', ctx.kernel);
      argv.push(...ctx.policyArgs, ...requestFlags(request));
      return { argv, predictedVerdict: 'accept', reason: reasonFor(request, fatal), effects: effectsOf(p) };
    }
    last = { request, result };
  }
  if (!last) return none('no edit of the stream addresses what the destination refuses');
  const after = `even after ${requestFlags(last.request).join(' ') || 'every edit'}`;
  const left = fatalOf(last.result).slice(0, 3).map((a) => `${a.name ?? a.kind}: ${a.message}`);
  if (!left.length && last.result.verdict === 'depends') {
    // Nothing certain is left: registers no edit may invent are read back from stale memory.
    const open = [...new Set(last.result.devices.flatMap((d) => d.anomalies).filter((a) => a.kind === 'missing-stale').map((a) => a.name ?? a.id ?? ''))];
    const named = `${open.slice(0, 3).join(', ')}${open.length > 3 ? ` and ${open.length - 3} more` : ''}`;
    return none(
      `no rewrite is predicted to load for certain: ${after}, the destination may load or refuse it, by what memory it never initialised holds for ${open.length} register${open.length > 1 ? 's' : ''} the stream lacks and no edit may invent (${named})`,
    );
  }
  return none(`no rewrite is predicted to load: ${after}, the destination would refuse it (${left.join('; ')})`);
}

/** Why the offered edits, from the findings they answer. */
function reasonFor(r: EditRequest, fatal: readonly Anomaly[]): string {
  const kinds = new Set(fatal.map((a) => a.kind));
  const why: string[] = [];
  if (r.stripUnknown) why.push(kinds.has('count-bound') ? 'more registers than the destination takes' : 'registers the destination does not have');
  if (r.adopt?.length) why.push(`values the destination does not take (${r.adopt.join(', ')})`);
  if (r.addMissing?.length) why.push('constants the destination expects and the stream lacks');
  if (r.stripUnknownSubsections) why.push('subsections the destination does not know or cannot take');
  return `the stream carries ${why.join('; ')}`;
}

/**
 * The requests to try, smallest first: the edits the findings call for, then every edit that
 * changes something towards this destination.
 */
function candidateRequests(s: DecodedStream, dest: Destination, ctx: SuggestContext, loader: string, accel: Accel, fatal: readonly Anomaly[]): EditRequest[] {
  const min: EditRequest = {};
  const destIds = new Set(dest.model.cpus.flatMap((c) => c.ids));
  const onBoth = (id: bigint) => destIds.has(id) && s.cpus.some((c) => c.ids.includes(id));
  const classes = new Set<AdoptClass>();
  const named = new Set<string>();
  for (const a of fatal) {
    if (a.kind === 'count-bound' || a.kind === 'unexpected' || a.kind === 'ignored-tail') min.stripUnknown = true;
    else if (a.kind === 'missing-const' || a.kind === 'missing') min.addMissing = ['const'];
    else if (a.kind === 'unknown-subsection' || a.kind === 'subsection-version') min.stripUnknownSubsections = true;
    else if (a.reg !== null && onBoth(a.reg)) {
      // A value the destination does not take: its own value, for the class that names it.
      const cls = adoptClassOf(a.reg);
      if (cls) classes.add(cls);
      else named.add(a.name ?? hex64(a.reg));
    } else if (a.kind === 'kvm-refused' && typeof a.detail?.hiddenBy === 'string') {
      // A register the stream lacks, written back at the destination's value and refused because
      // a lower ID value written before it hides it: the destination's ID value shows it again.
      const hider = lookupRegs(a.detail.hiddenBy.split('.')[0]!, 'kvm')[0];
      const cls = hider !== undefined && onBoth(hider) ? adoptClassOf(hider) : null;
      if (cls) classes.add(cls);
    }
  }
  // Device sections: what the destination's QEMU does not send is dropped when the flag is given.
  const probe = planStream(s, { stripUnknownSubsections: true, addMissing: ['const'], policies: ctx.policies }, dest, loader, accel);
  if ([...probe.cpus.values()].some((c) => c.droppedSubsections.length || c.refusedSubsections.length) || probe.devicePlans().length) min.stripUnknownSubsections = true;
  const inserts = [...probe.cpus.values()].some((c) => c.inserted.length);
  if (min.addMissing && !inserts) delete min.addMissing;
  const adopt = (c: Iterable<AdoptClass>, n: Iterable<string>) => [...ADOPT_CLASSES.filter((x) => [...c].includes(x)), ...n];
  if (classes.size || named.size) min.adopt = adopt(classes, named);

  // Everything: every register the destination lacks, every class whose values differ.
  const all: EditRequest = { ...min };
  const differing = new Set<AdoptClass>(classes);
  let unknown = false;
  for (const c of s.cpus) {
    const d = dest.model.cpus.find((x) => x.instance === c.instance) ?? (dest.model.shared ? dest.model.cpus[0] : undefined);
    if (!d) continue;
    const at = new Map(d.ids.map((id, i) => [id, d.values?.[i] ?? null]));
    c.ids.forEach((id, i) => {
      if (!at.has(id)) return void (unknown = true);
      const dv = at.get(id);
      const cls = adoptClassOf(id);
      if (cls && dv !== null && dv !== undefined && dv !== c.values[i]) differing.add(cls);
    });
  }
  if (unknown) all.stripUnknown = true;
  if (inserts) all.addMissing = ['const'];
  if (differing.size || named.size) all.adopt = adopt(differing, named);
  const same = JSON.stringify(requestFlags(min)) === JSON.stringify(requestFlags(all));
  const out = requestFlags(min).length ? [min] : [];
  if (!same || !out.length) out.push(all);
  return out.filter((r) => requestFlags(r).length);
}
