/** Options and helpers shared by several commands. */
import type { Argv } from 'yargs';
import { readFile } from 'node:fs/promises';
import { presetNames } from '../../policy/presets.js';
import type { Policy } from '../../policy/index.js';
import { ioError } from '../../errors.js';
import type { DecodeLimits } from '../../stream/decode.js';
import { styleFor, type RenderOptions } from '../../report/format.js';

/** `--json` */
export function withJson<T>(y: Argv<T>) {
  return y.option('json', { type: 'boolean', default: false, describe: 'machine-readable output (schemas/<command>.schema.json)' });
}

/** Caps on input-controlled sizes. */
export function withLimits<T>(y: Argv<T>) {
  return y
    .option('max-buffer', { type: 'number', describe: 'bytes of device state held in memory at most (default 64 MiB)' })
    .option('max-cpregs', { type: 'number', describe: 'largest cpreg count accepted (default 65536)' })
    .option('max-vmdesc', { type: 'number', describe: 'largest vmdesc JSON accepted (default 64 MiB)' });
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
    .option('policy', { type: 'string', array: true, describe: 'policy JSON file (schemas/policy.schema.json); repeatable' })
    .option('compat', { type: 'string', array: true, describe: "QEMU property, e.g. 'x-mig-safe-missing-regs=0x603000000013c103'; repeatable" })
    .option('preset', { type: 'string', array: true, choices: presetNames(), describe: 'built-in policy preset; repeatable' });
}

/** The policies named by {@link withPolicies} options. */
export async function policiesFromArgs(a: PolicyArgs): Promise<Policy[]> {
  // Loaded when a command asks for policies, not at start-up.
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
