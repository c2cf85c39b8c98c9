/** `vmstate profile`: save what `check` needs to know about a destination, from a stream saved there. */
import type { CommandModule } from 'yargs';
import { listed } from '../command-list.js';
import { limitsFrom, print, rules, streamOrStdin, withJson, withLimits } from './common.js';
import { choice, text } from '../options.js';
import { toJson } from '../../report/format.js';
import { ACCELS, type Accel } from '../../regs/accel.js';

interface Args {
  stream: string;
  output?: string;
  accel?: Accel;
  json: boolean;
  maxBuffer?: number;
  maxCpregs?: number;
  maxVmdesc?: number;
}

export const profileCommand: CommandModule<object, Args> = {
  ...listed('profile'),
  builder: (y) =>
    withLimits(
      withJson(
        y
          .positional('stream', { type: 'string', describe: 'stream saved on the destination (or a libvirt save image), or - for stdin (the default when it is not a terminal)' })
          .option('output', text('output', { alias: 'o', describe: 'write to this file instead of stdout' }))
          .option('accel', choice('accel', ACCELS, { describe: 'accelerator (default: inferred)' })),
      ).option('json', { describe: 'accepted for uniformity: the profile is always JSON (schemas/profile.schema.json)' }),
    )
      .check(rules<Args>((a) => void (a.stream = streamOrStdin(a.stream, 'profile'))))
      .example('$0 profile dst.mig -o dst.json', 'then: vmstate check src.mig --dest dst.json')
      .example('ssh dst-host cat /tmp/saved.mig | $0 profile - > dst.json', 'from a pipe') as never,
  handler: async (a) => {
    const [{ decodeStream }, { profileOf }] = await Promise.all([import('../../stream/decode.js'), import('../../destination/profile.js')]);
    const s = await decodeStream(a.stream, { limits: limitsFrom(a) });
    const text = toJson(profileOf(s, { source: a.stream, accel: a.accel })) + '\n';
    if (!a.output || a.output === '-') return print(text);
    const { writeOutput } = await import('../../wire/output.js');
    await writeOutput(a.output, text, a.stream);
  },
};
