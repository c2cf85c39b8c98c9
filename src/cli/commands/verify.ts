/** `vmstate verify`: walk every record of a stream and say whether it is intact (exit 0) or not (exit 2). */
import type { CommandModule } from 'yargs';
import { listed } from '../command-list.js';
import { limitsFrom, print, renderOptions, rules, streamOrStdin, withJson, withLimits, type OutputArgs } from './common.js';
import { toJson } from '../../report/format.js';
import { isVmstateError } from '../../errors.js';

interface Args extends OutputArgs {
  stream: string;
  json: boolean;
  maxBuffer?: number;
  maxCpregs?: number;
  maxVmdesc?: number;
}

/** Errors that say the stream itself is not intact (as opposed to a path that cannot be read). */
const INPUT_CODES = new Set(['BAD_MAGIC', 'BAD_VERSION', 'TRUNCATED', 'BAD_ITEM', 'BAD_FOOTER', 'BAD_RAM', 'UNSUPPORTED', 'BAD_VMDESC', 'BAD_SECTION', 'LIMIT']);

export const verifyCommand: CommandModule<object, Args> = {
  ...listed('verify'),
  builder: (y) =>
    withLimits(withJson(y.positional('stream', { type: 'string', describe: 'stream file or libvirt save image, or - for stdin (the default when it is not a terminal)' })))
      .check(rules<Args>((a) => void (a.stream = streamOrStdin(a.stream, 'verify'))))
      .example('$0 verify guest.mig', 'every record checked, at disk speed')
      .example('$0 verify /var/lib/libvirt/qemu/save/guest.save --json', 'a libvirt save image, as JSON') as never,
  handler: async (a) => {
    const [{ decodeStream }, { renderVerify, verifyFailure, verifyReport }] = await Promise.all([import('../../stream/decode.js'), import('../../report/verify.js')]);
    let s;
    try {
      s = await decodeStream(a.stream, { limits: limitsFrom(a), fullWalk: true });
    } catch (e) {
      // As JSON, a stream that is not intact is a document too (and still exit 2, its message on stderr).
      if (a.json && isVmstateError(e) && INPUT_CODES.has(e.code)) print(toJson(verifyFailure(a.stream, e)));
      throw e;
    }
    const rep = verifyReport(a.stream, s);
    print(a.json ? toJson(rep) : renderVerify(rep, renderOptions(a)));
  },
};
