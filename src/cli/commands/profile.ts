/** `vmstate profile`: save what `check` needs to know about a destination, from a stream saved there. */
import type { CommandModule } from 'yargs';
import { limitsFrom, print, withJson, withLimits } from './common.js';
import { toJson } from '../format.js';
import type { Accel } from '../../regs/index.js';

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
  command: 'profile <stream>',
  describe: 'destination profile (machine type, page size, cpu subsections, accelerator, registers) as JSON',
  builder: (y) =>
    withLimits(
      withJson(
        y
          .positional('stream', { type: 'string', demandOption: true, describe: 'stream saved on the destination (or a libvirt save image), or - for stdin' })
          .option('output', { alias: 'o', type: 'string', describe: 'write to this file instead of stdout' })
          .option('accel', { choices: ['tcg', 'kvm'] as const, describe: 'accelerator (default: inferred)' }),
      ).option('json', { describe: 'accepted for uniformity: the profile is always JSON (schemas/profile.schema.json)' }),
    )
      .example('$0 profile dst.mig -o dst.json', 'then: vmstate check src.mig --dest dst.json')
      .example('ssh dst-host cat /tmp/saved.mig | $0 profile - > dst.json', 'from a pipe') as never,
  handler: async (a) => {
    const [{ decodeFile }, { profileOf }] = await Promise.all([import('../../api.js'), import('../../destination/profile.js')]);
    const s = await decodeFile(a.stream, { limits: limitsFrom(a) });
    const text = toJson(profileOf(a.stream, s, a.accel)) + '\n';
    if (!a.output || a.output === '-') return print(text);
    const { writeOutput } = await import('../../wire/output.js');
    await writeOutput(a.output, text, a.stream);
  },
};
