/**
 * The named temporary files this process has made and not yet renamed or removed, for the signal
 * handlers that must remove them (kept apart from `atomic-file.ts` so that a program can set its
 * handlers up at start without loading the output code).
 * @module
 */
import { unlinkSync } from 'node:fs';

/** Named temporaries not yet renamed or removed (what a signal handler must remove). */
const pending = new Set<string>();
let pendingWatcher: ((any: boolean) => void) | null = null;

/** Notes a named temporary that now exists. */
export function addPending(p: string): void {
  pending.add(p);
  if (pending.size === 1) pendingWatcher?.(true);
}

/** Notes that a named temporary was renamed or removed. */
export function deletePending(p: string): void {
  if (pending.delete(p) && pending.size === 0) pendingWatcher?.(false);
}

/**
 * Removes every named temporary file this process has not committed yet; synchronous, for
 * signal handlers (`O_TMPFILE` files need nothing: the kernel frees them with the process).
 */
export function removePendingTemps(): void {
  for (const p of [...pending]) {
    try {
      unlinkSync(p);
    } catch {
      // Already gone.
    }
    deletePending(p);
  }
}

/**
 * Calls `fn(true)` when a named temporary comes to exist with none before, `fn(false)` when the
 * last is gone: a program may then hold signals only while there is something to remove
 * (one watcher; null stops watching).
 */
export function watchPendingTemps(fn: ((any: boolean) => void) | null): void {
  pendingWatcher = fn;
}
