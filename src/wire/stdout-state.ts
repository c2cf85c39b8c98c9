/**
 * Whether standard output was closed when the process started: a fact the CLI checks at start
 * and the output code again before writing a stream there (kept small: loaded at start-up).
 * @module
 */
import { fstatSync, readFileSync } from 'node:fs';

/** `/dev/null`'s device number (1, 3). */
const DEV_NULL_RDEV = (1n << 8n) | 3n;

/**
 * True when standard output was closed when the process started (`>&-`): Node then opens
 * `/dev/null` read-write and close-on-exec in its place, which no shell redirection does.
 */
export function stdoutWasClosed(): boolean {
  try {
    const st = fstatSync(1, { bigint: true });
    if (!st.isCharacterDevice() || st.rdev !== DEV_NULL_RDEV) return false;
    const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync('/proc/self/fdinfo/1', 'utf8'));
    if (!flags) return false;
    const f = parseInt(flags[1]!, 8);
    return (f & 3) === 2 && (f & 0o2000000) !== 0;
  } catch {
    return false;
  }
}
