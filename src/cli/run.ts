/**
 * `vmstate` command line. Exit codes: 0 ok / accept, 1 the destination would
 * reject (or a rewrite was refused), 2 bad input or usage.
 */
import yargs, { type CommandModule } from 'yargs';
import { isVmstateError } from '../wire/errors.js';
import { inspectCommand } from './commands/inspect.js';
import { regsCommand } from './commands/regs.js';
import { dumpCommand } from './commands/dump.js';
import { rewriteCommand } from './commands/rewrite.js';
import { diffCommand } from './commands/diff.js';
import { profileCommand } from './commands/profile.js';
import { checkCommand } from './commands/check.js';
import { VERSION } from '../version.js';

/** Every command module, registered in this order. */
export const commands: CommandModule<object, never>[] = [
  inspectCommand as CommandModule<object, never>,
  regsCommand as CommandModule<object, never>,
  dumpCommand as CommandModule<object, never>,
  diffCommand as CommandModule<object, never>,
  profileCommand as CommandModule<object, never>,
  checkCommand as CommandModule<object, never>,
  rewriteCommand as CommandModule<object, never>,
];

const STDIO = '\u0000stdio';

function restoreStdio(args: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(args)) {
    if (v === STDIO) args[k] = '-';
    else if (Array.isArray(v)) args[k] = v.map((x) => (x === STDIO ? '-' : x));
  }
}

/** Runs the CLI on `argv`; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let usageError: string | null = null;
  // yargs-parser turns a lone "-" into "" or true; carry it through as a token and restore it.
  const y = yargs(argv.map((a) => (a === '-' ? STDIO : a)))
    .middleware(restoreStdio, true)
    .scriptName('vmstate')
    .version(VERSION)
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      usageError = msg;
    });
  for (const c of commands) y.command(c);
  try {
    await y.parseAsync();
  } catch (e) {
    if (isVmstateError(e)) {
      process.stderr.write(`vmstate: ${e.message}\n`);
      return e.code === 'REFUSED' ? 1 : 2;
    }
    process.stderr.write(`vmstate: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 3;
  }
  if (usageError) {
    process.stderr.write(`vmstate: ${usageError}\n`);
    return 2;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
