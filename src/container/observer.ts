/**
 * Who is told about the inputs being opened (the CLI's progress display). Kept apart from the
 * container code so that the CLI can set it up without loading the decoder.
 * @module
 */

/** Told about every input opened through `openInput` while it is active. */
export interface InputObserver {
  /**
   * An input was opened; `total` is its size in bytes when known. Returns the per-input hooks,
   * or null when this input is of no interest (its reads are then not counted at all).
   */
  opened(path: string, total: number | undefined): { advance(position: number): void; closed(): void } | null;
  /** A remark on how an input was read (its whole stream read where its tail was expected to do). */
  noted?(message: string): void;
}

/**
 * The observer in effect. A plain variable rather than AsyncLocalStorage: that would turn on
 * promise hooks, a cost on every await of the RAM walk, for what is only a progress display.
 */
let current: InputObserver | undefined;

/** The observer in effect, if any. */
export function currentInputObserver(): InputObserver | undefined {
  return current;
}

/**
 * Runs `fn` with `observer` told about the inputs it opens (progress display). Calls may nest;
 * inputs opened by concurrent calls are told to whichever observer was set last.
 */
export async function withInputObserver<T>(observer: InputObserver, fn: () => Promise<T>): Promise<T> {
  const outer = current;
  current = observer;
  try {
    return await fn();
  } finally {
    current = outer;
  }
}
