/** The loader name table is the one source of the `--loader` choices, the docs table and the check schema's values. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENERATION_VERSIONS, LOADER_CHOICES, LOADER_FAMILIES, LOADERS, generationOfLoader, lookupLoader, resolveLoader } from '../../src/match/index.js';
// @ts-expect-error plain JavaScript module without types
import { DOC, SCHEMA, loaderTable, withLoaderEnum, withTable } from '../../scripts/gen-loaders.mjs';

describe('loader names', () => {
  it('the command line offers each family first, then the aliases', () => {
    expect(LOADER_CHOICES).toEqual(['legacy', 'series-v6', 'qemu-11.1', 'qemu-7.2', 'qemu-10.0', 'qemu-10.2']);
  });

  it('each name resolves to its family and names its generation', () => {
    for (const f of LOADER_FAMILIES) {
      for (const n of f.names) {
        expect(resolveLoader(n.name)).toBe(LOADERS[f.loader]);
        expect(resolveLoader(n.name.toUpperCase())).toBe(LOADERS[f.loader]);
        expect(generationOfLoader(n.name)).toBe(n.generation);
        expect(lookupLoader(` ${n.name} `).loader).toBe(f.loader);
      }
    }
    // A family's own generation is its spec's.
    for (const f of LOADER_FAMILIES) expect(f.names[0]!.generation).toBe(LOADERS[f.loader].generation);
  });

  it('docs/loaders.md has the generated table (npm run schemas), and a row per family in its semantics table', () => {
    const doc = readFileSync(DOC, 'utf8');
    expect(doc).toBe(withTable(doc, loaderTable(LOADER_FAMILIES, GENERATION_VERSIONS)));
    const table = doc.slice(doc.indexOf('| Loader | Count check')).split('\n\n')[0]!;
    const rows = [...table.matchAll(/^\| `([a-z0-9.-]+)` \|/gm)].map((m) => m[1]);
    expect(rows).toEqual(LOADER_FAMILIES.map((f) => f.loader));
  });

  it('schemas/check.schema.json lists the families as the loader values (npm run schemas)', () => {
    const text = readFileSync(SCHEMA, 'utf8');
    expect(text).toBe(withLoaderEnum(text, LOADER_FAMILIES));
  });
});
