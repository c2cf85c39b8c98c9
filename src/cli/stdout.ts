/**
 * Standard output as the CLI promises it: a reader that went away (EPIPE) ends the process like
 * SIGPIPE would (141); any other write error, or output to a standard output that was closed
 * (`>&-`), is reported as an error and exits 2 — never a stack trace, never a silent success.
 */
import { stdoutWasClosed } from '../wire/stdout-state.js';

/** What {@link guardStdout} found. */
export interface StdoutGuard {
  /** After the last write: null when everything written reached standard output, else why not. */
  settled(): Promise<string | null>;
}

/** Watches standard output from now on. */
export function guardStdout(): StdoutGuard {
  let failure: string | null = null;
  const out = process.stdout;
  const failed = (e: NodeJS.ErrnoException): void => {
    if (e.code === 'EPIPE') process.exit(141);
    failure ??= `cannot write to standard output: ${e.code ?? e.message}`;
  };
  out.on('error', failed);
  if (stdoutWasClosed()) {
    // Node put /dev/null in its place: refuse the first byte instead of losing it.
    const write = out.write;
    out.write = function (this: typeof out, ...args: unknown[]): boolean {
      const chunk = args[0] as string | Uint8Array;
      if (chunk.length) failure ??= 'cannot write to standard output: it is closed';
      return write.apply(this, args as Parameters<typeof write>);
    } as typeof out.write;
  }
  return {
    settled: () =>
      new Promise((resolve) => {
        // Let an error event still in flight land first.
        const done = () => setImmediate(() => resolve(failure));
        if (out.destroyed || out.writableEnded) return done();
        // An empty write completes after every write before it, with their error if any.
        out.write('', (e) => {
          if (e && (e as NodeJS.ErrnoException).code !== 'ERR_STREAM_DESTROYED') failed(e as NodeJS.ErrnoException);
          done();
        });
      }),
  };
}
