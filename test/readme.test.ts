/**
 * The README's examples are run and their output compared with what the README shows, so that
 * a README that drifts from the tool fails. The example format (`$ ` commands, `...`, `# exit N`,
 * ts/mjs code with its `text` output) is described in test/helpers/readme-examples.ts.
 *
 * Examples run in order in one scratch directory holding `samples` (a link to the real ones);
 * `vmstate` on the PATH is the built CLI, and `import 'vmstate'` is this package.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { CLI } from './helpers/cli.js';
import { SAMPLES_DIR } from './helpers/samples.js';
import { matchLines, readmeExamples } from './helpers/readme-examples.js';
import { requireQemu } from './helpers/qemu.js';

const ROOT = join(import.meta.dirname, '..');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const examples = readmeExamples(README);

const dir = mkdtempSync(join(tmpdir(), 'vmstate-readme-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
symlinkSync(SAMPLES_DIR, join(dir, 'samples'));
mkdirSync(join(dir, 'bin'));
writeFileSync(join(dir, 'bin', 'vmstate'), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
chmodSync(join(dir, 'bin', 'vmstate'), 0o755);
mkdirSync(join(dir, 'node_modules'));
symlinkSync(ROOT, join(dir, 'node_modules', 'vmstate'));
writeFileSync(join(dir, 'package.json'), '{ "type": "module", "private": true }\n');

const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${join(dir, 'bin')}:${process.env.PATH}`, HOME: dir, NO_COLOR: '1', LC_ALL: 'C.UTF-8' };
delete env.FORCE_COLOR;

/** Runs `file args` in the scratch directory; standard output and error into one file, in order. */
function run(file: string, args: string[]): { code: number | null; output: string } {
  const path = join(dir, '.output');
  const fd = openSync(path, 'w');
  try {
    const r = spawnSync(file, args, { cwd: dir, env, stdio: ['ignore', fd, fd], timeout: 120_000 });
    return { code: r.status, output: readFileSync(path, 'utf8') };
  } finally {
    closeSync(fd);
  }
}

/** A readable account of a mismatch: the README's lines next to the real ones. */
function mismatch(where: string, expected: string[], output: string, at: number): string {
  return `${where}: README line ${at} of the expected output does not match.\n--- README\n${expected.join('\n')}\n--- real output\n${output}`;
}

describe('README layout', () => {
  it('its first two code blocks are the two set-up commands', () => {
    expect(examples.blocks.slice(0, 2).map((b) => b.body.join('\n'))).toEqual(['npm ci && npm run demo', 'npm test']);
  });

  it('has examples of every kind', () => {
    expect(examples.shell.length).toBeGreaterThan(10);
    expect(examples.code.map((c) => c.lang).sort()).toEqual(['mjs', 'ts']);
    expect(examples.shown.length).toBeGreaterThan(0);
  });
});

describe('README example format', () => {
  it('`...` stands for one or more whole lines, never none', () => {
    expect(matchLines(['a', '...', 'd'], ['a', 'b', 'c', 'd'])).toBeNull();
    expect(matchLines(['a', '  ...', 'd'], ['a', 'b', 'd'])).toBeNull();
    expect(matchLines(['a', '...', 'd'], ['a', 'd'])).not.toBeNull();
    expect(matchLines(['...'], [])).not.toBeNull();
    expect(matchLines(['a', '...'], ['a', 'x', 'y'])).toBeNull();
  });

  it('any other line must be equal (trailing spaces aside); nothing may be missing or extra', () => {
    expect(matchLines(['a', 'b'], ['a', 'b  '])).toBeNull();
    expect(matchLines(['a', 'b'], ['a', 'c'])).toBe(2);
    expect(matchLines(['a'], ['a', 'b'])).not.toBeNull();
    expect(matchLines(['a', 'b'], ['a'])).not.toBeNull();
    expect(matchLines(['a', '...', 'b'], ['a', 'x', 'b', 'y'])).not.toBeNull();
    expect(matchLines(['  a'], ['a'])).not.toBeNull();
  });

  it('commands continue over `\\` lines and name their exit code; code needs its output block', () => {
    const md = ['```', '$ vmstate a \\', '    --b   # exit 1', 'out', '', '$ vmstate c', '```', '', '```ts', 'x', '```', '', '```mjs', 'y', '```', '```text', 'z', '```'].join('\n');
    const e = readmeExamples(md);
    expect(e.shell).toEqual([
      { line: 2, command: 'vmstate a --b   # exit 1', exitCode: 1, expected: ['out'] },
      { line: 6, command: 'vmstate c', exitCode: 0, expected: [] },
    ]);
    expect(e.code.map((c) => [c.lang, c.expected])).toEqual([['ts', ['z']], ['mjs', ['z']]]);
    expect(() => readmeExamples('```ts\nx\n```\n')).toThrow(/needs a ```text block/);
    expect(() => readmeExamples('```ts\nx\n```\n```\n$ y\n```\n')).toThrow(/needs a ```text block/);
  });
});

describe('README shell examples, run in order', () => {
  for (const e of examples.shell) {
    it(`line ${e.line}: $ ${e.command}`, () => {
      // Loading into real QEMU: say what is missing rather than show its absence as a mismatch.
      if (e.command.includes('qmp-save.py')) requireQemu();
      const r = run('bash', ['-o', 'pipefail', '-c', e.command]);
      const at = matchLines(e.expected, r.output.split('\n'));
      if (at !== null) expect.fail(mismatch(`$ ${e.command}`, e.expected, r.output, at));
      expect(r.code, r.output).toBe(e.exitCode);
    });
  }
});

describe('README commands shown without output', () => {
  // They name files only the reader has: the command line must be accepted all the same.
  for (const c of examples.shown) {
    it(`line ${c.line}: ${c.command}`, () => {
      const r = run('bash', ['-c', c.command]);
      expect(r.output).not.toMatch(/^usage: vmstate/m);
      expect(r.output).not.toMatch(/internal error|\n\s+at /);
      if (r.code !== 0) expect(r.output).toMatch(/^vmstate: cannot open \S+: ENOENT$/m);
    });
  }
});

describe('README library examples', () => {
  const code = examples.code;
  const file = (k: number) => join(dir, `example-${code[k]!.line}.${code[k]!.lang === 'ts' ? 'ts' : 'mjs'}`);
  code.forEach((_c, k) => writeFileSync(file(k), code[k]!.code));

  it('the TypeScript ones type-check against the package as published (dist/index.d.ts)', () => {
    const roots = code.map((_c, k) => file(k)).filter((f) => f.endsWith('.ts'));
    const program = ts.createProgram(roots, {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
    });
    const diags = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    expect(diags).toEqual([]);
  });

  code.forEach((c, k) => {
    it(`line ${c.line}: the ${c.lang} example prints what the README shows`, () => {
      let runnable = file(k);
      if (c.lang === 'ts') {
        runnable = file(k).replace(/\.ts$/, '.ts.mjs');
        writeFileSync(runnable, ts.transpileModule(c.code, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText);
      }
      const r = run(process.execPath, [runnable]);
      expect(r.code, r.output).toBe(0);
      const at = matchLines(c.expected, r.output.split('\n'));
      if (at !== null) expect.fail(mismatch(`${c.lang} example`, c.expected, r.output, at));
    });
  });
});
