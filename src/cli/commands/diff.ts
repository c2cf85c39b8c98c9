/** `vmstate diff`: compare the cpreg lists of two streams, vCPU by vCPU. */
import type { CommandModule } from 'yargs';
import { listed } from '../command-list.js';
import { basename, dirname, resolve } from 'node:path';
import { limitsFrom, print, rules, withJson, withLimits, type OutputArgs } from './common.js';
import { toJson } from '../../report/format.js';
import { ACCELS, type Accel } from '../../regs/accel.js';
import { UsageError } from '../../errors.js';
import { choice, integer } from '../options.js';
import { onlyCpu } from './cpus.js';

/** A short name for a stream in column headings: its base name, unless both share it. */
function label(p: string, other: string): string {
  const b = basename(p);
  if (p === '-') return 'stdin';
  return b === basename(other) ? `${basename(dirname(resolve(p)))}/${b}` : b;
}

interface Args extends OutputArgs {
  a?: string;
  b?: string;
  cpu?: number;
  accel?: Accel;
  json: boolean;
  maxBuffer?: number;
  maxCpregs?: number;
  maxVmdesc?: number;
}

export const diffCommand: CommandModule<object, Args> = {
  // Both optional for yargs, so that a missing one is named in our words (see the check).
  ...listed('diff'),
  builder: (y) =>
    withLimits(withJson(y.positional('a', { type: 'string', describe: 'first stream (- for stdin)' }).positional('b', { type: 'string', describe: 'second stream (- for stdin)' })))
      .option('cpu', integer('cpu', { min: 0 }, { describe: 'only this vCPU (cpu section instance, a number)' }))
      .option('accel', choice('accel', ACCELS, { describe: 'name registers as saved by this accelerator' }))
      .check(
        rules<Args>((a) => {
          if (a.b === undefined) throw new UsageError(`diff needs two streams, a and b (${a.a === undefined ? 'none' : 'one'} given; one may be - for standard input)`);
          if (a.a === '-' && a.b === '-') throw new UsageError('only one of the two streams can be standard input');
        }),
      )
      .example('$0 diff samples/qemu-10.0/virt-7.2_cortex-a57.mig samples/qemu-7.2/virt-7.2_cortex-a57.mig', 'what 10.0 saves that 7.2 does not')
      .example("$0 diff a.mig b.mig --json | jq '.cpus[0].differ'", 'registers whose values differ, as JSON') as never,
  handler: async (a) => {
    const [{ decodeStream }, { diffReport, renderDiff }] = await Promise.all([import('../../stream/decode.js'), import('../../report/diff.js')]);
    const [pa, pb] = [a.a!, a.b!];
    const [sa, sb] = [await decodeStream(pa, { limits: limitsFrom(a) }), await decodeStream(pb, { limits: limitsFrom(a) })];
    onlyCpu(a.cpu, [[pa, sa.cpus], [pb, sb.cpus]]);
    const pick = <C extends { instance: number }>(cpus: C[]) => (a.cpu === undefined ? cpus : cpus.filter((c) => c.instance === a.cpu));
    const rep = diffReport(pick(sa.cpus), pick(sb.cpus), a.accel);
    print(a.json ? toJson(rep) : renderDiff(rep, label(pa, pb), label(pb, pa)));
  },
};
