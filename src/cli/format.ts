/** Rendering helpers shared by the commands: hex, JSON with bigints, aligned tables. */

import { hex64 } from '../regs/format.js';

export { hex64 };

/** JSON.stringify that renders bigints as {@link hex64}. */
export function toJson(value: unknown, indent = 2): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? hex64(v) : v), indent);
}

/** Left/right aligned text table; numbers are right-aligned. */
export function table(head: string[], rows: (string | number)[][]): string {
  const cells = [head, ...rows.map((r) => r.map(String))];
  const right = head.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const width = head.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells
    .map((r) => r.map((c, i) => (right[i] ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join('  ').trimEnd())
    .join('\n');
}

/** 1234567 → "1,234,567". */
export function num(n: number): string {
  return n.toLocaleString('en-US');
}
