/**
 * SIGINT, SIGTERM and SIGHUP end the CLI as they end any program: by the signal, which a shell
 * reports as 128 + its number (130, 143, 129) and which tells a calling script that the command
 * was interrupted. Outputs under construction have no name (`O_TMPFILE`), so there is nothing to
 * clean up and no handler is needed: the process dies at once, even in a blocking read of a
 * stalled pipe. Only while a named temporary exists (file systems without `O_TMPFILE`) are the
 * signals caught, to remove it first and then die by the same signal.
 */
import { removePendingTemps, watchPendingTemps } from '../wire/pending-temps.js';

/** The signals handled, and the status a shell reports for a process they end. */
export const SIGNAL_EXIT: Readonly<Record<'SIGINT' | 'SIGTERM' | 'SIGHUP', number>> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

function onSignal(sig: NodeJS.Signals): void {
  removePendingTemps();
  hold(false);
  // Die by the signal itself (default action restored above), as the caller expects.
  process.kill(process.pid, sig);
}

function hold(on: boolean): void {
  for (const sig of Object.keys(SIGNAL_EXIT) as NodeJS.Signals[]) {
    process.off(sig, onSignal);
    if (on) process.on(sig, onSignal);
  }
}

/** Catches the signals exactly while a named temporary file exists. */
export function installSignalHandlers(): void {
  watchPendingTemps(hold);
}
