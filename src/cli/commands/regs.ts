/** `vmstate regs`: every vCPU's cpreg ids and values, named. */
import type { CommandModule } from 'yargs';
import { listed } from '../command-list.js';
import { limitsFrom, print, rules, streamOrStdin, withJson, withLimits, type OutputArgs } from './common.js';
import { toJson } from '../../report/format.js';
import { UsageError } from '../../errors.js';
import { ACCELS, type Accel } from '../../regs/accel.js';
import { choice, integer, nameList } from '../options.js';
import { onlyCpu } from './cpus.js';

interface Args extends OutputArgs {
  stream?: string;
  lookup?: string[];
  cpu?: number;
  accel?: Accel;
  json: boolean;
  maxBuffer?: number;
  maxCpregs?: number;
  maxVmdesc?: number;
}

export const regsCommand: CommandModule<object, Args> = {
  ...listed('regs'),
  builder: (y) =>
    withLimits(withJson(y.positional('stream', { type: 'string', describe: 'stream file or libvirt save image, or - for stdin (the default when it is not a terminal)' })))
      .option('lookup', nameList('lookup', { describe: 'names or hex ids (comma-separated) to translate; no stream needed' }))
      .option('cpu', integer('cpu', { min: 0 }, { describe: 'only this vCPU (cpu section instance, a number)' }))
      .option('accel', choice('accel', ACCELS, { describe: 'name registers as saved by this accelerator (default: inferred from the list)' }))
      .check(
        rules<Args>((a) => {
          if (a.lookup) {
            // Nothing is read with --lookup: a stream or --cpu would be silently ignored.
            if (a.stream !== undefined) throw new UsageError('--lookup reads no stream: leave out the stream, or --lookup');
            if (a.cpu !== undefined) throw new UsageError('--lookup reads no stream: --cpu has nothing to select');
            return;
          }
          a.stream = streamOrStdin(a.stream, 'regs');
        }),
      )
      .example('$0 regs samples/qemu-7.2/virt-7.2_max.mig --cpu 0', 'registers of vCPU 0')
      .example('$0 regs --lookup TCR2_EL1,0x6030000000160003', 'name → id and id → name')
      .example('$0 regs f.mig --json | jq \'.cpus[0].registers[] | select(.name=="TCR2_EL1")\'', 'one register as JSON') as never,
  handler: async (a) => {
    if (a.lookup) {
      const { lookup, renderLookup } = await import('../../report/lookup.js');
      const entries = lookup(a.lookup, a.accel ?? 'tcg');
      print(a.json ? toJson({ schema: 'vmstate/lookup/1', registers: entries }) : renderLookup(entries));
      return;
    }
    const [{ decodeStream }, { regsReport, renderRegs }] = await Promise.all([import('../../stream/decode.js'), import('../../report/regs.js')]);
    const s = await decodeStream(a.stream!, { limits: limitsFrom(a) });
    onlyCpu(a.cpu, [[a.stream!, s.cpus]]);
    const rep = regsReport(s.cpus, { only: a.cpu, accel: a.accel });
    print(a.json ? toJson(rep) : renderRegs(rep));
  },
};
