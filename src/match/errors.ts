/**
 * Typed errors of the matcher's inputs.
 * @module
 */
import { VmstateError } from '../wire/errors.js';

/** A plain register list (destination) has a line that is not a register id. */
export class DestinationParseError extends VmstateError {
  override readonly name = 'DestinationParseError';
  constructor(
    readonly source: string,
    /** 1-based line number. */
    readonly line: number,
    message: string,
  ) {
    super('USAGE', `${source}: line ${line}: ${message}`, undefined, { source, line });
  }
}

/** A destination model that cannot be used (duplicate ids, arrays of different lengths, …). */
export class DestinationError extends VmstateError {
  override readonly name = 'DestinationError';
  constructor(message: string, data: { [k: string]: unknown } = {}) {
    super('USAGE', message, undefined, data);
  }
}

/** An incoming vCPU whose arrays cannot be paired (ids and values of different lengths). */
export class IncomingError extends VmstateError {
  override readonly name = 'IncomingError';
  constructor(message: string, data: { [k: string]: unknown } = {}) {
    super('USAGE', message, undefined, data);
  }
}

/** An unknown loader name. */
export class UnknownLoaderError extends VmstateError {
  override readonly name = 'UnknownLoaderError';
  constructor(
    readonly loader: string,
    known: readonly string[],
  ) {
    super('USAGE', `unknown loader '${loader}' (known: ${known.join(', ')})`, undefined, { loader });
  }
}
