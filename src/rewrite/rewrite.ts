/**
 * The rewrite job: plan every section's edits, copy the stream with them, and — with a
 * destination — re-check the result before the output is committed.
 * @module
 */
import { decodeStream, type DecodeLimits, type DecodedStream } from '../stream/decode.js';
import type { Accel } from '../regs/index.js';
import type { Destination } from '../destination/load.js';
import type { CheckResult } from '../check/check.js';
import { RefusalError, UsageError } from '../errors.js';
import { adoptedClasses, type CpuPlan } from './plan.js';
import type { DevicePlan } from './plan-devices.js';
import { rewriteFile } from './rewrite-file.js';
import { checkRewriteRequest } from './request.js';
import { StreamPlanner, type EditRequest, type UnmatchedEdit } from './stream-plan.js';
import type { AdoptClass } from './guest-effects.js';
import type { Suggestion } from './suggest.js';

export type { UnmatchedEdit } from './stream-plan.js';

/** What to change, and towards which destination (see {@link rewriteStream}). */
export interface RewriteOptions extends EditRequest {
  /** Plan and check only; write nothing. */
  dryRun?: boolean;
  /** The destination (loaded, or a path): re-checks the result before it is written. */
  dest?: Destination | string;
  /** Refuse (nothing written) when a `strip` or `adopt` register matches nothing in the stream. */
  strictEdits?: boolean;
  /** The destination's load semantics for the re-check (default: inferred from the destination, else `legacy`). */
  loader?: string;
  /** Accelerator for register names (default: the destination's, else `tcg`). */
  accel?: Accel;
  /** Under KVM, the destination's kernel release for the re-check (default: inferred from the destination). */
  kernel?: string;
  limits?: Partial<DecodeLimits>;
  /**
   * Read and check every byte of the input, and write only bytes read (no clone of the input
   * file): slower on a large file, for a copy every byte of which was checked.
   */
  fullWalk?: boolean;
  /**
   * How the next-step hint of a refused rewrite names things: the input and destination as the
   * user gave them, and the options that chose the destination's policies (default: the paths).
   */
  hint?: { input?: string; dest?: string; policyArgs?: string[] };
}

/** A class of guest-visible values the rewrite took from the destination. */
export interface AdoptedClass {
  class: AdoptClass;
  /** Registers of that class changed (counted once across vCPUs). */
  registers: number;
  /** What the guest was told that changes. */
  meaning: string;
}

/** What a rewrite did (or, with `dryRun`, would do). */
export interface RewriteResult {
  input: string;
  output: string | null;
  dryRun: boolean;
  /** Whether the output was written. */
  written: boolean;
  /** Per vCPU: registers removed, values changed, registers put in, subsections dropped, refusals. */
  cpus: Omit<CpuPlan, 'edit'>[];
  /** Device sections other than `cpu` whose subsections were dropped (or refused). */
  devices: DevicePlan[];
  /** The classes of guest-visible values taken from the destination. */
  adopted: AdoptedClass[];
  /** The destination's predicted verdict on the result (with `dest`). */
  check: CheckResult | null;
  /** Named edits that matched nothing in the stream (each also a warning). */
  unmatched: UnmatchedEdit[];
  /** For a rewrite refused because the destination would still reject it: what to do instead. */
  suggestion?: Suggestion | null;
}

/**
 * Copies the stream at `input` to `output` (`-` = standard output; a file appears only
 * complete) with the edits `options` ask for, so that the destination loads it: registers
 * stripped by name or by policy, destination values adopted, the destination's constants put
 * in, subsections of any device dropped. With a destination the result is re-checked first,
 * and a result it would still reject is refused. Every byte not edited is copied unchanged; the
 * vmdesc is patched to match.
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
 * @throws UsageError (exit 2, nothing written) when a `stripSubsections` name matches no
 * subsection of the stream.
 * @throws RefusalError when a policy is violated, an edit would lose state the guest uses
 * (unless `force`), the destination would still reject the result (unless `force`), or with
 * `strictEdits` a named register matched nothing; its `data.result` is what was planned
 * (nothing written), with the re-check that refused it.
 */
