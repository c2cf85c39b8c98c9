/**
 * Typed errors: every failure vmstate raises on purpose is one of the seven classes below, each
 * with a `code` and structured `data`. Every failure caused by the input names the absolute byte
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
  | 'BAD_PROFILE'
  | 'USAGE'
  | 'BAD_EDIT'
  | 'IO'
  | 'REFUSED';

/** The codes of {@link StreamFormatError}. */
export type FormatErrorCode = Extract<ErrorCode, `BAD_${string}`> & Exclude<ErrorCode, 'BAD_PROFILE'>;

/** Where in the stream an error happened. */
export interface ErrorPlace {
  /** Absolute byte offset in the input. */
  offset: number;
  /** Section description, e.g. `cpu (instance 1)`, `ram`, `header`, `vmdesc`. */
  section: string;
}

/** Structured details of an error: `expected`/`actual` where they apply, plus kind-specific keys. */
export type ErrorData = { expected?: unknown; actual?: unknown; [k: string]: unknown };

/**
 * Names read from the input (section idstrs, RAM block names, subsection
 * names) can hold any byte: control characters are escaped (`\x0a`) so that a
 * message and its section stay one printable line.
 */
function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * Base class of every error vmstate raises on purpose (never thrown itself).
 * @example
 * ```ts
 * import { decodeStream, VmstateError } from 'vmstate';
 * const e = await decodeStream(new Uint8Array([0x51, 0x45, 0x56, 0x4d, 0, 0, 0, 3])).catch((x) => x);
 * console.log(e instanceof VmstateError, e.code, e.place?.offset, e.place?.section);
 * // prints: true TRUNCATED 8 top level
 * ```
 */
export class VmstateError extends Error {
  override readonly name: string = 'VmstateError';
  /** Where in the input it happened (input errors only). */
  readonly place?: ErrorPlace;
  constructor(
    readonly code: ErrorCode,
    message: string,
    place?: ErrorPlace,
    readonly data: ErrorData = {},
  ) {
    const at = place && { offset: place.offset, section: printable(place.section) };
    super(at ? `${printable(message)} (at byte ${at.offset}, in ${at.section})` : printable(message));
    this.place = at;
  }
}

/**
 * The input ended before a complete item was read (`data.expected` more bytes needed).
 * @example
 * ```ts
 * import { decodeStream, TruncatedError } from 'vmstate';
 * const e = await decodeStream(new Uint8Array([0x51, 0x45, 0x56])).catch((x) => x);
 * console.log(e instanceof TruncatedError, e.message);
 * // prints: true stream ends early: 5 more byte(s) needed (at byte 3, in header)
 * ```
 */
export class TruncatedError extends VmstateError {
  override readonly name = 'TruncatedError';
  /** `message` replaces the default "stream ends early" for inputs around the stream (a container header). */
  constructor(needed: number, place?: ErrorPlace, message = `stream ends early: ${needed} more byte(s) needed`) {
    super('TRUNCATED', message, place, { expected: needed });
  }
}

/**
 * The input does not follow the migration stream format (`code`: `BAD_MAGIC`, `BAD_SECTION`, …).
 * @example
 * ```ts
 * import { decodeStream, StreamFormatError } from 'vmstate';
 * const e = await decodeStream(Buffer.from('not a stream')).catch((x) => x);
 * console.log(e instanceof StreamFormatError, e.code, e.data.expected === 0x5145564d);
 * // prints: true BAD_MAGIC true
 * ```
 */
export class StreamFormatError extends VmstateError {
  override readonly name = 'StreamFormatError';
  constructor(code: FormatErrorCode, message: string, place?: ErrorPlace, data: ErrorData = {}) {
    super(code, message, place, data);
  }
}

/**
 * A length or count in the input exceeds a configured cap (the cap is named: `data.cap`).
 * @example
 * ```ts
 * import { decodeStream, LimitError } from 'vmstate';
 * const e = await decodeStream('samples/qemu-7.2/virt-7.2_max.mig', { limits: { maxCpregs: 100 } }).catch((x) => x);
 * console.log(e instanceof LimitError, e.data.cap, e.data.expected);
 * // prints: true maxCpregs 100
 * ```
 */
export class LimitError extends VmstateError {
  override readonly name = 'LimitError';
  constructor(what: string, actual: number | bigint | string, cap: number, capName: string, place: ErrorPlace) {
    super('LIMIT', `${what} ${actual} exceeds the cap ${cap} (${capName})`, place, { actual, expected: cap, cap: capName });
  }
}

/**
 * Valid input that uses an encoding vmstate does not implement (postcopy, RDMA, mapped-ram, …).
 * @example
 * ```ts
 * import { UnsupportedError } from 'vmstate';
 * const e = new UnsupportedError('mapped-ram streams are not supported', { offset: 100, section: 'ram' });
 * console.log(e.code, e.message);
 * // prints: UNSUPPORTED mapped-ram streams are not supported (at byte 100, in ram)
 * ```
 */
export class UnsupportedError extends VmstateError {
  override readonly name = 'UnsupportedError';
  constructor(message: string, place?: ErrorPlace, data: ErrorData = {}) {
    super('UNSUPPORTED', message, place, data);
  }
}

/**
 * A destination profile (JSON) or register list cannot be read (`data.path` or `data.line`).
 * @example
 * ```ts
 * import { loadDestination, ProfileError } from 'vmstate';
 * const e = await loadDestination(Buffer.from('0x603000000013c103\nTPIDR_EL0\n'), { name: 'regs.txt' }).catch((x) => x);
 * console.log(e instanceof ProfileError, e.code, e.data.line, e.message);
 * // prints: true BAD_PROFILE 2 regs.txt: line 2: expected one hex register id, got 'TPIDR_EL0'
 * ```
 */
export class ProfileError extends VmstateError {
  override readonly name = 'ProfileError';
  constructor(message: string, data: ErrorData = {}) {
    super('BAD_PROFILE', message, undefined, data);
  }
}

/**
 * Bad use (`USAGE`: an unknown register, loader, preset…, `data.reason` says which), or a path
 * that cannot be read or written (`IO`).
 * @example
 * ```ts
 * import { decodeStream, UsageError } from 'vmstate';
 * const e = await decodeStream('/nonexistent.mig').catch((x) => x);
 * console.log(e instanceof UsageError, e.code, e.message);
 * // prints: true IO cannot open /nonexistent.mig: ENOENT
 * ```
 */
export class UsageError extends VmstateError {
  override readonly name = 'UsageError';
  constructor(message: string, data: ErrorData = {}, code: 'USAGE' | 'IO' | 'BAD_EDIT' = 'USAGE') {
    super(code, message, undefined, data);
  }
}

/**
 * A rewrite refused on purpose (a policy violation, or a result the destination would reject): exit 1.
 * @example
 * ```ts
 * import { rewriteStream, RefusalError } from 'vmstate';
 * const policies = [{ name: 'demo', rules: [{ kind: 'require-value', reg: 'TPIDR_EL0', mask: 0xffn, value: 1n }] }];
 * const e = await rewriteStream('samples/qemu-7.2/virt-7.2_max.mig', undefined, { dryRun: true, policies }).catch((x) => x);
 * console.log(e instanceof RefusalError, e.code, e.data.refused.length);
 * // prints: true REFUSED 1
 * ```
 */
export class RefusalError extends VmstateError {
  override readonly name = 'RefusalError';
  constructor(message: string, data: ErrorData = {}) {
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
  return new UsageError(`${what}: ${code ?? (e instanceof Error ? e.message : String(e))}`, code ? { errno: code } : {}, 'IO');
}
