/**
 * What the CLI does on SIGINT, SIGTERM and SIGHUP: remove any temporary file it has not
 * committed yet and exit with 128 + the signal number (130, 143, 129), as a shell reports a
 * process killed by it. Outputs written unnamed (`O_TMPFILE`) need no removal: the kernel frees
 * them with the process, after SIGKILL too.
 */
import { removePendingTemps } from '../wire/atomic-file.js';

/** Exit status per handled signal. */
export const SIGNAL_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM' | 'SIGHUP', number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/** Installs the handlers (once per process). */
export function installSignalHandlers(): void {
  for (const [sig, code] of Object.entries(SIGNAL_EXIT)) {
    process.once(sig as NodeJS.Signals, () => {
      removePendingTemps();
      process.exit(code);
    });
  }
}
