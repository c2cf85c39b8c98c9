/**
 * The rewrite job: plan every vCPU's edits, copy the stream with them, and —
 * with a destination — re-check the result before the output is committed.
 */
import { decodeFile, rewriteFile } from '../api.js';
import type { DecodeLimits, DecodedStream } from '../stream/decode.js';
import { combinePolicies, type Policy } from '../policy/index.js';
import type { Accel } from '../regs/index.js';
import type { LoadedDestination } from '../destination/load.js';
import type { CheckReport } from '../report/check.js';
import { RefusalError } from '../wire/errors.js';
import { applyPlan, planCpu, type CpuPlan, type PlanOptions } from './plan.js';
import { checkRewriteRequest, registerQueries, resolveQueries } from './request.js';

/** Version of the `rewrite --json` shape. */
export const REWRITE_SCHEMA = 'vmstate/rewrite/1';

/** A rewrite as requested on the command line. */
export interface RewriteRequest {
  input: string;
  /** Output path or `-`; ignored with `dryRun`. */
  output?: string;
  dryRun?: boolean;
  /** `--strip`: names or hex ids. */
  strip?: string[];
  policies?: Policy[];
  dest?: LoadedDestination;
  stripUnknown?: boolean;
  /** `--adopt-dest-values`: names, hex ids, or `id-regs`. */
  adopt?: string[];
  stripUnknownSubsections?: boolean;
  stripSubsections?: string[];
  force?: boolean;
  /** Refuse (nothing written) when a `--strip`, `--adopt-dest-values` or `--strip-subsection` name matches nothing in the stream. */
  strictEdits?: boolean;
  loader?: string;
  accel?: Accel;
  limits?: Partial<DecodeLimits>;
}

/** A named edit that found nothing to act on: no vCPU has the register or subsection. */
export interface UnmatchedEdit {
  /** `--strip`, `--adopt-dest-values` or `--strip-subsection`. */
  option: string;
  /** The name or id as given. */
  value: string;
}

/** The `rewrite --json` document. */
export interface RewriteReport {
  schema: typeof REWRITE_SCHEMA;
  input: string;
  output: string | null;
  dryRun: boolean;
  /** Whether the output was written. */
  written: boolean;
  cpus: Omit<CpuPlan, 'edit'>[];
  /** The destination's predicted verdict on the result (with `--dest`). */
  check: CheckReport | null;
  /** Named edits that matched nothing in the stream (each also a warning). */
  unmatched: UnmatchedEdit[];
}

/**
 * Runs a rewrite (or a dry run). Throws {@link RefusalError} (exit 1) when it refuses; its
 * `data.report` is the report of what was planned (nothing written), with the re-check that
 * refused it.
 */
export async function rewrite(req: RewriteRequest): Promise<RewriteReport> {
  checkRewriteRequest(req);
  const loader = req.loader ?? 'legacy';
  const accel = req.accel ?? req.dest?.model.accel ?? 'tcg';
  const adoptList = registerQueries(req.adopt);
  const strip = resolveQueries(registerQueries(req.strip), accel, '--strip');
  const adopt = resolveQueries(adoptList.filter((x) => x !== 'id-regs'), accel, '--adopt-dest-values');
  const opts: PlanOptions = {
    accel,
    strip: new Set([...strip.values()].flat()),
    policies: combinePolicies(req.policies ?? [], accel),
    stripUnknown: !!req.stripUnknown,
    adopt: { idRegs: adoptList.includes('id-regs'), ids: new Set([...adopt.values()].flat()) },
    stripSubsections: new Set(req.stripSubsections ?? []),
    force: !!req.force,
  };
  // Each named edit (a register's ids, or a subsection), until a vCPU shows it something to act on.
  const pending: (UnmatchedEdit & { ids?: readonly bigint[] })[] = [
    ...[...strip].map(([value, ids]) => ({ option: '--strip', value, ids })),
    ...[...adopt].map(([value, ids]) => ({ option: '--adopt-dest-values', value, ids })),
    ...[...opts.stripSubsections].map((value) => ({ option: '--strip-subsection', value })),
  ];
  const unmatched = (): UnmatchedEdit[] => pending.map(({ option, value }) => ({ option, value }));
  // The matcher and the check load only for a rewrite towards a destination.
  let checkStream: typeof import('../report/check.js').checkStream | null = null;
  const dest = req.dest;
  if (dest) {
    const [{ destinationCpuFor }, { knownSubsections }, { generationOfLoader }, check] = await Promise.all([
      import('../match/index.js'),
      import('../destination/load.js'),
      import('../destination/known-subsections.js'),
      import('../report/check.js'),
    ]);
    checkStream = check.checkStream;
    opts.destCpu = (i) => destinationCpuFor(dest.model, i);
    if (req.stripUnknownSubsections) opts.knownSubsections = knownSubsections(dest, generationOfLoader(loader)) ?? [];
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
  const recheck = (s: DecodedStream): CheckReport | null => {
    if (!dest || !checkStream) return null;
    const after = { ...s, cpus: s.cpus.map((c) => applyPlan(c, plans.get(c.instance)!)) };
    return checkStream(req.output ?? req.input, after, dest, { loader, accel: req.accel });
  };
  // Standard output cannot take back what it was given: there, a refusal is only the exit code.
  const refuses = !req.dryRun && req.output !== '-';
  let check: CheckReport | null = null;
  const report = (written: boolean): RewriteReport => ({
    schema: REWRITE_SCHEMA,
    input: req.input,
    output: req.dryRun ? null : req.output!,
    dryRun: !!req.dryRun,
    written,
    cpus: [...plans.values()].map(({ edit: _e, ...rest }) => rest),
    check,
    unmatched: unmatched(),
  });
  try {
    if (req.dryRun) {
      const s = await decodeFile(req.input, { limits: req.limits });
      for (const c of s.cpus) plan(c);
      check = recheck(s);
    } else {
      await rewriteFile(req.input, req.output!, {
        limits: req.limits,
        editCpu: plan,
        beforeCommit: (s) => {
          check = recheck(s);
          if (!refuses) return;
          if (req.strictEdits && pending.length) {
            const what = pending.map((p) => `${p.option} ${p.value}`).join(', ');
            throw new RefusalError(`refusing to write ${req.output}: ${what} matched nothing in the stream (--strict-edits); nothing written`);
          }
          if (check && check.verdict === 'reject' && !req.force) {
            const fatal = [...check.anomalies, ...check.cpus.flatMap((c) => c.anomalies)].filter((a) => a.fatal).length;
            throw new RefusalError(
              `refusing to write ${req.output}: the destination (loader ${check.loader}) would reject the rewritten stream (${fatal} fatal finding(s)); nothing written (--force writes it anyway, and the destination will refuse it)`,
            );
          }
        },
      });
    }
  } catch (e) {
    // A refusal carries what was planned, for the report that explains it.
    if (e instanceof RefusalError) throw new RefusalError(e.message, { ...e.data, report: report(false) });
    throw e;
  }
  return report(!req.dryRun);
}