export async function rewriteStream(input: string, output: string | undefined, options: RewriteOptions = {}): Promise<RewriteResult> {
  checkRewriteRequest({ ...options, output });
  const dest = typeof options.dest === 'string' ? await (await import('../destination/load.js')).loadDestination(options.dest, { limits: options.limits }) : options.dest;
  // Without --loader, the plan and the re-check infer it from the destination (destination/infer.ts).
  const loader = options.loader ?? (dest ? (await import('../destination/infer.js')).inferLoader(dest).value : 'legacy');
  const accel = options.accel ?? dest?.model.accel ?? 'tcg';
  const planner = new StreamPlanner(options, dest, loader, accel);
  // The check loads only for a rewrite towards a destination.
  const check = dest ? await import('../check/check.js') : null;
  const refuseIfRefused = () => {
    const refusals = planner.refusals();
    if (refusals.length) throw new RefusalError(`refusing to rewrite: ${refusals[0]}`, { refused: refusals });
  };
  const recheck = (s: DecodedStream): CheckResult | null => (dest && check ? check.checkDecoded(output ?? input, planner.after(s), dest, { loader: options.loader, accel: options.accel, kernel: options.kernel }) : null);
  let result: CheckResult | null = null;
  let suggestion: Suggestion | null | undefined;
  let streamed = false;
  const done = (written: boolean): RewriteResult => {
    const cpus = [...planner.cpus.values()].map(({ edit: _e, ...rest }) => rest);
    const r: RewriteResult = {
      input,
      output: options.dryRun ? null : output!,
      dryRun: !!options.dryRun,
      written,
      cpus,
      devices: planner.devicePlans(),
      adopted: adoptedClasses(cpus),
      check: result,
      unmatched: planner.unmatched().filter((u) => u.option !== '--strip-subsection'),
    };
    if (suggestion !== undefined) r.suggestion = suggestion;
    return r;
  };
  /** Named subsections are checked against the whole stream: one that is nowhere is a mistake in the command. */
  const subsectionNames = (outcome: string) => {
    const missing = planner.unmatched().filter((u) => u.option === '--strip-subsection');
    if (missing.length) {
      throw new UsageError(`--strip-subsection ${missing.map((m) => m.value).join(', ')}: no section of the stream has this subsection; ${outcome}`, { reason: 'unmatched-subsection', names: missing.map((m) => m.value) });
    }
  };
  const suggestFor = async (s: DecodedStream) => {
    if (!dest) return;
    const { suggestRewrite } = await import('./suggest.js');
    suggestion = suggestRewrite(s, dest, {
      input: options.hint?.input ?? input,
      dest: options.hint?.dest ?? dest.path,
      loader: options.loader,
      accel: options.accel,
      kernel: options.kernel,
      policies: options.policies,
      policyArgs: options.hint?.policyArgs ?? [],
      limits: options.limits,
    });
  };
  try {
    if (options.dryRun) {
      const s = await decodeStream(input, { limits: options.limits, deviceSubsections: true });
      // Section by section in stream order, as when writing: the first refusal stops the plan.
      const sections = [
        ...s.cpus.map((c) => ({ at: c.offset, plan: () => planner.cpu(c, layoutOf(s, c.instance)) })),
        ...(s.deviceSubsections ?? []).map((d) => ({ at: d.offset, plan: () => planner.device(d) })),
      ].sort((a, b) => a.at - b.at);
      for (const x of sections) {
        x.plan();
        refuseIfRefused();
      }
      subsectionNames('nothing to do');
      result = recheck(s);
      if (result?.verdict === 'reject') await suggestFor(s);
    } else {
      await rewriteFile(input, output!, {
        limits: options.limits,
        fullWalk: options.fullWalk,
        deviceSubsections: true,
        editCpu: (c, layout) => {
          const e = planner.cpu(c, layout);
          refuseIfRefused();
          return e;
        },
        editDevice: (d) => {
          const e = planner.device(d);
          refuseIfRefused();
          return e;
        },
        beforeCommit: async (s: DecodedStream, { written }) => {
          streamed = written;
          // From a pipe to a stream output the bytes are out before the verdict: say so, still refuse.
          const outcome = written
            ? `it was written to ${output === '-' ? 'standard output' : output} all the same (a stream fed from a pipe cannot be held back): do not load it`
            : 'nothing written';
          subsectionNames(outcome);
          result = recheck(s);
          const unmatched = planner.unmatched().filter((u) => u.option !== '--strip-subsection');
          if (options.strictEdits && unmatched.length) {
            const what = unmatched.map((p) => `${p.option} ${p.value}`).join(', ');
            throw new RefusalError(`refusing to write ${output}: ${what} matched nothing in the stream (--strict-edits); ${outcome}`);
          }
          if (result && result.verdict !== 'accept' && !options.force) {
            const all = [...result.anomalies, ...result.devices.flatMap((c) => c.anomalies)];
            const fatal = all.filter((a) => a.fatal).length;
            const open = all.filter((a) => a.detail?.outcome === 'depends').length;
            await suggestFor(s);
            throw new RefusalError(
              result.verdict === 'depends'
                ? `refusing to write ${output}: the destination (loader ${result.loader}) may reject the rewritten stream (${open} register(s) read back from memory it never initialised); ${outcome} (--force writes it anyway, and the destination may refuse it)`
                : `refusing to write ${output}: the destination (loader ${result.loader}) would reject the rewritten stream (${fatal} fatal finding(s)); ${outcome} (--force writes it anyway, and the destination will refuse it)`,
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

function layoutOf(s: DecodedStream, instance: number) {
  return s.vmdesc?.json.devices.find((d) => d.name === 'cpu' && d.instance_id === instance) ?? null;
}
