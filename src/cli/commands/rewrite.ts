/** `vmstate rewrite`: copy a stream with edits to its cpu and device sections (no edits: byte for byte). */
import type { CommandModule } from 'yargs';
import { listed } from '../command-list.js';
import { checkKernelOption, limitsFrom, policyArgv, renderOptions, rules, streamOrStdin, withJson, withLimits, type OutputArgs, policiesFromArgs, withPolicies } from './common.js';
import { ADOPT_CLASSES } from '../../rewrite/guest-effects.js';
import { toJson } from '../../report/format.js';
import { LOADER_CHOICES } from '../../match/loader-names.js';
import { ACCELS, type Accel } from '../../regs/accel.js';
import { choice, flag, nameList, text, texts } from '../options.js';
import { RefusalError } from '../../errors.js';
import type { RewriteResult } from '../../rewrite/rewrite.js';

interface Args extends OutputArgs {
  stream: string;
  output?: string;
  strip?: string[];
  policy?: string[];
  compat?: string[];
  preset?: string[];
  dest?: string;
  stripUnknown: boolean;
  adoptDestValues?: string[];
  addMissing?: string[];
  stripUnknownSubsections: boolean;
  stripSubsection?: string[];
  strictEdits: boolean;
  dryRun: boolean;
  force: boolean;
  fullWalk: boolean;
  loader?: string;
  kernel?: string;
  accel?: Accel;
  json: boolean;
  maxBuffer?: number;
  maxCpregs?: number;
  maxVmdesc?: number;
}

export const rewriteCommand: CommandModule<object, Args> = {
  ...listed('rewrite'),
  builder: (y) =>
    withPolicies(withLimits(
      withJson(
        y
          .positional('stream', { type: 'string', describe: 'stream file or libvirt save image, or - for stdin (the default when it is not a terminal)' })
          .option('output', text('output', { alias: 'o', describe: 'output file, or - for stdout (never the input)' }))
          .option('strip', nameList('strip', { describe: 'remove these registers (names or hex ids, comma-separated) from every vCPU' }))
          .option('dest', text('dest', { describe: 'destination (stream saved there, profile, or id list): re-checks the result' }))
          .option('strip-unknown', flag({ default: false, describe: 'remove every register the destination does not have (needs --dest)' }))
          .option('adopt-dest-values', nameList('adopt-dest-values', { describe: `give these registers, or classes of guest-visible values (${ADOPT_CLASSES.join(', ')}), the destination's values (needs --dest)` }))
          .option('add-missing', nameList('add-missing', { describe: "put in what the destination expects and the stream lacks: 'const' = its constant registers, with its values (needs --dest)" }))
          .option('strip-unknown-subsections', flag({ default: false, describe: 'drop subsections of any device that the destination does not know or would crash on (needs --dest)' }))
          .option('strip-subsection', texts('strip-subsection', { describe: 'drop this subsection from every device that has it, e.g. cpu/wfxt-timer, arm_gicv3_cpu/nmi (a name no section has: exit 2)' }))
          .option('strict-edits', flag({ default: false, describe: 'refuse (exit 1, nothing written) when a --strip or --adopt-dest-values register matches nothing in the stream (without it: a warning)' }))
          .option('dry-run', flag({ default: false, describe: 'show what would change; write nothing' }))
          .option('full-walk', flag({ default: false, describe: 'read and check every byte of the input and write only bytes read (a file is otherwise cloned and only its device state rewritten)' }))
          .option('force', flag({ default: false, describe: 'also remove state the guest uses (policy violations, features in use, subsections not at their default), and write even if the destination would still reject' }))
          .option('loader', choice('loader', LOADER_CHOICES, { describe: 'destination load semantics for the re-check (default: inferred from the destination)' }))
          .option('kernel', text('kernel', { describe: 'under KVM, the destination kernel release for the re-check (default: inferred)' }))
          .option('accel', choice('accel', ACCELS, { describe: 'accelerator for register names (default: the destination\'s, else tcg)' })),
      ),
    ))
      .check(
        rules<Args>(async (a) => {
          a.stream = streamOrStdin(a.stream, 'rewrite');
          checkKernelOption(a.kernel);
          const { checkRewriteRequest } = await import('../../rewrite/request.js');
          checkRewriteRequest({ ...a, adopt: a.adoptDestValues, stripSubsections: a.stripSubsection });
        }),
      )
      .example('$0 rewrite in.mig -o out.mig', 'byte-identical copy, verified while copying')
      .example('$0 rewrite in.mig -o out.mig --preset kernel-compat-10.1', 'drop VENDOR_HYP_BMAP_2; TCR2_EL1, PIRE0_EL1, PIR_EL1')
      .example('$0 rewrite new.mig -o old.mig --dest saved-on-old.mig --strip-unknown --adopt-dest-values id-regs --strip-unknown-subsections', 'backward migration')
      .example('$0 rewrite old.mig -o new.mig --dest saved-on-new.mig --add-missing const', 'put in the constants the newer destination expects')
      .example('cat in.mig | $0 rewrite - -o - --strip TCR2_EL1 > out.mig', 'pipe to pipe')
      .example('$0 rewrite guest.save -o fixed.save --preset kernel-compat-10.1', 'a libvirt save image: header and XML kept, stream re-compressed alike') as never,
  handler: async (a) => {
    const limits = limitsFrom(a);
    const { rewriteStream } = await import('../../rewrite/rewrite.js');
    const loadDestination = async (p: string) => (await import('../../destination/load.js')).loadDestination(p, { limits });
    // The stream itself may be on stdout: the report then goes to stderr.
    const to = a.output === '-' ? process.stderr : process.stdout;
    let rep: RewriteResult;
    try {
      rep = await rewriteStream(a.stream, a.output, {
        dryRun: a.dryRun,
        strip: a.strip,
        policies: await policiesFromArgs(a),
        dest: a.dest ? await loadDestination(a.dest) : undefined,
        stripUnknown: a.stripUnknown,
        adopt: a.adoptDestValues,
        addMissing: a.addMissing,
        stripUnknownSubsections: a.stripUnknownSubsections,
        stripSubsections: a.stripSubsection,
        strictEdits: a.strictEdits,
        force: a.force,
        fullWalk: a.fullWalk,
        loader: a.loader,
        accel: a.accel,
        kernel: a.kernel,
        limits,
        hint: { input: a.stream, dest: a.dest, policyArgs: policyArgv(a) },
      });
    } catch (e) {
      // Refused: what was planned and the findings that block it, then (from main) why and what to do.
      const result = e instanceof RefusalError ? (e.data.result as RewriteResult | undefined) : undefined;
      if (result) await printReport(a, result, to);
      throw e;
    }
    await printReport(a, rep, to);
    if (rep.check && rep.check.verdict !== 'accept' && !a.force) process.exitCode = 1;
    // On standard output nothing can be held back: --strict-edits is the exit code alone.
    if (a.strictEdits && rep.unmatched.length) process.exitCode = 1;
  },
};

