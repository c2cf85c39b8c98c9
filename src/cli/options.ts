/**
 * Option values, checked while the command line is parsed — before any command runs. Every
 * option of every command is declared through these constructors, so a missing, malformed or
 * out-of-range value, or a single-value option given twice, is a usage error (exit 2) that
 * never reaches a command. yargs runs each `coerce` before its own validation; what a `coerce`
 * throws ends the run through the parser's `fail` (see `run.ts`).
 */
import type { Options } from 'yargs';
import { UsageError } from '../errors.js';

/** How an option is spelt on the command line: `-o`, `--output`. */
export function flagName(name: string): string {
  return name.length === 1 ? `-${name}` : `--${name}`;
}

/** `v` as the user typed it, for messages. */
function shown(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

function once(name: string, v: unknown): unknown {
  if (Array.isArray(v)) throw new UsageError(`${flagName(name)} is given ${v.length} times: give it once`);
  // A string option with nothing after it parses as '', a number option as `true`.
  if (v === '' || v === true) throw new UsageError(`${flagName(name)} needs a value`);
  return v;
}

/** A single string value (a path, a name): given once, not empty. */
export function text(name: string, o: Omit<Options, 'type' | 'coerce'>): Options {
  return { ...o, type: 'string', coerce: (v: unknown) => String(once(name, v)) };
}

/** A repeatable option whose every value is a non-empty string (`--strip A,B --strip C`). */
export function texts(name: string, o: Omit<Options, 'type' | 'array' | 'coerce'>): Options {
  return {
    ...o,
    type: 'string',
    array: true,
    coerce: (v: unknown) => {
      const list = (Array.isArray(v) ? v : [v]).map(String);
      if (list.length === 0 || list.some((x) => x === '')) throw new UsageError(`${flagName(name)} needs a value`);
      return list;
    },
  };
}

/**
 * A repeatable list of names (registers, ids), each value comma-separated: `--strip A,B --strip C`
 * gives A, B, C. A value with no name in it (`--strip ,`) is a usage error, not an empty edit.
 */
export function nameList(name: string, o: Omit<Options, 'type' | 'array' | 'coerce'>): Options {
  return {
    ...o,
    type: 'string',
    array: true,
    coerce: (v: unknown) => {
      const values = (Array.isArray(v) ? v : [v]).map(String);
      const names = values.map((x) => x.split(',').map((n) => n.trim()).filter(Boolean));
      if (names.length === 0 || names.some((n) => n.length === 0)) throw new UsageError(`${flagName(name)} needs a value (names or ids, comma-separated)`);
      return names.flat();
    },
  };
}

/** Bounds of an {@link integer} option. */
export interface IntegerBounds {
  min: number;
  max?: number;
}

/**
 * A whole number (decimal, or hex with `0x`), given once, within bounds. Declared without a yargs
 * type and read as text (the parser's `parse-numbers` is off, see `run.ts`): a value that is not
 * a number reaches the check as typed (`--cpu abc` names 'abc', not NaN), and yargs-parser's
 * numbers have a trap: a repeated option whose value is 1 counts up (`--cpu 1 --cpu 1` is 2).
 */
export function integer(name: string, bounds: IntegerBounds, o: Omit<Options, 'type' | 'coerce'>): Options {
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  return {
    ...o,
    coerce: (v: unknown) => {
      const t = once(name, v);
      const n = typeof t === 'string' && /^(\d+|0x[0-9a-f]+)$/i.test(t) ? Number(t) : NaN;
      if (!Number.isSafeInteger(n) || n < bounds.min || n > max) {
        const range = bounds.max === undefined ? `≥ ${bounds.min}` : `from ${bounds.min} to ${max}`;
        throw new UsageError(`${flagName(name)} needs a whole number ${range}, not ${shown(t)}`);
      }
      return n;
    },
  };
}

function oneOf<T extends string>(name: string, values: readonly T[], v: unknown): T {
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new UsageError(`${flagName(name)}: ${shown(v)} is not one of ${values.join(', ')}`);
  }
  return v as T;
}

/** One of fixed values, given once. */
export function choice<T extends string>(name: string, values: readonly T[], o: Omit<Options, 'type' | 'coerce' | 'choices'>): Options {
  return { ...o, type: 'string', choices: [...values], coerce: (v: unknown) => oneOf(name, values, once(name, v)) };
}

/** A repeatable option whose every value is one of fixed values. */
export function choices<T extends string>(name: string, values: readonly T[], o: Omit<Options, 'type' | 'array' | 'coerce' | 'choices'>): Options {
  return {
    ...o,
    type: 'string',
    array: true,
    choices: [...values],
    coerce: (v: unknown) => {
      const list = Array.isArray(v) ? v : [v];
      if (list.length === 0) throw new UsageError(`${flagName(name)} needs a value`);
      return list.map((x) => oneOf(name, values, x));
    },
  };
}

/** An on/off switch (`--json`, `--no-color`); `--name=true|false` is the only value it takes. */
export function flag(o: Omit<Options, 'type' | 'coerce'>): Options {
  return { ...o, type: 'boolean' };
}
