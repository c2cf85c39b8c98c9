/**
 * The rewrite job: plan every vCPU's edits, copy the stream with them, and —
 * with a destination — re-check the result before the output is committed.
 * @module
 */
import { decodeStream, type DecodeLimits, type DecodedStream } from '../stream/decode.js';
import { combinePolicies, type Policy } from '../policy/index.js';
import type { Accel } from '../regs/index.js';
import { resolveRegList, splitList } from '../regs/queries.js';
import type { Destination } from '../destination/load.js';
import type { CheckResult } from '../check/check.js';
import { RefusalError } from '../errors.js';
import { applyPlan, planCpu, type CpuPlan, type PlanOptions } from './plan.js';
import { rewriteFile } from './rewrite-file.js';
import { checkRewriteRequest } from './request.js';

/** What to change, and towards which destination (see {@link rewriteStream}). */
export interface RewriteOptions {
  /** Plan and check only; write nothing. */
  dryRun?: boolean;
  /** Registers to remove from every vCPU: names or hex ids (comma-separated lists allowed). */
  strip?: string[];
  /** Policies whose ignorable registers are removed (hidden always, safe-missing unless the destination has it, …). */
  policies?: Policy[];
  /** The destination (loaded, or a path): re-checks the result before it is written. */
  dest?: Destination | string;
  /** Remove every register the destination lacks (needs `dest`). */
  stripUnknown?: boolean;
  /** Registers (names, hex ids, or `id-regs`) that take the destination's values (needs `dest`). */
  adopt?: string[];
  /** Drop `cpu` subsections the destination does not know (needs `dest`). */
  stripUnknownSubsections?: boolean;
  /** `cpu` subsections to drop, e.g. `cpu/wfxt-timer`. */
  stripSubsections?: string[];
  /** Strip require-value violations instead of refusing, and write even if the destination would still reject. */
  force?: boolean;
  /** Refuse (nothing written) when a `strip`, `adopt` or `stripSubsections` name matches nothing in the stream. */
  strictEdits?: boolean;
  /** The destination's load semantics for the re-check (default `legacy`). */
  loader?: string;
  /** Accelerator for register names (default: the destination's, else `tcg`). */
  accel?: Accel;
  limits?: Partial<DecodeLimits>;
  /**
   * Read and check every byte of the input, and write only bytes read (no clone of the input
   * file): slower on a large file, for a copy every byte of which was checked.
   */
  fullWalk?: boolean;
}

/** A named edit that found nothing to act on: no vCPU has the register or subsection. */
export interface UnmatchedEdit {
  /** `--strip`, `--adopt-dest-values` or `--strip-subsection`. */
  option: string;
  /** The name or id as given. */
  value: string;
}

/** What a rewrite did (or, with `dryRun`, would do). */
export interface RewriteResult {
  input: string;
  output: string | null;
  dryRun: boolean;
  /** Whether the output was written. */
  written: boolean;
  /** Per vCPU: registers removed, values changed, subsections dropped, refusals. */
  cpus: Omit<CpuPlan, 'edit'>[];
  /** The destination's predicted verdict on the result (with `dest`). */
  check: CheckResult | null;
  /** Named edits that matched nothing in the stream (each also a warning). */
  unmatched: UnmatchedEdit[];
}

/**
 * Copies the stream at `input` to `output` (`-` = standard output; a file appears only
 * complete) with the edits `options` ask for, so that the destination loads it: registers
 * stripped by name or by policy, destination values adopted, subsections dropped. With a
 * destination the result is re-checked first, and a result it would still reject is refused.
 * Every byte not edited is copied unchanged; the vmdesc is patched to match.
 *
 * @example
 * ```ts
 * import { rewriteStream } from 'vmstate';
 * const r = await rewriteStream('samples/qemu-10.0/virt-7.2_cortex-a57.mig', undefined, {
 *   dryRun: true,
 *   dest: 'samples/qemu-7.2/virt-7.2_cortex-a57.mig',
 *   stripUnknown: true,
 *   adopt: ['id-regs'],
 * });
 * console.log(r.cpus[0].countBefore, '->', r.cpus[0].countAfter, r.check?.verdict);
 * // prints: 275 -> 257 accept
 * ```
 * @throws RefusalError when a policy is violated, the destination would still reject the result
 * (unless `force`), or with `strictEdits` a named edit matched nothing; its `data.result` is what
 * was planned (nothing written), with the re-check that refused it.
 */
