/** Options and helpers shared by several commands. */
import type { Argv } from 'yargs';
import { readFile } from 'node:fs/promises';
import { constants as bufferConstants } from 'node:buffer';
import { isatty } from 'node:tty';
import { presetNames } from '../../policy/presets.js';
import type { Policy } from '../../policy/index.js';
import { ioError, UsageError } from '../../errors.js';
import type { DecodeLimits } from '../../stream/decode.js';
import { styleFor, type RenderOptions } from '../../report/format.js';
import { choices, flag, integer, texts } from '../options.js';
import { parseKernelRelease } from '../../match/kvm-kernel.js';

/** `--json` */
export function withJson<T>(y: Argv<T>) {
  return y.option('json', flag({ default: false, describe: 'machine-readable output (schemas/<command>.schema.json)' }));
}

/**
 * Caps on input-controlled sizes. Their ceilings are what one buffer (`--max-buffer`) and one
 * string (`--max-vmdesc`, the JSON text) can hold, and the wire's 32-bit cpreg count.
 */
export function withLimits<T>(y: Argv<T>) {
  return y
    .option('max-buffer', integer('max-buffer', { min: 1, max: bufferConstants.MAX_LENGTH - 1 }, { describe: 'bytes of device state held in memory at most (default 64 MiB)' }))
    .option('max-cpregs', integer('max-cpregs', { min: 0, max: 0xffffffff }, { describe: 'largest cpreg count accepted (default 65536)' }))
    .option('max-vmdesc', integer('max-vmdesc', { min: 1, max: bufferConstants.MAX_STRING_LENGTH }, { describe: 'largest vmdesc JSON accepted, in bytes (default 64 MiB)' }));
}

/** Limits from parsed options. */
export function limitsFrom(a: { maxBuffer?: number; maxCpregs?: number; maxVmdesc?: number }): Partial<DecodeLimits> {
  const l: Partial<DecodeLimits> = {};
  if (a.maxBuffer !== undefined) l.maxBuffer = a.maxBuffer;
  if (a.maxCpregs !== undefined) l.maxCpregs = a.maxCpregs;
  if (a.maxVmdesc !== undefined) l.maxVmdesc = a.maxVmdesc;
  return l;
}

/** Writes text to stdout with a trailing newline. */
export function print(s: string): void {
  process.stdout.write(s.endsWith('\n') ? s : s + '\n');
}

/** `--quiet` and `--color` as every command receives them (global options). */
export interface OutputArgs {
  quiet?: boolean;
  color?: boolean;
}

/** Text rendering options for output to `stream` (standard output by default). */
export function renderOptions(a: OutputArgs, stream: { isTTY?: boolean } = process.stdout): RenderOptions {
  return { quiet: !!a.quiet, style: styleFor({ isTTY: stream.isTTY, env: process.env, flag: a.color }) };
}

/** Where policies come from: `--policy` files, `--compat` QEMU properties, `--preset` names. */
export interface PolicyArgs {
  policy?: string[];
  compat?: string[];
  preset?: string[];
}

/** `--policy`, `--compat`, `--preset` (check and rewrite). */
export function withPolicies<T>(y: Argv<T>) {
  return y
    .option('policy', texts('policy', { describe: 'policy JSON file (schemas/policy.schema.json); repeatable' }))
    .option('compat', texts('compat', { describe: "QEMU property, e.g. 'x-mig-safe-missing-regs=0x603000000013c103'; repeatable" }))
    .option('preset', choices('preset', presetNames(), { describe: 'built-in policy preset; repeatable' }));
}

/** The {@link withPolicies} options as given, to repeat them in a suggested command. */
export function policyArgv(a: PolicyArgs): string[] {
  return [
    ...(a.policy ?? []).flatMap((x) => ['--policy', x]),
    ...(a.compat ?? []).flatMap((x) => ['--compat', x]),
    ...(a.preset ?? []).flatMap((x) => ['--preset', x]),
  ];
}

/** The policies named by {@link withPolicies} options. */
export async function policiesFromArgs(a: PolicyArgs): Promise<Policy[]> {
  if (!a.policy?.length && !a.compat?.length && !a.preset?.length) return [];
  // Loaded when a command is given policies, not at start-up.
  const { policiesFrom } = await import('../../policy/sources.js');
  const files: [string, string][] = [];
  for (const f of a.policy ?? []) {
    try {
      files.push([f, await readFile(f, 'utf8')]);
    } catch (e) {
      throw ioError(`cannot read policy ${f}`, e);
    }
  }
  return policiesFrom({ files, compat: a.compat, presets: a.preset });
}

/**
 * The stream a command reads when none is named: standard input when it is not a terminal
 * (`vmstate inspect < f.mig`, a pipe); on a terminal, nothing would ever arrive: a usage error.
 */
export function streamOrStdin(given: string | undefined, command: string): string {
  if (given !== undefined) return given;
  if (isatty(0)) throw new UsageError(`${command} needs a stream: a file, or - for standard input (a pipe or a redirected file)`);
  return '-';
}

/**
 * A `check` for yargs' `.check()`: `fn` throws a {@link UsageError} for a bad combination of
 * options and may fill in what was left out; it runs after yargs' own validation, before the
 * command. An async `fn` can load what it needs (start-up loads no command's code).
 */
export function rules<A>(fn: (a: A) => void): (a: unknown) => true;
export function rules<A>(fn: (a: A) => Promise<void>): (a: unknown) => Promise<true>;
export function rules<A>(fn: (a: A) => void | Promise<void>): (a: unknown) => true | Promise<true> {
  return (a) => {
    const r = fn(a as A);
    return r instanceof Promise ? r.then(() => true as const) : true;
  };
}

/** `--kernel`: a release that starts with a version (`6.12`, `6.12.118+deb13-arm64`). */
export function checkKernelOption(kernel: string | undefined): void {
  if (kernel !== undefined && parseKernelRelease(kernel) === null) {
    throw new UsageError(`--kernel: '${kernel}' does not start with a kernel version (e.g. 6.12 or 6.12.118+deb13-arm64)`);
  }
}
