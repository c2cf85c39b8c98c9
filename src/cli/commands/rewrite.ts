/** `vmstate rewrite`: copy a stream, applying edits to the cpu sections; no edits = identical bytes. */
import type { CommandModule } from 'yargs';
import { rewriteFile } from '../../api.js';
import { limitsFrom, withLimits } from './common.js';

interface Args {
  stream: string;
  output: string;
  maxBuffer?: number;
  maxCpregs?: number;
  maxVmdesc?: number;
}

export const rewriteCommand: CommandModule<object, Args> = {
  command: 'rewrite <stream>',
  describe: 'copy a stream with edits to its cpu sections (without edits: byte for byte)',
  builder: (y) =>
    withLimits(
      y
        .positional('stream', { type: 'string', demandOption: true, describe: 'stream file, or - for stdin' })
        .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'output file, or - for stdout (never the input)' }),
    )
      .example('$0 rewrite in.mig -o out.mig', 'byte-identical copy, verified while copying')
      .example('cat in.mig | $0 rewrite - -o - > out.mig', 'pipe to pipe') as never,
  handler: async (a) => {
    await rewriteFile(a.stream, a.output, { limits: limitsFrom(a) });
  },
};
