/**
 * The rewrite job: plan every vCPU's edits, copy the stream with them, and —
 * with a destination — re-check the result before the output is committed.
 */
import { decodeFile, rewriteFile } from '../api.js';
import type { DecodeLimits, DecodedStream } from '../stream/decode.js';
import { combinePolicies, type Policy } from '../policy/index.js';
import { lookupRegs, type Accel } from '../regs/index.js';
import type { LoadedDestination } from '../destination/load.js';
import type { CheckReport } from '../report/check.js';
import { RefusalError, UsageError } from '../wire/errors.js';
import { applyPlan, planCpu, type CpuPlan, type PlanOptions } from './plan.js';

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
  loader?: string;
  accel?: Accel;
  limits?: Partial<DecodeLimits>;
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
}

function resolveRegs(list: string[], accel: Accel, what: string): Set<bigint> {
  const out = new Set<bigint>();
  for (const q of list.flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean)) {
    const ids = lookupRegs(q, accel);
    if (!ids.length) throw new UsageError(`${what}: unknown register '${q}'`);
    for (const id of ids) out.add(id);
  }
  return out;
}

/** Runs a rewrite (or a dry run). Throws {@link RefusalError} (exit 1) when it refuses. */
export async function rewrite(req: RewriteRequest): Promise<RewriteReport> {
  if ((req.stripUnknown || req.adopt?.length || req.stripUnknownSubsections) && !req.dest) {
    throw new UsageError('--strip-unknown, --adopt-dest-values and --strip-unknown-subsections need --dest');
  }
  if (!req.dryRun && !req.output) throw new UsageError('rewrite needs -o <file|-> (or --dry-run)');
  const loader = req.loader ?? 'legacy';
  const accel = req.accel ?? req.dest?.model.accel ?? 'tcg';
  const adoptList = (req.adopt ?? []).flatMap((x) => x.split(',')).map((x) => x.trim()).filter(Boolean);
  const opts: PlanOptions = {
    accel,
    strip: resolveRegs(req.strip ?? [], accel, '--strip'),
    policies: combinePolicies(req.policies ?? [], accel),
    stripUnknown: !!req.stripUnknown,
    adopt: { idRegs: adoptList.includes('id-regs'), ids: resolveRegs(adoptList.filter((x) => x !== 'id-regs'), accel, '--adopt-dest-values') },
    stripSubsections: new Set(req.stripSubsections ?? []),
    force: !!req.force,
  };
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
  let check: CheckReport | null = null;
  if (req.dryRun) {
    const s = await decodeFile(req.input, { limits: req.limits });
    for (const c of s.cpus) plan(c);
    check = recheck(s);
  } else {
    await rewriteFile(req.input, req.output!, {
      limits: req.limits,
      editCpu: plan,
      beforeCommit: (s, { written }) => {
        check = recheck(s);
        if (check && check.verdict === 'reject' && !req.force) {
          // From a pipe to a stream the bytes are out before the verdict: say so, still exit 1.
          const outcome = written ? `it was written to ${req.output === '-' ? 'standard output' : req.output} all the same (a stream fed from a pipe cannot be held back): do not load it` : 'nothing written';
          throw new RefusalError(`the rewritten stream would still be rejected by the destination (${check.loader}): ${check.qemuError?.split('\n')[0] ?? 'see check'}; ${outcome} (use --force to write it anyway)`, { check });
        }
      },
    });
  }
  return {
    schema: REWRITE_SCHEMA,
    input: req.input,
    output: req.dryRun ? null : req.output!,
    dryRun: !!req.dryRun,
    written: !req.dryRun,
    cpus: [...plans.values()].map(({ edit: _e, ...rest }) => rest),
    check,
  };
}
