/**
 * `vmstate profile`: save what `check` needs to know about a destination, from a stream saved
 * there — or, with `--host`, from the machine it runs on (its QEMU is started paused and saves
 * its state; the profile also records QEMU's version, the accelerator, machine type, CPU and
 * kernel release).
 */
import type { CommandModule } from 'yargs';
import { listed } from '../command-list.js';
import { UsageError } from '../../errors.js';
import { limitsFrom, print, rules, streamOrStdin, withJson, withLimits } from './common.js';
import { choice, flag, integer, text } from '../options.js';
import { toJson } from '../../report/format.js';
import { ACCELS, type Accel } from '../../regs/accel.js';

interface Args {
  stream?: string;
  output?: string;
  accel?: Accel;
  host: boolean;
  qemu?: string;
  machine?: string;
  cpu?: string;
  smp?: number;
  timeout?: number;
  json: boolean;
  maxBuffer?: number;
  maxCpregs?: number;
  maxVmdesc?: number;
}

const HOST_ONLY = ['qemu', 'machine', 'cpu', 'smp', 'timeout'] as const;

export const profileCommand: CommandModule<object, Args> = {
  ...listed('profile'),
  builder: (y) =>
    withLimits(
      withJson(
        y
          .positional('stream', { type: 'string', describe: 'stream saved on the destination (or a libvirt save image), or - for stdin (the default when it is not a terminal)' })
          .option('output', text('output', { alias: 'o', describe: 'write to this file instead of stdout' }))
          .option('accel', choice('accel', ACCELS, { describe: 'accelerator (default: inferred; with --host: kvm when /dev/kvm is usable, else tcg)' }))
          .option('host', flag({ default: false, describe: 'profile this machine: start its QEMU paused, save its state, record QEMU version, accelerator, machine, CPU and kernel' }))
          .option('qemu', text('qemu', { describe: 'with --host: the QEMU binary (default qemu-system-aarch64)' }))
          .option('machine', text('machine', { alias: 'M', describe: 'with --host: -M, as the fleet\'s guests use it (default virt,gic-version=max)' }))
          .option('cpu', text('cpu', { describe: 'with --host: -cpu (default host under KVM, max under TCG)' }))
          .option('smp', integer('smp', { min: 1, max: 4096 }, { describe: 'with --host: -smp, as the guests have it (default 1)' }))
          .option('timeout', integer('timeout', { min: 1, max: 3600 }, { describe: 'with --host: seconds QEMU may take (default 120)' })),
      ).option('json', { describe: 'accepted for uniformity: the profile is always JSON (schemas/profile.schema.json)' }),
    )
      .check(
        rules<Args>((a) => {
          if (a.host) {
            if (a.stream !== undefined) throw new UsageError('profile --host profiles this machine: give no stream');
            return;
          }
          for (const k of HOST_ONLY) if (a[k] !== undefined) throw new UsageError(`--${k} needs --host`);
          a.stream = streamOrStdin(a.stream, 'profile');
        }),
      )
      .example('$0 profile dst.mig -o dst.json', 'then: vmstate check src.mig --dest dst.json')
      .example('ssh dst-host cat /tmp/saved.mig | $0 profile - > dst.json', 'from a pipe')
      .example('$0 profile --host --accel kvm -M virt-9.2,gic-version=3 -o $(hostname).json', 'on each host of a fleet: its QEMU, KVM and kernel') as never,
  handler: async (a) => {
    let text: string;
    if (a.host) {
      const { profileHost } = await import('../../destination/host.js');
      const p = await profileHost({ qemu: a.qemu, accel: a.accel, machine: a.machine, cpu: a.cpu, smp: a.smp, ...(a.timeout ? { timeoutMs: a.timeout * 1000 } : {}) });
      text = toJson(p) + '\n';
    } else {
      const [{ decodeStream }, { profileOf }] = await Promise.all([import('../../stream/decode.js'), import('../../destination/profile.js')]);
      const s = await decodeStream(a.stream!, { limits: limitsFrom(a) });
      text = toJson(profileOf(s, { source: a.stream!, accel: a.accel })) + '\n';
    }
    if (!a.output || a.output === '-') return print(text);
    const { writeOutput } = await import('../../wire/output.js');
    await writeOutput(a.output, text, a.stream);
  },
};
