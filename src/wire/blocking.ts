/**
 * Whether byte sources may read pipes with blocking reads: set once by a program (the CLI, at
 * start-up, before it loads any reading code), read by `source.ts`.
 * @module
 */

/**
 * Whether pipes, FIFOs and devices may be read with blocking reads on the calling thread: about
 * twice as fast, but a writer that stalls then stalls the whole event loop. Off by default, as a
 * library must not freeze its host program; the CLI, whose only work is the read, turns it on.
 */
let blockingReads = false;

/** Lets pipes, FIFOs and devices opened from now on be read with blocking reads (see above). */
export function allowBlockingReads(on = true): void {
  blockingReads = on;
}

/** Whether {@link allowBlockingReads} allowed them. */
export function blockingReadsAllowed(): boolean {
  return blockingReads;
}
