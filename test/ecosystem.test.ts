/**
 * The package as a user gets it: `npm pack`, then `npm install <tarball>` into an empty
 * project; the `vmstate` binary runs, the library imports (with types), the schemas resolve.
 * Uses the npm cache first (`--prefer-offline`): the dependencies are those `npm ci` fetched.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLES_DIR } from './helpers/samples.js';

const ROOT = join(import.meta.dirname, '..');
const SAMPLE = join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_max.mig');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const work = mkdtempSync(join(tmpdir(), 'vmstate-pack-'));
const app = join(work, 'app');
let files: string[] = [];

function run(cmd: string, args: string[], cwd: string) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1', npm_config_update_notifier: 'false' }, maxBuffer: 1 << 26 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(() => {
  // The build (npm test runs tsc first) is what gets packed; prepack would rebuild it under
  // the other test files' feet, hence --ignore-scripts.
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'postbuild.mjs')]);
  const packed = JSON.parse(execFileSync(NPM, ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: ROOT, encoding: 'utf8' }));
  files = packed[0].files.map((f: { path: string }) => f.path);
  const tarball = join(work, packed[0].filename);
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const r = run(NPM, ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], app);
  if (r.code !== 0) throw new Error(`npm install failed (${r.code}):\n${r.stderr}`);
}, 180_000);

describe('the packed package', () => {
  it('ships the build, the schemas and the README, nothing else', () => {
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('dist/cli/check-worker.js');
    expect(files).toContain('dist/container/libvirt.js');
    for (const s of ['inspect', 'regs', 'lookup', 'diff', 'profile', 'check', 'rewrite', 'dump', 'policy']) expect(files).toContain(`schemas/${s}.schema.json`);
    expect(files).toContain('README.md');
    expect(files).toContain('package.json');
    expect(files.filter((f) => !/^(dist\/|schemas\/|README\.md$|package\.json$|LICENSE)/.test(f))).toEqual([]);
    expect(files.some((f) => f.endsWith('.map'))).toBe(false);
  });

  it('declares bin, exports with types, and engines', () => {
    expect(pkg.bin).toEqual({ vmstate: 'dist/cli/main.js' });
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', import: './dist/index.js' });
    expect(pkg.engines.node).toMatch(/^>=20/);
  });

  it('the CLI entry keeps its shebang and is executable after the build', () => {
    const main = join(ROOT, 'dist', 'cli', 'main.js');
    expect(readFileSync(main, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(main).mode & 0o111).toBe(0o111);
  });

  it('npx vmstate --version, and a command on a real stream', () => {
    const v = run('npx', ['--no-install', 'vmstate', '--version'], app);
    expect(v.code, v.stderr).toBe(0);
    expect(v.stdout.trim()).toBe(pkg.version);
    const r = run(join(app, 'node_modules', '.bin', 'vmstate'), ['regs', SAMPLE, '--cpu', '1', '--json'], app);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).cpus[0].count).toBe(304);
  });

  it("import { decodeStream, regName } from 'vmstate'", () => {
    writeFileSync(
      join(app, 'use.mjs'),
      `import { decodeStream, regName } from 'vmstate';
const s = await decodeStream(process.argv[2]);
const cpu = s.cpus[0];
console.log(JSON.stringify({ machine: s.configuration.machine, count: cpu.count, first: regName(cpu.ids[0]), tcr: cpu.ids.map((id) => regName(id)).includes('TCR_EL1') }));
`,
    );
    const r = run(process.execPath, ['use.mjs', SAMPLE], app);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ machine: 'virt-7.2', count: 304, first: expect.any(String), tcr: true });
  });

  it('its types resolve through exports (TypeScript, NodeNext)', () => {
    writeFileSync(
      join(app, 'use.ts'),
      `import { decodeStream, regName, type DecodedStream } from 'vmstate';
const s: DecodedStream = await decodeStream('guest.mig');
const name: string | null = regName(s.cpus[0]!.ids[0]!);
// @ts-expect-error a path is a string
await decodeStream(42);
export { name };
`,
    );
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = run(process.execPath, [tsc, '--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--skipLibCheck', '--typeRoots', join(ROOT, 'node_modules', '@types'), '--types', 'node', 'use.ts'], app);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('the schemas resolve from the package', () => {
    writeFileSync(
      join(app, 'schema.mjs'),
      `import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
const p = createRequire(import.meta.url).resolve('vmstate/schemas/check.schema.json');
console.log(JSON.parse(readFileSync(p, 'utf8')).$id);
`,
    );
    const r = run(process.execPath, ['schema.mjs'], app);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('urn:vmstate:schema:check:2');
  });
});