/** The report (text or JSON) on `to`, and a warning on standard error for each edit that matched nothing. */
async function printReport(a: Args, rep: RewriteResult, to: NodeJS.WriteStream): Promise<void> {
  const edits = rep.devices.length > 0 || rep.cpus.some((c) => c.removed.length || c.changed.length || c.inserted.length || c.missing.length || c.droppedSubsections.length || c.refused.length || c.refusedSubsections.length);
  // --quiet: the exit code says it all (the JSON report is still printed when asked for).
  if (a.json) to.write(toJson((await import('../../report/rewrite.js')).rewriteReport(rep)) + '\n');
  else if (!a.quiet && (edits || rep.check || a.dryRun)) {
    const { renderRewrite } = await import('../../report/rewrite.js');
    to.write(renderRewrite(rep, renderOptions(a, to)) + '\n');
  } else if (rep.check && !rep.written && !rep.dryRun && rep.check.verdict !== 'accept') {
    // Even quiet, a refusal shows what blocks it.
    const { renderCheck, renderSuggestion } = await import('../../report/check.js');
    to.write(renderCheck(rep.check, { ...renderOptions(a, to), fatalOnly: true }) + '\n');
    if (rep.suggestion) to.write(renderSuggestion(rep.suggestion, renderOptions(a, to)) + '\n');
  }
  if (a.quiet) return;
  const st = renderOptions(a, process.stderr).style!;
  for (const u of rep.unmatched) {
    process.stderr.write(`vmstate: ${st.warn(`warning: ${u.option} ${u.value}: no vCPU has this register; nothing done for it`)}\n`);
  }
}
