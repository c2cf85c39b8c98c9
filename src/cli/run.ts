/**
 * `vmstate` command line. Exit codes: 0 ok / accept, 1 the destination would
 * reject (or a rewrite was refused), 2 bad input or usage.
 */
import yargs, { type CommandModule } from 'yargs';
import { isVmstateError } from '../errors.js';
import { inspectCommand } from './commands/inspect.js';
import { regsCommand } from './commands/regs.js';
import { dumpCommand } from './commands/dump.js';
import { rewriteCommand } from './commands/rewrite.js';
import { diffCommand } from './commands/diff.js';
import { profileCommand } from './commands/profile.js';
import { checkCommand } from './commands/check.js';
import { VERSION } from '../version.js';
import { withInputObserver } from '../container/observer.js';
import { progressObserver } from './progress.js';
import { styleFor } from '../report/format.js';

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

/**
 * yargs renders the whole help text before it runs a command, in case the command fails
 * later and help is to be shown; ours prints only the message (see `.fail` below), so that
 * rendering (measuring every line's width: about 45 ms of start-up on the benchmark machine)
 * is skipped. `--help` itself is unaffected.
 */
function skipHelpCache(y: object): void {
  const usage = (y as { getInternalMethods?: () => { getUsageInstance?: () => { cacheHelpMessage?: () => void } } }).getInternalMethods?.().getUsageInstance?.();
  if (usage && typeof usage.cacheHelpMessage === 'function') usage.cacheHelpMessage = () => {};
}

/** Options every command takes. */
export interface GlobalArgs {
  quiet?: boolean;
  color?: boolean;
}

/** Runs the CLI on `argv`; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let usageError: string | null = null;
  let globals: GlobalArgs = {};
  const stderrStyle = () => styleFor({ isTTY: process.stderr.isTTY, env: process.env, flag: globals.color });
  // yargs-parser turns a lone "-" into "" or true; carry it through as a token and restore it.
  const y = yargs(argv.map((a) => (a === '-' ? STDIO : a)))
    .middleware(restoreStdio, true)
    .middleware((a) => {
      globals = { quiet: a.quiet as boolean | undefined, color: a.color as boolean | undefined };
    }, true)
    .scriptName('vmstate')
    .version(VERSION)
    .option('quiet', { alias: 'q', type: 'boolean', global: true, describe: 'print only the essential output: no progress, warnings, notes or rewrite summary' })
    .option('color', { type: 'boolean', global: true, describe: 'colour on a terminal (the default unless NO_COLOR is set); --no-color turns it off' })
    .example('$0 inspect guest.mig', 'what a stream holds')
    .example('$0 check guest.mig --dest dst.mig', 'would the destination QEMU load it?')
    .example('$0 completion >> ~/.bashrc', 'tab completion in bash (zsh: >> ~/.zshrc)')
    .epilogue('Exit codes: 0 ok, 1 the destination would reject (or a rewrite was refused), 2 bad input or usage. JSON output shapes: schemas/*.schema.json in the package.')
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) throw err;
      usageError = msg;
    });
  for (const c of commands) y.command(c);
  skipHelpCache(y);
  y.completion('completion', 'print a bash/zsh completion script (see the examples)');
  const progress = progressObserver(process.stderr, () => !globals.quiet);
  try {
    await withInputObserver(progress, () => y.parseAsync());
  } catch (e) {
    if (isVmstateError(e)) {
      process.stderr.write(`vmstate: ${stderrStyle().bad(e.message)}\n`);
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
