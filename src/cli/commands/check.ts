/** `vmstate check`: the verdict a destination QEMU would reach on a stream, with every reason. */
import type { CommandModule } from 'yargs';
import { readFile } from 'node:fs/promises';
import { decodeFile } from '../../api.js';
import { loadDestination } from '../../destination/load.js';
import { checkStream, negativeCountReport, policiesFrom, renderCheck } from '../../report/check.js';
import { VmstateError } from '../../wire/errors.js';
import { limitsFrom, print, withJson, withLimits } from './common.js';
import { toJson } from '../format.js';
import { presetNames } from '../../policy/index.js';
import type { Accel } from '../../regs/index.js';

interface Args {
  stream: string;
  dest: string;
  loader: string;
  accel?: Accel;
  policy?: string[];
  compat?: string[];
  preset?: string[];
  json: boolean;
  maxBuffer?: number;
  maxCpregs?: number;
  maxVmdesc?: number;
}

export const LOADER_CHOICES = ['legacy', 'series-v6', 'qemu-11.1', 'qemu-7.2', 'qemu-10.0', 'qemu-10.2'];

export const checkCommand: CommandModule<object, Args> = {
  command: 'check <stream>',
  describe: 'predict whether a destination QEMU would load the stream, naming every reason',
  builder: (y) =>
    withLimits(withJson(y.positional('stream', { type: 'string', demandOption: true, describe: 'stream file, or - for stdin' })))
      .option('dest', { type: 'string', demandOption: true, describe: 'destination: a stream saved there, a `vmstate profile` JSON, or a list of hex ids' })
      .option('loader', { type: 'string', choices: LOADER_CHOICES, default: 'legacy', describe: 'destination QEMU load semantics' })
      .option('accel', { choices: ['tcg', 'kvm'] as const, describe: "destination accelerator (default: inferred from the destination's list)" })
      .option('policy', { type: 'string', array: true, describe: 'policy JSON file (schemas/policy.schema.json); repeatable' })
      .option('compat', { type: 'string', array: true, describe: "QEMU property, e.g. 'x-mig-safe-missing-regs=0x603000000013c103'; repeatable" })
      .option('preset', { type: 'string', array: true, choices: presetNames(), describe: 'built-in policy preset; repeatable' })
      .example('$0 check src.mig --dest dst.mig', 'would QEMU 7.2…10.2 on the destination load it?')
      .example('$0 check src.mig --dest dst.mig --loader qemu-11.1 --preset qemu-11.1-host', 'with QEMU 11.1 and its host tolerances')
      .example('$0 check src.mig --dest regs.txt --accel kvm --json', 'against a KVM_GET_REG_LIST dump') as never,
  handler: async (a) => {
    const limits = limitsFrom(a);
    const dest = await loadDestination(a.dest, limits);
    const files: [string, string][] = [];
    for (const f of a.policy ?? []) files.push([f, await readFile(f, 'utf8')]);
    const policies = policiesFrom({ files, compat: a.compat, presets: a.preset });
    let rep;
    try {
      const s = await decodeFile(a.stream, { limits });
      rep = checkStream(a.stream, s, dest, { loader: a.loader, accel: a.accel, policies });
    } catch (e) {
      // No QEMU gets past a negative count either; say what each would do with it.
      if (!(e instanceof VmstateError) || typeof e.data.negativeCount !== 'number') throw e;
      rep = negativeCountReport(a.stream, dest, a.loader, e);
    }
    print(a.json ? toJson(rep) : renderCheck(rep));
    if (rep.verdict === 'reject') process.exitCode = 1;
  },
};
