/** Hand edits of real streams for tests, made with the library's own rewriter. */
import { join } from 'node:path';
import { expect } from 'vitest';
import { rewriteFile } from '../../src/rewrite/rewrite-file.js';
import { VmstateError } from '../../src/errors.js';

/** Writes `dir/name`: `src` with `extra` (id, value) pairs inserted in sorted position on every vCPU. */
export async function withExtra(src: string, dir: string, name: string, extra: [bigint, bigint][]): Promise<string> {
  const out = join(dir, name);
  await rewriteFile(src, out, {
    editCpu: (c) => {
      const pairs = c.ids.map((id, i) => [id, c.values[i]!] as [bigint, bigint]).concat(extra);
      pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      return { ids: pairs.map((p) => p[0]), values: pairs.map((p) => p[1]) };
    },
  });
  return out;
}

/** Expects `fn` to throw a VmstateError subclass; returns it. */
export function thrown(fn: () => unknown): VmstateError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(VmstateError);
    return e as VmstateError;
  }
  throw new Error('expected an error');
}
