/** Rendering helpers shared by the commands: hex, JSON with bigints, aligned tables, colour. */

import { hex64 } from '../regs/format.js';

export { hex64 };

/** JSON.stringify that renders bigints as {@link hex64}. */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? hex64(v) : v), indent);
}

const ANSI = /\x1b\[[0-9;]*m/g;

/** Removes colour escapes. */
export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

/** Printed width of a cell (colour escapes take no room). */
function visible(s: string): number {
  return s.includes('\x1b') ? stripAnsi(s).length : s.length;
}

/** Left/right aligned text table; numbers are right-aligned. Cells may be coloured. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const right = head.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const width = head.map((_, i) => Math.max(...cells.map((r) => visible(r[i] ?? ''))));
  const pad = (c: string, i: number) => {
    const fill = ' '.repeat(Math.max(0, width[i]! - visible(c)));
    return right[i] ? fill + c : c + fill;
  };
  return cells.map((r) => r.map(pad).join('  ').trimEnd()).join('\n');
}

/** 1234567 → "1,234,567". */
export function num(n: number): string {
  // Integers by hand: the first toLocaleString call sets up ICU's number formatting (~10 ms).
  if (Number.isSafeInteger(n)) return String(n).replace(/\B(?=(\d{3})+$)/g, ',');
  return n.toLocaleString('en-US');
}

/** Colours for text output; every method is the identity when colour is off. */
export interface Style {
  readonly enabled: boolean;
  /** Good news: ACCEPT. */
  ok(s: string): string;
  /** Bad news: REJECT, fatal findings, refusals, errors. */
  bad(s: string): string;
  /** Cautions: warnings, changed values. */
  warn(s: string): string;
  /** Less important detail. */
  dim(s: string): string;
  bold(s: string): string;
}

const sgr = (on: number, off: number) => (s: string) => (s ? `\x1b[${on}m${s}\x1b[${off}m` : s);
const id = (s: string) => s;

/** No colour. */
export const PLAIN: Style = { enabled: false, ok: id, bad: id, warn: id, dim: id, bold: id };
/** ANSI colours (green, red, yellow, dim, bold). */
export const COLOR: Style = { enabled: true, ok: sgr(32, 39), bad: sgr(31, 39), warn: sgr(33, 39), dim: sgr(2, 22), bold: sgr(1, 22) };

/** What decides whether to colour an output. */
export interface ColorContext {
  /** Whether the output is a terminal. */
  isTTY: boolean | undefined;
  /** The environment (`NO_COLOR`, `TERM`). */
  env: Record<string, string | undefined>;
  /** `--color` (true) / `--no-color` (false); undefined when not given. */
  flag?: boolean;
}

/**
 * Colour only on a terminal, never with `NO_COLOR` set (to anything but the empty string,
 * per no-color.org), `--no-color`, or `TERM=dumb`.
 */
export function useColor(c: ColorContext): boolean {
  if (c.flag === false) return false;
  if (c.env.NO_COLOR !== undefined && c.env.NO_COLOR !== '') return false;
  if (c.env.TERM === 'dumb') return false;
  return c.isTTY === true;
}

/** The style for a context. */
export function styleFor(c: ColorContext): Style {
  return useColor(c) ? COLOR : PLAIN;
}

/** Options of the text renderers. */
export interface RenderOptions {
  /** Colours (default none). */
  style?: Style;
  /** Leave out non-essential lines: warnings and notes. */
  quiet?: boolean;
}
