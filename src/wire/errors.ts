/**
 * Typed errors. Every failure caused by the input names the absolute byte
 * offset and the section it happened in, so a user can find it with `xxd -s`.
 */

/** Machine-readable error codes. */
export type ErrorCode =
  | 'BAD_MAGIC'
  | 'BAD_VERSION'
  | 'TRUNCATED'
  | 'BAD_ITEM'
  | 'BAD_FOOTER'
  | 'BAD_RAM'
  | 'UNSUPPORTED'
  | 'BAD_VMDESC'
  | 'BAD_SECTION'
  | 'LIMIT'
  | 'USAGE'
  | 'BAD_EDIT'
  | 'IO'
  | 'REFUSED';

/** Where in the stream an error happened. */
export interface ErrorPlace {
  /** Absolute byte offset in the input. */
  offset: number;
  /** Section description, e.g. `cpu (instance 1)`, `ram`, `header`, `vmdesc`. */
  section: string;
}

/**
 * Names read from the input (section idstrs, RAM block names, subsection
 * names) can hold any byte: control characters are escaped (`\x0a`) so that a
 * message and its section stay one printable line.
 */
function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Base class of every error vmstate raises on purpose. */
export class VmstateError extends Error {
  override readonly name: string = 'VmstateError';
  readonly place?: ErrorPlace;
  constructor(
    readonly code: ErrorCode,
    message: string,
    place?: ErrorPlace,
    readonly data: { expected?: unknown; actual?: unknown; [k: string]: unknown } = {},
  ) {
    const at = place && { offset: place.offset, section: printable(place.section) };
    super(at ? `${printable(message)} (at byte ${at.offset}, in ${at.section})` : printable(message));
    this.place = at;
  }
}

/** The input does not follow the migration stream format. */
export class StreamFormatError extends VmstateError {
  override readonly name = 'StreamFormatError';
}

/** The input ended before a complete item was read. */
export class TruncatedError extends VmstateError {
  override readonly name = 'TruncatedError';
  constructor(needed: number, place: ErrorPlace) {
    super('TRUNCATED', `stream ends early: ${needed} more byte(s) needed`, place, { expected: needed });
  }
}

/** A length or count in the input exceeds a configured cap (the cap is named). */
export class LimitError extends VmstateError {
  override readonly name = 'LimitError';
  constructor(what: string, actual: number | bigint, cap: number, capName: string, place: ErrorPlace) {
    super('LIMIT', `${what} ${actual} exceeds the cap ${cap} (${capName})`, place, { actual, expected: cap, cap: capName });
  }
}

/** Valid input that uses an encoding vmstate does not implement. */
export class UnsupportedError extends VmstateError {
  override readonly name = 'UnsupportedError';
}

/** Bad command-line use. */
export class UsageError extends VmstateError {
  override readonly name = 'UsageError';
  constructor(message: string) {
    super('USAGE', message);
  }
}

/** A rewrite refused on purpose (a policy violation, or a result the destination would reject): exit 1. */
export class RefusalError extends VmstateError {
  override readonly name = 'RefusalError';
  constructor(message: string, data: Record<string, unknown> = {}) {
    super('REFUSED', message, undefined, data);
  }
}

/** True for errors that vmstate raised on purpose (as opposed to bugs). */
export function isVmstateError(e: unknown): e is VmstateError {
  return e instanceof VmstateError;
}

/** A failed file operation as a typed error: `what` (e.g. "cannot open f.mig"), then the errno code. */
export function ioError(what: string, e: unknown): VmstateError {
  if (isVmstateError(e)) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return new VmstateError('IO', `${what}: ${code ?? (e instanceof Error ? e.message : String(e))}`);
}
