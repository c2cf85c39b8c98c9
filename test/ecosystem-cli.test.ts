/** Command-line conventions: help with examples, --version, completion, --json and - everywhere, --quiet. */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CLI, vmstate } from './helpers/cli.js';
import { SAMPLES_DIR } from './helpers/samples.js';
import { VERSION } from '../src/version.js';

const S72 = join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_cortex-a57.mig');
const S100 = join(SAMPLES_DIR, 'qemu-10.0', 'virt-7.2_cortex-a57.mig');
const COMMANDS = ['inspect', 'regs', 'dump', 'diff', 'profile', 'check', 'rewrite'];
const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'vmstate-conv-'));

describe('help, version, completion', () => {
  it('--version is the package version', () => {
    const r = vmstate(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
    expect(VERSION).toBe(pkg.version);
  });

  it('top-level help lists every command, the global options and examples', () => {
    const r = vmstate(['--help']);
    expect(r.code).toBe(0);
    for (const c of [...COMMANDS, 'completion']) expect(r.stdout).toMatch(new RegExp(`vmstate ${c}\\b`));
    expect(r.stdout).toMatch(/--quiet/);
    expect(r.stdout).toMatch(/--color/);
    expect(r.stdout).toMatch(/Examples:\n(.*\n)*\s+vmstate completion >> ~\/\.bashrc/);
  });

  for (const c of COMMANDS) {
    it(`${c} --help shows real examples and --json`, () => {
      const r = vmstate([c, '--help']);
      expect(r.code).toBe(0);
      const examples = r.stdout.split('Examples:\n')[1] ?? '';
      const lines = examples.split('\n').filter((l) => /^\s+\S*vmstate /.test(l) || /^\s+cat .*\| vmstate/.test(l) || /^\s+ssh .*\| vmstate/.test(l));
      expect(lines.length, `${c} examples:\n${examples}`).toBeGreaterThanOrEqual(2);
      expect(r.stdout).toMatch(/--json/);
      expect(r.stdout).toMatch(/--quiet/);
    });
  }

  it('completion prints a bash script, or a zsh one under zsh; completions come from the command tree', () => {
    const bash = vmstate(['completion']);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('###-begin-vmstate-completions-###');
    expect(bash.stdout).toContain('complete -o bashdefault -o default -F _vmstate_yargs_completions vmstate');
    const zsh = spawnSync(process.execPath, [CLI, 'completion'], { env: { ...process.env, SHELL: '/usr/bin/zsh' } });
    expect(zsh.stdout.toString()).toMatch(/^#compdef vmstate/);
    const words = vmstate(['--get-yargs-completions', 'vmstate', 'ch']).stdout.split('\n');
    expect(words).toContain('check');
    const opts = vmstate(['--get-yargs-completions', 'vmstate', 'check', 'x.mig', '--loader', '']).stdout.split('\n');
    expect(opts).toContain('qemu-11.1');
  });

  it('usage errors exit 2', () => {
    expect(vmstate([]).code).toBe(2);
    expect(vmstate(['check', S72]).code).toBe(2);
    expect(vmstate(['inspect', S72, '--no-such-option']).code).toBe(2);
  });
});

describe('--json and - on every command', () => {
  const data = readFileSync(S72);
  const runs: [string, string[], boolean][] = [
    ['inspect', ['inspect', '-', '--json'], true],
    ['regs', ['regs', '-', '--json'], true],
    ['dump', ['dump', '-', '--json'], true],
    ['diff', ['diff', '-', S100, '--json'], true],
    ['profile', ['profile', '-', '--json'], true],
    ['check', ['check', '-', '--dest', S72, '--json'], true],
    ['rewrite', ['rewrite', '-', '--dry-run', '--strip', 'TPIDR_EL0', '--json'], true],
  ];
  for (const [c, args] of runs) {
    it(c, () => {
      const r = vmstate(args, data);
      expect(r.code, r.stderr).toBe(0);
      expect(() => JSON.parse(r.stdout)).not.toThrow();
    });
  }

  it('rewrite - -o -: the stream on stdout, the JSON report on stderr', () => {
    const r = vmstate(['rewrite', '-', '-o', '-', '--json'], data);
    expect(r.code, r.stderr).toBe(0);
    expect(r.out.equals(data)).toBe(true);
    expect(JSON.parse(r.stderr).schema).toBe('vmstate/rewrite/1');
  });
});

describe('--quiet', () => {
  it('rewrite: no summary (the exit code tells), but --json still reports', () => {
    const out = join(dir, 'q.mig');
    const loud = vmstate(['rewrite', S72, '-o', out, '--strip', 'TPIDR_EL0']);
    expect(loud.stdout).toMatch(/did remove TPIDR_EL0/);
    const q = vmstate(['rewrite', S72, '-o', out, '--strip', 'TPIDR_EL0', '--quiet']);
    expect(q.code, q.stderr).toBe(0);
    expect(q.stdout).toBe('');
    expect(q.stderr).toBe('');
    const qj = vmstate(['rewrite', S72, '-o', out, '--strip', 'TPIDR_EL0', '-q', '--json']);
    expect(JSON.parse(qj.stdout).written).toBe(true);
  });

  it('check: the verdict and reasons stay, notes and warnings go', () => {
    const args = ['check', S100, '--dest', S72, '--preset', 'qemu-11.1-host'];
    const loud = vmstate(args);
    const q = vmstate([...args, '-q']);
    expect(q.code).toBe(loud.code);
    expect(loud.stdout).toMatch(/^note: /m);
    expect(q.stdout).not.toMatch(/^(note|warning): /m);
    expect(q.stdout.split('\n')[0]).toBe(loud.stdout.split('\n')[0]);
  });
});
