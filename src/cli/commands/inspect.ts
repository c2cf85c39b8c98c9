/** `vmstate inspect`: what a stream holds, from header to vmdesc. */
import type { CommandModule } from 'yargs';
import { decodeFile } from '../../api.js';
import { inspectReport, renderInspect } from '../../report/inspect.js';
import { limitsFrom, print, withJson, withLimits } from './common.js';
import { toJson } from '../format.js';

interface Args {
  stream: string;
  json: boolean;
  maxBuffer?: number;
  maxCpregs?: number;
  maxVmdesc?: number;
}

export const inspectCommand: CommandModule<object, Args> = {
  command: 'inspect <stream>',
  describe: 'summarise a stream: header, machine, sections, RAM, vmdesc, vCPU cpreg counts',
  builder: (y) =>
    withLimits(withJson(y.positional('stream', { type: 'string', demandOption: true, describe: 'stream file, or - for stdin' })))
      .example('$0 inspect samples/qemu-7.2/virt-7.2_max.mig', 'human summary')
      .example('cat f.mig | $0 inspect - --json', 'from a pipe, as JSON') as never,
  handler: async (a) => {
    const s = await decodeFile(a.stream, { limits: limitsFrom(a) });
    const rep = inspectReport(a.stream, s);
    print(a.json ? toJson(rep) : renderInspect(rep));
  },
};
