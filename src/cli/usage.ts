/**
 * The command line as a whole, checked before any command runs: unknown commands and options
 * (with the nearest known one), extra arguments, values given to on/off flags; and the usage
 * hint printed under every usage error. yargs' own `strict` check stays on behind these: they
 * only give its findings clearer words.
 */
import { UsageError } from '../errors.js';
import { flagName } from './options.js';

/** What yargs tells a middleware about the options of the command being run. */
export interface DeclaredOptions {
  key: Record<string, unknown>;
  alias: Record<string, string[]>;
  boolean: string[];
}

function camel(s: string): string {
  return s.replace(/[-_]+([^-_])/g, (_m, c: string) => c.toUpperCase());
}

/** A positional argument of a command (`[stream]`, `<a>`, `[stream..]`). */
export interface Positional {
  name: string;
  variadic: boolean;
}

/** The positionals a yargs command string declares (`check [stream..]` → stream, a list). */
export function positionalsOf(command: string): Positional[] {
  return command
    .split(/\s+/)
    .slice(1)
    .flatMap((t) => {
      const m = /^[[<]([\w-]+)(\.\.)?[\]>]$/.exec(t);
      return m ? [{ name: m[1]!, variadic: !!m[2] }] : [];
    });
}

/** Damerau–Levenshtein distance (adjacent swaps count one), for "did you mean". */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The candidate closest to `word`, if it is close enough to be a slip of the keyboard. */
export function nearest(word: string, candidates: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word, c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  // A prefix of one option only (--strip-unk) is as good as a slip.
  const prefixed = candidates.filter((c) => word.length >= 3 && c.startsWith(word));
  if (prefixed.length === 1) return prefixed[0]!;
  return best !== null && bestD <= Math.max(1, Math.floor(Math.min(word.length, best.length) / 3)) ? best : null;
}

/** A command name that is not one: names the nearest. */
export function unknownCommand(word: string, commands: readonly string[]): UsageError {
  const near = nearest(word, commands);
  return new UsageError(`unknown command '${word}'${near ? ` (did you mean ${near}?)` : ''}`);
}

/**
 * Checks a parsed command line against the options declared for it. `raw` is the command line
 * as given (for the spelling of an option and values given to flags). yargs has already given
 * the command's positionals their arguments, but not those after `--` (a file named `-x.mig`):
 * they fill the positionals still empty here. What is left after that is one too many.
 */
export function checkCommandLine(argv: Record<string, unknown>, declared: DeclaredOptions, raw: readonly string[], positionals: readonly Positional[]): void {
  const after = ((argv['--'] as unknown[] | undefined) ?? []).map(String);
  delete argv['--'];
  for (const p of positionals) {
    if (!after.length) break;
    if (p.variadic) argv[p.name] = [...((argv[p.name] as string[] | undefined) ?? []), ...after.splice(0)];
    else if (argv[p.name] === undefined) argv[p.name] = after.shift();
  }
  const known = new Set<string>(['_', '$0', '--']);
  const longNames: string[] = [];
  for (const k of Object.keys(declared.key)) {
    for (const n of [k, ...(declared.alias[k] ?? [])]) {
      known.add(n);
      known.add(camel(n));
      if (n.length > 1) longNames.push(n);
    }
  }
  const asTyped = raw.slice(0, raw.includes('--') ? raw.indexOf('--') : raw.length);
  const unknown = Object.keys(argv).filter((k) => !known.has(k));
  // yargs adds a camelCase twin of every key (dry-rn → dryRn): name each option once.
  const named = unknown.filter((k) => !unknown.some((u) => u !== k && u.includes('-') && camel(u) === k));
  if (named.length) {
    const spelt = named.map((k) => (asTyped.some((t) => t === `--no-${k}` || t.startsWith(`--no-${k}=`)) ? `--no-${k}` : flagName(k)));
    const near = nearest(named[0]!, longNames);
    throw new UsageError(`unknown option${named.length > 1 ? 's' : ''} ${spelt.join(', ')}${near ? ` (did you mean --${near}?)` : ''}`);
  }
  // --flag=value: yargs reads any value but 'true' as false; only true and false mean anything.
  const flags = new Set(declared.boolean.flatMap((b) => [b, ...(declared.alias[b] ?? [])]));
  for (const t of asTyped) {
    const m = /^--(?:no-)?([^=]+)=(.*)$/s.exec(t);
    if (m && flags.has(m[1]!) && m[2] !== 'true' && m[2] !== 'false') throw new UsageError(`${t.slice(0, t.indexOf('='))} is a switch: it takes no value (given '${m[2]}')`);
  }
  const rest = [...(argv._ as unknown[]).slice(1), ...after];
  if (rest.length > 0) {
    throw new UsageError(`unexpected argument${rest.length > 1 ? 's' : ''} ${rest.map((x) => `'${String(x)}'`).join(' ')}`);
  }
}

/** The line printed under a usage error: how the command is used and where its help is. */
export function usageHint(command: { name: string; synopsis: string } | null): string {
  if (!command) return "usage: vmstate <command> [options] (commands: vmstate --help)";
  return `usage: vmstate ${command.synopsis} [options] (all options: vmstate ${command.name} --help)`;
}
