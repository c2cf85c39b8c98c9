/**
 * The commands: name, synopsis, one-line description, and where the rest is. The command line
 * loads only the module of the command it runs (start-up: `--version` and `--help` load none),
 * and lists the others from here.
 * @module
 */
import type { CommandModule } from 'yargs';

/** One command as listed: enough for `--help`, "did you mean", the usage hint. */
export interface CommandInfo {
  name: string;
  /** yargs' command string: the name and its positionals (`check [stream..]`). */
  command: string;
  describe: string;
  /** The command's module (builder and handler). */
  load(): Promise<CommandModule<object, never>>;
}

const c = (command: string, describe: string, load: () => Promise<unknown>): CommandInfo => ({
  name: command.split(' ')[0]!,
  command,
  describe,
  load: load as () => Promise<CommandModule<object, never>>,
});

/** Every command, in the order `--help` lists them. */
export const COMMANDS: readonly CommandInfo[] = [
  c('inspect [stream]', 'summarise a stream: header, machine, sections, RAM, vmdesc, vCPU cpreg counts', async () => (await import('./commands/inspect.js')).inspectCommand),
  c('regs [stream]', "list every vCPU's cpreg registers: id, name, value, QEMU field text; or look registers up", async () => (await import('./commands/regs.js')).regsCommand),
  c('dump [stream]', "device state as JSON, in the format of QEMU's analyze-migration.py -d state (or -d desc)", async () => (await import('./commands/dump.js')).dumpCommand),
  c('diff [a] [b]', 'per vCPU: registers only in a, only in b, and those whose values differ (ID register fields named)', async () => (await import('./commands/diff.js')).diffCommand),
  c('profile [stream]', 'destination profile (machine type, page size, cpu subsections, accelerator, registers) as JSON', async () => (await import('./commands/profile.js')).profileCommand),
  c('check [stream..]', 'predict whether a destination QEMU would load the stream(s), naming every reason', async () => (await import('./commands/check.js')).checkCommand),
  c('rewrite [stream]', 'copy a stream, removing ignorable registers (and, when asked, adopting destination values) so the destination loads it', async () => (await import('./commands/rewrite.js')).rewriteCommand),
  c('verify [stream]', 'walk every record of the whole stream (RAM included) and report whether it is intact: exit 0 intact, 2 not', async () => (await import('./commands/verify.js')).verifyCommand),
];

/** The command string and description of `name`, for its module (one home for both). */
export function listed(name: string): { command: string; describe: string } {
  const info = COMMANDS.find((x) => x.name === name);
  if (!info) throw new Error(`no command ${name}`);
  return { command: info.command, describe: info.describe };
}
