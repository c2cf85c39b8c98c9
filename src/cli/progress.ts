/**
 * A progress line on standard error for long inputs: bytes read, rate and, when the size is
 * known, a bar, the percentage and the time left. Drawn only on a terminal, only after the
 * input has taken a moment (short runs never flash it), and erased when the input closes.
 */
import { basename } from 'node:path';
import type { InputObserver } from '../container/observer.js';

/** Where the line is drawn. */
export interface ProgressTarget {
  isTTY?: boolean;
  columns?: number;
  write(s: string): unknown;
}

/** 1536 → "1.5 KiB". */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${n.toFixed(n < 10 ? 1 : 0)} ${units[u]}`;
}

/** Seconds → "1:05" or "1:02:03". */
export function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  s = Math.round(s);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

/** The progress line (no escapes), fitted to `width` columns. */
export function progressLine(o: { label: string; position: number; total?: number; elapsed: number; width: number }): string {
  const rate = o.elapsed > 0 ? o.position / o.elapsed : 0;
  const known = o.total !== undefined && o.total > 0;
  const frac = known ? Math.min(1, o.position / o.total!) : 0;
  const amount = known ? `${bytes(o.position)} / ${bytes(o.total!)}` : bytes(o.position);
  const eta = known ? `  ETA ${rate > 0 ? duration((o.total! - o.position) / rate) : '--:--'}` : '';
  const tail = `${known ? `${String(Math.floor(frac * 100)).padStart(3)}% ` : ''}${amount}  ${bytes(Math.round(rate))}/s${eta}`;
  let label = o.label;
  const room = o.width - tail.length - 2;
  // The bar's width depends on the label and the terminal only, so it does not jitter as the numbers change.
  const TAIL_BUDGET = 54;
  const barWidth = known ? Math.min(30, o.width - TAIL_BUDGET - label.length - 5) : 0;
  if (known && barWidth >= 10) {
    const full = Math.round(frac * barWidth);
    return `${label} [${'#'.repeat(full)}${'-'.repeat(barWidth - full)}] ${tail}`.slice(0, o.width - 1);
  }
  if (label.length > room) label = room > 4 ? '…' + label.slice(label.length - room + 2) : '';
  return `${label ? label + '  ' : ''}${tail}`.slice(0, o.width - 1);
}

/** Options of {@link ProgressBar}. */
export interface ProgressOptions {
  /** Milliseconds before the line first appears. */
  delay?: number;
  /** Milliseconds between redraws. */
  interval?: number;
  now?: () => number;
}

/** One input's progress line. */
export class ProgressBar {
  private readonly start: number;
  private last = -Infinity;
  private drawn = false;
  private readonly delay: number;
  private readonly interval: number;
  private readonly now: () => number;

  constructor(
    private readonly target: ProgressTarget,
    private readonly label: string,
    private readonly total: number | undefined,
    o: ProgressOptions = {},
  ) {
    this.now = o.now ?? (() => performance.now());
    this.delay = o.delay ?? 500;
    this.interval = o.interval ?? 100;
    this.start = this.now();
  }

  /** Notes the position; redraws now and then. */
  update(position: number): void {
    const t = this.now();
    if (t - this.start < this.delay || t - this.last < this.interval) return;
    this.last = t;
    const width = Math.max(20, this.target.columns || 80);
    this.target.write(`\r${progressLine({ label: this.label, position, total: this.total, elapsed: (t - this.start) / 1000, width })}\x1b[K`);
    this.drawn = true;
  }

  /** Erases the line if it was drawn. */
  finish(): void {
    if (this.drawn) this.target.write('\r\x1b[K');
    this.drawn = false;
  }
}

/**
 * An observer that draws a progress line for each input opened, when `enabled()` says so
 * at that moment (standard error a terminal, no `--quiet`), and writes what is noted about how
 * an input was read to `notes` (when enabled, terminal or not).
 */
export function progressObserver(target: ProgressTarget, enabled: () => boolean, o: ProgressOptions = {}, notes?: (message: string) => void): InputObserver {
  return {
    noted(message) {
      if (enabled()) notes?.(message);
    },
    opened(path, total) {
      if (!enabled() || !target.isTTY) return null;
      const bar = new ProgressBar(target, path === '-' ? 'stdin' : basename(path), total, o);
      return { advance: (p) => bar.update(p), closed: () => bar.finish() };
    },
  };
}
