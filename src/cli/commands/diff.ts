/** `vmstate diff`: compare the cpreg lists of two streams, vCPU by vCPU. */
import type { CommandModule } from 'yargs';
import { basename, dirname, resolve } from 'node:path';
import { limitsFrom, print, withJson, withLimits, type OutputArgs } from './common.js';
import { toJson } from '../../report/format.js';
import type { Accel } from '../../regs/index.js';
import { UsageError } from '../../errors.js';

/** A short name for a stream in column headings: its base name, unless both share it. */
function label(p: string, other: string): string {
  const b = basename(p);
  if (p === '-') return 'stdin';
  return b === basename(other) ? `${basename(dirname(resolve(p)))}/${b}` : b;
}

interface Args extends OutputArgs {
  a: string;
  b: string;
  accel?: Accel;
  json: boolean;
  maxBuffer?: number;
  maxCpregs?: number;
  maxVmdesc?: number;
}

export const diffCommand: CommandModule<object, Args> = {
  command: 'diff <a> <b>',
  describe: 'per vCPU: registers only in a, only in b, and those whose values differ (ID register fields named)',
  builder: (y) =>
    withLimits(withJson(y.positional('a', { type: 'string', demandOption: true }).positional('b', { type: 'string', demandOption: true })))
      .option('accel', { choices: ['tcg', 'kvm'] as const, describe: 'name registers as saved by this accelerator' })
      .example('$0 diff samples/qemu-10.0/virt-7.2_cortex-a57.mig samples/qemu-7.2/virt-7.2_cortex-a57.mig', 'what 10.0 saves that 7.2 does not')
      .example("$0 diff a.mig b.mig --json | jq '.cpus[0].differ'", 'registers whose values differ, as JSON') as never,
  handler: async (a) => {
    if (a.a === '-' && a.b === '-') throw new UsageError('only one of the two streams can be standard input');
    const [{ decodeStream }, { diffReport, renderDiff }] = await Promise.all([import('../../stream/decode.js'), import('../../report/diff.js')]);
    const [sa, sb] = [await decodeStream(a.a, { limits: limitsFrom(a) }), await decodeStream(a.b, { limits: limitsFrom(a) })];
    const rep = diffReport(sa.cpus, sb.cpus, a.accel);
    print(a.json ? toJson(rep) : renderDiff(rep, label(a.a, a.b), label(a.b, a.a)));
  },
};
