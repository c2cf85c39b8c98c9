/**
 * `vmstate check`: the verdict a destination QEMU would reach on a stream, with every reason;
 * given several streams, one summary line each (checked in parallel worker threads).
 */
import type { CommandModule } from 'yargs';
import { listed } from '../command-list.js';
import { UsageError } from '../../errors.js';
import { checkKernelOption, limitsFrom, policyArgv, print, renderOptions, rules, streamOrStdin, withJson, withLimits, type OutputArgs, policiesFromArgs, withPolicies } from './common.js';
import type { DecodedStream } from '../../stream/decode.js';
import type { CheckResult } from '../../check/check.js';
import type { Suggestion } from '../../rewrite/suggest.js';
import { choice, integer, text } from '../options.js';
import { toJson } from '../../report/format.js';
import { ACCELS, type Accel } from '../../regs/accel.js';
import type { CheckJob } from '../batch.js';
import { LOADER_CHOICES } from '../../match/loader-names.js';

interface Args extends OutputArgs {
  stream: string[];
  dest: string;
  loader?: string;
  kernel?: string;
  accel?: Accel;
  policy?: string[];
  compat?: string[];
  preset?: string[];
  json: boolean;
  jobs?: number;
  maxBuffer?: number;
  maxCpregs?: number;
  maxVmdesc?: number;
}


export const checkCommand: CommandModule<object, Args> = {
  ...listed('check'),
  builder: (y) =>
    withPolicies(withLimits(withJson(y.positional('stream', { type: 'string', array: true, describe: 'stream files or libvirt save images (- for stdin, the default when it is not a terminal: one stream only)' }))))
      .option('dest', text('dest', { demandOption: true, describe: 'destination: a stream saved there, a `vmstate profile` JSON, or a list of hex ids' }))
      .option('loader', choice('loader', LOADER_CHOICES, { describe: 'destination QEMU load semantics (default: inferred from the destination, printed with the verdict)' }))
      .option('kernel', text('kernel', { describe: 'under KVM, the destination kernel release, e.g. 6.12 (default: a profile\'s, else inferred from the destination)' }))
      .option('accel', choice('accel', ACCELS, { describe: "destination accelerator (default: inferred from the destination's list)" }))
      .option('jobs', integer('jobs', { min: 1 }, { alias: 'j', describe: 'with several streams: worker threads (default: one per core)' }))
      .check(
        rules<Args>((a) => {
          if (!a.stream?.length) a.stream = [streamOrStdin(undefined, 'check')];
          if (a.stream.length > 1 && a.stream.includes('-')) throw new UsageError('standard input (-) can only be checked alone');
          checkKernelOption(a.kernel);
        }),
      )
      .example('$0 check src.mig --dest dst.mig', 'would QEMU 7.2…10.2 on the destination load it?')
      .example('$0 check src.mig --dest dst.mig --loader qemu-11.1 --preset qemu-11.1-host', 'with QEMU 11.1 and its host tolerances')
      .example('$0 check src.mig --dest regs.txt --accel kvm --json', 'against a KVM_GET_REG_LIST dump')
      .example('$0 check fleet/*.mig --dest dst.json', 'many streams: one line each (stream, verdict, first reasons)')
      .example('$0 check fleet/*.mig --dest dst.json --json | jq -r \'.[] | select(.verdict != "accept") | .stream\'', 'the streams that would not load') as never,
  handler: async (a) => {
    const streams = a.stream;
    const [{ loadDestination }, { checkReport, renderCheck }, { batchReport, renderBatch }, { batchExitCode, checkMany, checkOne }] = await Promise.all([
      import('../../destination/load.js'),
      import('../../report/check.js'),
      import('../../report/batch.js'),
      import('../batch.js'),
    ]);
    const limits = limitsFrom(a);
    const dest = await loadDestination(a.dest, { limits });
    const job: CheckJob = { dest, loader: a.loader, accel: a.accel, kernel: a.kernel, policies: await policiesFromArgs(a), limits };
    if (streams.length === 1) {
      // One stream: a REJECT ends with the next step, planned on the stream as decoded.
      let decoded: DecodedStream | null = null;
      const rep = await checkOne(streams[0]!, { ...job, onDecoded: (s) => void (decoded = s) });
      const suggestion = rep.verdict === 'accept' ? null : await nextStep(a, job, decoded, rep);
      if (a.json) print(toJson(checkReport(rep, suggestion)));
      else {
        const { renderSuggestion } = await import('../../report/check.js');
        print(renderCheck(rep, renderOptions(a)) + (suggestion && !a.quiet ? '\n' + renderSuggestion(suggestion, renderOptions(a)) : ''));
      }
      if (rep.verdict !== 'accept') process.exitCode = 1;
      return;
    }
    // Several streams: one result each, in the order given; bad input in one does not stop the others.
    const results = await checkMany(streams, job, a.jobs);
    print(a.json ? toJson(batchReport(results)) : renderBatch(results, renderOptions(a)));
    const code = batchExitCode(results);
    if (code) process.exitCode = code;
  },
};

/** The rewrite to try after a REJECT, or why none can help (the stream could not be decoded whole). */
async function nextStep(a: Args, job: CheckJob, s: DecodedStream | null, rep: CheckResult): Promise<Suggestion> {
  if (!s) return { argv: null, predictedVerdict: null, reason: 'no rewrite can make it load: the stream cannot be read past its cpreg count', effects: [] };
  const { suggestRewrite } = await import('../../rewrite/suggest.js');
  return suggestRewrite(s, job.dest, { input: a.stream[0]!, dest: a.dest, loader: a.loader, accel: a.accel, kernel: a.kernel, policies: job.policies, policyArgs: policyArgv(a), limits: job.limits }, rep);
}
