/** `vmstate inspect`: what a stream holds, from header to vmdesc (and the libvirt image around it). */
import type { CommandModule } from 'yargs';
import { listed } from '../command-list.js';
import { limitsFrom, print, renderOptions, rules, streamOrStdin, withJson, withLimits, type OutputArgs } from './common.js';
import { toJson } from '../../report/format.js';
import { flag } from '../options.js';

interface Args extends OutputArgs {
  stream: string;
  json: boolean;
  ram: boolean;
  maxBuffer?: number;
  maxCpregs?: number;
  maxVmdesc?: number;
}

export const inspectCommand: CommandModule<object, Args> = {
  ...listed('inspect'),
  builder: (y) =>
    withLimits(withJson(y.positional('stream', { type: 'string', describe: 'stream file or libvirt save image, or - for stdin (the default when it is not a terminal)' })))
      .option('ram', flag({ default: false, describe: 'walk the whole stream for RAM statistics: record counts per block, mapped-ram pages present (a file is otherwise read tail-first: its RAM is skipped)' }))
      .check(rules<Args>((a) => void (a.stream = streamOrStdin(a.stream, 'inspect'))))
      .example('$0 inspect samples/qemu-7.2/virt-7.2_max.mig', 'human summary')
      .example('$0 inspect guest.mig --ram', 'with RAM record counts (reads the whole stream)')
      .example('cat f.mig | $0 inspect - --json', 'from a pipe, as JSON')
      .example('$0 inspect /var/lib/libvirt/qemu/save/guest.save', 'a libvirt save image: domain, machine, then the stream') as never,
  handler: async (a) => {
    const [{ decodeStream }, { inspectReport, renderInspect }, { containerReport, renderContainer }] = await Promise.all([
      import('../../stream/decode.js'),
      import('../../report/inspect.js'),
      import('../../report/container.js'),
    ]);
    const s = await decodeStream(a.stream, { limits: limitsFrom(a), fullWalk: a.ram });
    const c = s.container;
    const rep = c ? { ...inspectReport(a.stream, s), container: containerReport(c) } : inspectReport(a.stream, s);
    if (a.json) return print(toJson(rep));
    const o = renderOptions(a);
    print((c ? renderContainer(containerReport(c), o.style) + '\n' : '') + renderInspect(rep, o));
  },
};
