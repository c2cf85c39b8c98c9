/**
 * The public API (src/index.ts): named exports only, few of them, each documented with an
 * example — and every example runs against the built package, printing what its
 * `// prints:` lines say. The README's library section names every export.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';

const ROOT = join(import.meta.dirname, '..');
const INDEX = join(ROOT, 'src', 'index.ts');
const DIST = pathToFileURL(join(ROOT, 'dist', 'index.js')).href;

interface ApiName {
  name: string;
  /** A value (function, class, constant) rather than a type. */
  value: boolean;
  docs: string;
  examples: string[];
}

/** The exports of src/index.ts with the TSDoc of their declarations. */
function apiNames(): ApiName[] {
  const program = ts.createProgram([INDEX], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, strict: true, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(INDEX)!;
  return checker.getExportsOfModule(checker.getSymbolAtLocation(sf)!).map((e) => {
    const target = e.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(e) : e;
    const tags = target.getJsDocTags(checker);
    return {
      name: e.name,
      value: (target.flags & ts.SymbolFlags.Value) !== 0,
      docs: ts.displayPartsToString(target.getDocumentationComment(checker)),
      examples: tags.filter((t) => t.name === 'example').map((t) => ts.displayPartsToString(t.text)),
    };
  });
}

/** The code of a TSDoc example (its ```ts block). */
function codeOf(example: string): string {
  const m = /```ts\n([\s\S]*?)```/.exec(example);
  if (!m) throw new Error(`example without a \`\`\`ts block: ${example}`);
  return m[1]!;
}

/** What the example says it prints: its `// prints:` lines, in order. */
function printsOf(code: string): string[] {
  return [...code.matchAll(/^\s*\/\/ prints: (.*)$/gm)].map((m) => m[1]!);
}

const api = apiNames();
/** The module's own example (the first comment of src/index.ts). */
const moduleExample = codeOf(/\/\*\*([\s\S]*?)\*\//.exec(readFileSync(INDEX, 'utf8'))![1]!.replace(/^ \* ?/gm, ''));
/** The README's library section and its examples. */
const LIBRARY = /^## Library\n([\s\S]*?)^## /m.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'))?.[1] ?? '';
const examples = [
  { id: 'module vmstate', code: moduleExample },
  ...api.flatMap((a) => a.examples.map((ex, k) => ({ id: `${a.name}${a.examples.length > 1 ? ` #${k + 1}` : ''}`, code: codeOf(ex) }))),
  ...[...LIBRARY.matchAll(/```ts\n[\s\S]*?```/g)].map((m, k) => ({ id: `README library example ${k + 1}`, code: codeOf(m[0]) })),
];
let outputs: Record<string, { lines: string[]; error: string | null }> = {};
let dir = '';

beforeAll(() => {
  // Each example becomes a module importing the built package; one process runs them all in
  // turn and collects what each prints.
  dir = mkdtempSync(join(tmpdir(), 'vmstate-api-'));
  const files = examples.map((ex, i) => {
    const js = ts.transpileModule(ex.code.replaceAll("from 'vmstate'", `from '${DIST}'`), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const file = join(dir, `example-${i}.mjs`);
    writeFileSync(file, js);
    return { id: ex.id, url: pathToFileURL(file).href };
  });
  const runner = join(dir, 'run.mjs');
  writeFileSync(
    runner,
    `import { inspect } from 'node:util';
const files = ${JSON.stringify(files)};
const out = {};
const log = console.log;
for (const f of files) {
  const lines = [];
  console.log = (...a) => lines.push(...a.map((x) => (typeof x === 'string' ? x : inspect(x))).join(' ').split('\\n'));
  let error = null;
  try { await import(f.url); } catch (e) { error = String(e?.stack ?? e); }
  out[f.id] = { lines, error };
}
console.log = log;
process.stdout.write(JSON.stringify(out));
`,
  );
  const r = spawnSync(process.execPath, [runner], { cwd: ROOT, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`the examples did not run: ${r.stderr}`);
  outputs = JSON.parse(r.stdout);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('src/index.ts', () => {
  it('has named exports only', () => {
    const sf = ts.createSourceFile(INDEX, readFileSync(INDEX, 'utf8'), ts.ScriptTarget.ES2022);
    for (const st of sf.statements) {
      if (ts.isExportDeclaration(st)) expect(st.exportClause && ts.isNamedExports(st.exportClause), st.getText(sf)).toBe(true);
      expect(ts.isExportAssignment(st), st.getText(sf)).toBe(false);
    }
  });

  it('exports at most 25 names (values and types)', () => {
    expect(api.length).toBeLessThanOrEqual(25);
    expect(api.filter((a) => a.value).map((a) => a.name).sort()).toEqual(
      ['DEFAULT_LIMITS', 'LimitError', 'ProfileError', 'RefusalError', 'StreamFormatError', 'TruncatedError', 'UnsupportedError', 'UsageError', 'VmstateError', 'checkStream', 'decodeCpregArrays', 'decodeStream', 'encodeCpregArrays', 'loadDestination', 'lookupRegs', 'policiesFrom', 'profileOf', 'regName', 'rewriteStream'],
    );
  });

  it.each(api.map((a) => [a.name, a] as const))('%s is documented', (_name, a) => {
    expect(a.docs.length).toBeGreaterThan(20);
    // Values come with an example that says what it prints.
    if (a.value) {
      expect(a.examples.length).toBeGreaterThan(0);
      for (const ex of a.examples) expect(printsOf(codeOf(ex)).length).toBeGreaterThan(0);
    }
  });
});

describe('every example runs and prints what it says', () => {
  it.each(examples.map((e) => [e.id, e] as const))('%s', (id, ex) => {
    const got = outputs[id]!;
    expect(got.error).toBeNull();
    expect(got.lines).toEqual(printsOf(ex.code));
  });
});

describe('README', () => {
  it('its library section names every export, and has an example', () => {
    for (const a of api) expect(LIBRARY, a.name).toContain(`\`${a.name}`);
    expect(examples.filter((e) => e.id.startsWith('README')).length).toBeGreaterThan(0);
  });
});
