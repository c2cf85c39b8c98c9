/** `vmstate rewrite`: copy a stream with edits to its cpu sections (no edits: byte for byte). */
import type { CommandModule } from 'yargs';
import { limitsFrom, renderOptions, withJson, withLimits, type OutputArgs, policiesFromArgs, withPolicies } from './common.js';
import { toJson } from '../../report/format.js';
import { LOADER_CHOICES } from '../../match/loader-names.js';
import type { Accel } from '../../regs/index.js';

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
  stripUnknownSubsections: boolean;
  stripSubsection?: string[];
  dryRun: boolean;
  force: boolean;
  loader: string;
  accel?: Accel;
  json: boolean;
  maxBuffer?: number;
  maxCpregs?: number;
  maxVmdesc?: number;
}

export const rewriteCommand: CommandModule<object, Args> = {
  command: 'rewrite <stream>',
  describe: 'copy a stream, removing ignorable registers (and, when asked, adopting destination values) so the destination loads it',
  builder: (y) =>
    withPolicies(withLimits(
      withJson(
        y
          .positional('stream', { type: 'string', demandOption: true, describe: 'stream file or libvirt save image, or - for stdin' })
          .option('output', { alias: 'o', type: 'string', describe: 'output file, or - for stdout (never the input)' })
          .option('strip', { type: 'string', array: true, describe: 'remove these registers (names or hex ids, comma-separated) from every vCPU' })
          .option('dest', { type: 'string', describe: 'destination (stream saved there, profile, or id list): re-checks the result' })
          .option('strip-unknown', { type: 'boolean', default: false, describe: 'remove every register the destination does not have (needs --dest)' })
          .option('adopt-dest-values', { type: 'string', array: true, describe: "give these registers (or 'id-regs') the destination's values (needs --dest)" })
          .option('strip-unknown-subsections', { type: 'boolean', default: false, describe: 'drop cpu subsections the destination does not know (needs --dest)' })
          .option('strip-subsection', { type: 'string', array: true, describe: 'drop this cpu subsection, e.g. cpu/wfxt-timer' })
          .option('dry-run', { type: 'boolean', default: false, describe: 'show what would change; write nothing' })
          .option('force', { type: 'boolean', default: false, describe: 'strip require-value violations and write even if the destination would still reject' })
          .option('loader', { type: 'string', choices: LOADER_CHOICES as string[], default: 'legacy', describe: 'destination load semantics for the re-check' })
          .option('accel', { choices: ['tcg', 'kvm'] as const, describe: 'accelerator for register names (default: the destination\'s, else tcg)' }),
      ),
    ))
      .example('$0 rewrite in.mig -o out.mig', 'byte-identical copy, verified while copying')
      .example('$0 rewrite in.mig -o out.mig --preset kernel-compat-10.1', 'drop VENDOR_HYP_BMAP_2; TCR2_EL1, PIRE0_EL1, PIR_EL1')
      .example('$0 rewrite new.mig -o old.mig --dest saved-on-old.mig --strip-unknown --adopt-dest-values id-regs --strip-unknown-subsections', 'backward migration')
      .example('cat in.mig | $0 rewrite - -o - --strip TCR2_EL1 > out.mig', 'pipe to pipe')
      .example('$0 rewrite guest.save -o fixed.save --preset kernel-compat-10.1', 'a libvirt save image: header and XML kept, stream re-compressed alike') as never,
  handler: async (a) => {
    const limits = limitsFrom(a);
    const { rewriteStream } = await import('../../rewrite/rewrite.js');
    const loadDestination = async (p: string) => (await import('../../destination/load.js')).loadDestination(p, { limits });
    const rep = await rewriteStream(a.stream, a.output, {
      dryRun: a.dryRun,
      strip: a.strip,
      policies: await policiesFromArgs(a),
      dest: a.dest ? await loadDestination(a.dest) : undefined,
      stripUnknown: a.stripUnknown,
      adopt: a.adoptDestValues,
      stripUnknownSubsections: a.stripUnknownSubsections,
      stripSubsections: a.stripSubsection,
      force: a.force,
      loader: a.loader,
      accel: a.accel,
      limits,
    });
    // The stream itself may be on stdout: the report then goes to stderr.
    const to = a.output === '-' ? process.stderr : process.stdout;
    const edits = rep.cpus.some((c) => c.removed.length || c.changed.length || c.droppedSubsections.length);
    // --quiet: the exit code says it all (the JSON report is still printed when asked for).
    if (a.json) to.write(toJson((await import('../../report/rewrite.js')).rewriteReport(rep)) + '\n');
    else if (!a.quiet && (edits || rep.check || a.dryRun)) {
      const { renderRewrite } = await import('../../report/rewrite.js');
      to.write(renderRewrite(rep, renderOptions(a, to)) + '\n');
    }
    if (rep.check?.verdict === 'reject' && !a.force) process.exitCode = 1;
  },
};
