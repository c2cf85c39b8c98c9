/** `vmstate dump`: the whole device state as JSON, as QEMU's analyser prints it. */
import type { CommandModule } from 'yargs';
import { listed } from '../command-list.js';
import { limitsFrom, print, rules, streamOrStdin, withJson, withLimits } from './common.js';
import { flag } from '../options.js';
import { UsageError } from '../../errors.js';

interface Args {
  stream: string;
  desc: boolean;
  json: boolean;
  maxBuffer?: number;
  maxCpregs?: number;
  maxVmdesc?: number;
}

export const dumpCommand: CommandModule<object, Args> = {
  ...listed('dump'),
  builder: (y) =>
    withLimits(
      withJson(
        y
          .positional('stream', { type: 'string', describe: 'stream file or libvirt save image, or - for stdin (the default when it is not a terminal)' })
          .option('desc', flag({ default: false, describe: 'print the vmdesc (like -d desc) instead of the state' })),
      ).option('json', { describe: 'accepted for uniformity: the output is always JSON (schemas/dump.schema.json)' }),
    )
      .check(rules<Args>((a) => void (a.stream = streamOrStdin(a.stream, 'dump'))))
      .example('$0 dump samples/qemu-7.2/virt-7.2_max.mig', 'state, also for 7.2 streams the analyser cannot read')
      .example('$0 dump f.mig --desc', 'the stream\'s own description')
      .example("$0 dump f.mig | jq '.\"cpu (7)\"'", 'one section') as never,
  handler: async (a) => {
    const [{ decodeStream }, { stateReport }, { analyserJson }] = await Promise.all([
      import('../../stream/decode.js'),
      import('../../report/dump.js'),
      import('../../stream/json-writer.js'),
    ]);
    const s = await decodeStream(a.stream, { limits: limitsFrom(a), collectState: !a.desc });
    if (a.desc) {
      if (!s.vmdesc) throw new UsageError(`${a.stream} has no vmdesc`);
      print(analyserJson(s.vmdesc.json));
      return;
    }
    print(analyserJson(stateReport(s)));
  },
};
