/** The import graph of src/ follows the layer order of scripts/check-layers.mjs. */
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
// @ts-expect-error plain JavaScript module without types
import { checkLayers, importsOf, LAYERS } from '../../scripts/check-layers.mjs';

describe('layers', () => {
  it('src/ has no upward import and no folder loop', () => {
    expect(checkLayers()).toEqual([]);
  });

  it('every folder of src/ is in a layer, in the documented order', () => {
    expect((LAYERS as string[][]).flat()).toEqual(['errors.ts', 'version.ts', 'wire', 'container', 'regs', 'cpu', 'stream', 'policy', 'match', 'destination', 'check', 'rewrite', 'report', 'cli', 'index.ts']);
  });

  it('reads static, type-only, re-export and dynamic imports, not commented ones', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../b/b.js';",
      "export { c } from './c.js';",
      "export * from './d.js';",
      "const e = await import('../e/e.js');",
      "let f: typeof import('../f/f.js');",
      "// import { g } from '../g/g.js';",
      "/* import { h } from '../h/h.js'; */",
      "import 'node:fs';",
      "import x from 'yargs';",
    ].join('\n');
    expect(importsOf(text)).toEqual(['./a.js', '../b/b.js', './c.js', './d.js', '../e/e.js', '../f/f.js']);
  });

  describe('on a tree that breaks the rules', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vmstate-layers-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const put = (p: string, text: string) => {
      mkdirSync(dirname(join(dir, p)), { recursive: true });
      writeFileSync(join(dir, p), text);
    };
    put('low/a.ts', "import { b } from '../high/b.js';\n");
    put('high/b.ts', "export const b = 1;\n");
    put('p/x.ts', "import type { Y } from '../q/y.js';\n");
    put('q/y.ts', "import { x } from '../p/x.js';\nexport type Y = number;\n");
    put('stray/z.ts', 'export {};\n');
    const problems: string[] = checkLayers(dir, [['low'], ['p', 'q'], ['high']]);

    it('names each upward import', () => {
      expect(problems.filter((p) => p.includes('is above'))).toEqual([expect.stringMatching(/low\/a\.ts: imports \.\.\/high\/b\.js — 'high' is above 'low'$/)]);
    });
    it('names each folder loop, type-only imports included', () => {
      expect(problems.filter((p) => p.startsWith('folder loop'))).toEqual(['folder loop: p → q → p']);
    });
    it('names a folder in no layer', () => {
      expect(problems.filter((p) => p.includes('in no layer'))).toHaveLength(1);
    });
  });
});
