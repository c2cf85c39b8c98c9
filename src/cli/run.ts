/**
 * `vmstate` command line. Exit codes: 0 ok / accept, 1 the destination would
 * reject (or a rewrite was refused), 2 bad input or usage, 3 a bug (internal error).
 *
 * The whole command line is accepted before any command runs: option values are checked as
 * they are parsed (`options.ts`), the line as a whole before yargs' own validation
 * (`usage.ts`), each command's option combinations after it (its `.check`); every finding
 * reaches `.fail`, which throws it, so that nothing runs after a usage error.
 */
import yargs, { type Argv, type CommandModule } from 'yargs';
import { isVmstateError, UsageError } from '../errors.js';
import { COMMANDS, type CommandInfo } from './command-list.js';
import { VERSION } from '../version.js';
import { withInputObserver } from '../container/observer.js';
import { progressObserver } from './progress.js';
import { checkCommandLine, positionalsOf, unknownCommand, usageHint, type DeclaredOptions } from './usage.js';

/**
 * The command a command line runs: the first word that names one (before `--`). Only on/off
 * switches (`--quiet`, `--color`) may come before it, so no option's value is taken for it.
 */
function running(argv: readonly string[]): CommandInfo | undefined {
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  for (const t of argv.slice(0, end)) {
    const c = COMMANDS.find((x) => x.name === t);
    if (c) return c;
  }
  return undefined;
}

/**
 * Every command module, for yargs: the one the command line runs loaded whole, the others
 * listed by name and description only (their modules are not loaded: start-up). A listed-only
 * command is never run: it would have been the one loaded.
 */
async function commandModules(argv: readonly string[]): Promise<CommandModule<object, never>[]> {
  const run = running(argv);
  return Promise.all(
    COMMANDS.map(async (c) =>
      c === run
        ? c.load()
        : ({
            command: c.command,
            describe: c.describe,
            builder: (y: Argv) => y,
            handler: () => {
              throw new Error(`command ${c.name} was run without its module`);
            },
          } as unknown as CommandModule<object, never>),
    ),
  );
}

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

/** `vmstate completion`: a command of ours (yargs' own prints the script even for `--help`). */
function completionCommand(y: Argv): CommandModule<object, object> {
  return {
    command: 'completion',
    describe: 'print a bash/zsh completion script (see the examples)',
    builder: (c) => c.example('$0 completion >> ~/.bashrc', 'tab completion in bash (zsh: >> ~/.zshrc)'),
    handler: () => {
      y.showCompletionScript();
    },
  };
}

/** The command a command line names (for the usage hint), if any. */
function commandOf(argv: readonly string[], all: readonly CommandModule<object, never>[]): { name: string; synopsis: string } | null {
  const end = argv.includes('--') ? argv.indexOf('--') : argv.length;
  for (const t of argv.slice(0, end)) {
    const c = all.find((m) => String(m.command).split(' ')[0] === t);
    if (c) return { name: t, synopsis: String(c.command) };
  }
  return null;
}

/** Options every command takes. */
export interface GlobalArgs {
  quiet?: boolean;
  color?: boolean;
}

/** Runs the CLI on `argv`; resolves to the exit code. */
export async function main(argv: string[]): Promise<number> {
  let globals: GlobalArgs = {};
  // Colours for standard error, loaded with the command (start-up: --version and --help need none).
  let format: typeof import('../report/format.js') | null = running(argv) ? await import('../report/format.js') : null;
  const stderrStyle = async () => {
    format ??= await import('../report/format.js');
    return format.styleFor({ isTTY: process.stderr.isTTY, env: process.env, flag: globals.color });
  };
  // yargs-parser turns a lone "-" into "" or true; carry it through as a token and restore it.
  const y = yargs(argv.map((a) => (a === '-' ? STDIO : a)));
  const all = [...(await commandModules(argv)), completionCommand(y) as CommandModule<object, never>];
  const names = all.map((c) => String(c.command).split(' ')[0]!);
  y.locale('en')
    // Numbers are read by their options (options.ts), as typed.
    .parserConfiguration({ 'parse-numbers': false })
    .updateStrings({ 'Missing required argument: %s': { one: 'missing required option --%s', other: 'missing required options: %s' } } as never)
    .middleware(restoreStdio, true)
    // yargs passes a middleware the parser of the command being run (its declared options).
    .middleware(((a: { _: (string | number)[]; [k: string]: unknown }, inner: Argv) => {
      globals = { quiet: a.quiet as boolean | undefined, color: a.color as boolean | undefined };
      // Outside any command (no name matched), a first word is a command that does not exist.
      const first = a._[0];
      if (first !== undefined && !names.includes(String(first))) throw unknownCommand(String(first), names);
      const command = all.find((c) => String(c.command).split(' ')[0] === first);
      checkCommandLine(a, (inner as unknown as { getOptions(): DeclaredOptions }).getOptions(), argv, command ? positionalsOf(String(command.command)) : []);
    }) as never, true)
    .scriptName('vmstate')
    .version(VERSION)
    .option('quiet', { alias: 'q', type: 'boolean', global: true, describe: 'print only the essential output: no progress, warnings, notes or rewrite summary' })
    .option('color', { type: 'boolean', global: true, describe: 'colour on a terminal (the default unless NO_COLOR is set); --no-color turns it off' })
    .example('$0 inspect guest.mig', 'what a stream holds')
    .example('$0 check guest.mig --dest dst.mig', 'would the destination QEMU load it?')
    .example('$0 completion >> ~/.bashrc', 'tab completion in bash (zsh: >> ~/.zshrc)')
    .epilogue('Exit codes: 0 ok, 1 the destination would reject (or a rewrite was refused), 2 bad input or usage, 3 an internal error (a bug: please report it). No stream named: standard input, unless it is a terminal. JSON output shapes: schemas/*.schema.json in the package.')
    // Behind our checks (usage.ts), yargs' own: nothing unknown gets through unreported.
    .strict()
    .demandCommand(1, 'name a command')
    .wrap(Math.min(110, process.stdout.columns || 100))
    // yargs goes on after a `fail` handler returns (into the command): ours never returns.
    .fail((msg, err) => {
      if (err && (isVmstateError(err) || err.name !== 'YError')) throw err;
      throw new UsageError(msg || err?.message || 'bad command line');
    });
  for (const c of all) y.command(c);
  skipHelpCache(y);
  const note = (m: string) => {
    const text = `note: ${m}`;
    const st = format?.styleFor({ isTTY: process.stderr.isTTY, env: process.env, flag: globals.color });
    process.stderr.write(`vmstate: ${st ? st.warn(text) : text}\n`);
  };
  const progress = progressObserver(process.stderr, () => !globals.quiet, {}, note);
  try {
    await withInputObserver(progress, () => y.parseAsync());
  } catch (e) {
    if (isVmstateError(e)) {
      process.stderr.write(`vmstate: ${(await stderrStyle()).bad(e.message)}\n`);
      if (e.code === 'USAGE') process.stderr.write(`${usageHint(commandOf(argv, all))}\n`);
      return e.code === 'REFUSED' ? 1 : 2;
    }
    process.stderr.write(`vmstate: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    return 3;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}