export async function rewriteStream(input: string, output: string | undefined, options: RewriteOptions = {}): Promise<RewriteResult> {
  checkRewriteRequest({ ...options, output });
  const dest = typeof options.dest === 'string' ? await (await import('../destination/load.js')).loadDestination(options.dest, { limits: options.limits }) : options.dest;
  const loader = options.loader ?? 'legacy';
  const accel = options.accel ?? dest?.model.accel ?? 'tcg';
  const adoptList = splitList(options.adopt ?? []);
  const strip = resolveRegList(options.strip ?? [], accel, '--strip');
  const adopt = resolveRegList(adoptList.filter((x) => x !== 'id-regs'), accel, '--adopt-dest-values');
  const opts: PlanOptions = {
    accel,
    strip: new Set(strip.flatMap((r) => r.ids)),
    policies: combinePolicies(options.policies ?? [], accel),
    stripUnknown: !!options.stripUnknown,
    adopt: { idRegs: adoptList.includes('id-regs'), ids: new Set(adopt.flatMap((r) => r.ids)) },
    stripSubsections: new Set(options.stripSubsections ?? []),
    force: !!options.force,
  };
  // Each named edit (a register's ids, or a subsection), until a vCPU shows it something to act on.
  const pending: (UnmatchedEdit & { ids?: readonly bigint[] })[] = [
    ...strip.map(({ query, ids }) => ({ option: '--strip', value: query, ids })),
    ...adopt.map(({ query, ids }) => ({ option: '--adopt-dest-values', value: query, ids })),
    ...[...opts.stripSubsections].map((value) => ({ option: '--strip-subsection', value })),
  ];
  const unmatched = (): UnmatchedEdit[] => pending.map(({ option, value }) => ({ option, value }));
  // The matcher and the check load only for a rewrite towards a destination.
  let check: typeof import('../check/check.js') | null = null;
  if (dest) {
    const [match, loaded, checkModule] = await Promise.all([import('../match/index.js'), import('../destination/load.js'), import('../check/check.js')]);
    check = checkModule;
    opts.destCpu = (i) => match.destinationCpuFor(dest.model, i);
    if (options.stripUnknownSubsections) opts.knownSubsections = loaded.knownSubsections(dest, match.generationOfLoader(loader)) ?? [];
  }
  const plans = new Map<number, CpuPlan>();
  const plan = (cpu: DecodedStream['cpus'][number]) => {
    if (pending.length) {
      const have = new Set(cpu.ids);
      const found = (e: (typeof pending)[number]) => (e.ids ? e.ids.some((id) => have.has(id)) : cpu.subsections.some((x) => x.name === e.value));
      for (let k = pending.length - 1; k >= 0; k--) if (found(pending[k]!)) pending.splice(k, 1);
    }
    const p = planCpu(cpu, opts);
    plans.set(cpu.instance, p);
    if (p.refused.length) {
      const r = p.refused[0]!;
      throw new RefusalError(`refusing to rewrite: cpu ${cpu.instance}: ${r.name ?? r.id} ${r.reason} (use --force to strip it anyway)`, { refused: p.refused });
    }
    return p.edit;
  };
  const recheck = (s: DecodedStream): CheckResult | null => {
    if (!dest || !check) return null;
    const after = { ...s, cpus: s.cpus.map((c) => applyPlan(c, plans.get(c.instance)!)) };
    return check.checkDecoded(output ?? input, after, dest, { loader, accel: options.accel });
  };
  let result: CheckResult | null = null;
  let streamed = false;
  const done = (written: boolean): RewriteResult => ({
    input,
    output: options.dryRun ? null : output!,
    dryRun: !!options.dryRun,
    written,
    cpus: [...plans.values()].map(({ edit: _e, ...rest }) => rest),
    check: result,
    unmatched: unmatched(),
  });
  try {
    if (options.dryRun) {
      const s = await decodeStream(input, { limits: options.limits });
      for (const c of s.cpus) plan(c);
      result = recheck(s);
    } else {
      await rewriteFile(input, output!, {
        limits: options.limits,
        fullWalk: options.fullWalk,
        editCpu: plan,
        beforeCommit: (s: DecodedStream, { written }) => {
          streamed = written;
          result = recheck(s);
          // From a pipe to a stream output the bytes are out before the verdict: say so, still refuse.
          const outcome = written
            ? `it was written to ${output === '-' ? 'standard output' : output} all the same (a stream fed from a pipe cannot be held back): do not load it`
            : 'nothing written';
          if (options.strictEdits && pending.length) {
            const what = pending.map((p) => `${p.option} ${p.value}`).join(', ');
            throw new RefusalError(`refusing to write ${output}: ${what} matched nothing in the stream (--strict-edits); ${outcome}`);
          }
          if (result && result.verdict === 'reject' && !options.force) {
            const fatal = [...result.anomalies, ...result.devices.flatMap((c) => c.anomalies)].filter((a) => a.fatal).length;
            throw new RefusalError(
              `refusing to write ${output}: the destination (loader ${result.loader}) would reject the rewritten stream (${fatal} fatal finding(s)); ${outcome} (--force writes it anyway, and the destination will refuse it)`,
            );
          }
        },
      });
    }
  } catch (e) {
    // A refusal carries what was planned, for the report that explains it.
    if (e instanceof RefusalError) throw new RefusalError(e.message, { ...e.data, result: done(streamed) });
    throw e;
  }
  return done(!options.dryRun);
}
