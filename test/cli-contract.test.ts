/**
 * The command-line contract: a command line is accepted whole before anything runs. An unknown,
 * misspelt or missing argument, a malformed value or a single-value option given twice is a
 * usage error (exit 2): one line saying what is wrong, then the usage hint; nothing is read
 * (the input here is a FIFO nobody writes: opening it would hang), nothing is written. No file
 * argument reads standard input unless it is a terminal. No command line ends in a stack trace.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLI, vmstate } from './helpers/cli.js';
import { SAMPLES_DIR } from './helpers/samples.js';

const S72 = join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_max.mig');
const A57_10 = join(SAMPLES_DIR, 'qemu-10.0', 'virt-7.2_cortex-a57.mig');
const A57_72 = join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_cortex-a57.mig');
const root = mkdtempSync(join(tmpdir(), 'vmstate-contract-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A FIFO no one writes: a command that opened it would wait forever. */
const FIFO = join(root, 'no-writer.fifo');
expect(spawnSync('mkfifo', [FIFO]).status).toBe(0);

const hasScript = spawnSync('script', ['--version']).status === 0;

/** Runs the CLI in a fresh directory with standard input closed-at-EOF; returns the run and what the directory holds after. */
function inDir(args: (out: string) => string[], input?: Buffer) {
  const d = mkdtempSync(join(root, 'run-'));
  const out = join(d, 'out.mig');
  const r = spawnSync(process.execPath, [CLI, ...args(out)], { cwd: d, input, timeout: 30_000, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 1 << 28 });
  return { code: r.status, signal: r.signal, stdout: r.stdout.toString(), stderr: r.stderr.toString(), out: r.stdout, files: readdirSync(d), outPath: out };
}

/** Runs the CLI on a terminal (util-linux `script`): standard input is a terminal too. */
function onTerminal(args: string[]) {
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { cwd: root, timeout: 30_000, env: { ...process.env, NO_COLOR: '1' } });
  return { code: r.status, out: r.stdout.toString().replace(/\r\n/g, '\n') };
}

const hint = (synopsis: string) => `usage: vmstate ${synopsis} [options] (all options: vmstate ${synopsis.split(' ')[0]} --help)`;

/** Every command: a command line it accepts (on the FIFO, where it reads a stream), a misspelt option and what it suggests. */
const COMMANDS: { synopsis: string; valid: (out: string) => string[]; misspelt: [string, string] }[] = [
  { synopsis: 'inspect [stream]', valid: () => [FIFO], misspelt: ['--jsno', '--json'] },
  { synopsis: 'regs [stream]', valid: () => [FIFO, '--cpu', '0'], misspelt: ['--cpus', '--cpu'] },
  { synopsis: 'dump [stream]', valid: () => [FIFO], misspelt: ['--dsec', '--desc'] },
  { synopsis: 'diff [a] [b]', valid: () => [FIFO, S72], misspelt: ['--acel', '--accel'] },
  { synopsis: 'profile [stream]', valid: (o) => [FIFO, '-o', o], misspelt: ['--ouptut', '--output'] },
  { synopsis: 'check [stream..]', valid: () => [FIFO, '--dest', FIFO], misspelt: ['--loder', '--loader'] },
  { synopsis: 'rewrite [stream]', valid: (o) => [FIFO, '-o', o], misspelt: ['--dry-rn', '--dry-run'] },
  { synopsis: 'completion', valid: () => [], misspelt: ['--quite', '--quiet'] },
];

/** A usage error: exit 2, the message, the hint, nothing on standard output, nothing written. */
function expectUsageError(r: ReturnType<typeof inDir>, message: string, synopsis: string | null) {
  expect(r.signal, 'the command hung: it opened its input').toBeNull();
  expect(r.stderr).toBe(`vmstate: ${message}\n${synopsis ? hint(synopsis) : 'usage: vmstate <command> [options] (commands: vmstate --help)'}\n`);
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.files).toEqual([]);
}

describe('every command rejects a bad command line before it reads or writes anything', () => {
  for (const c of COMMANDS) {
    const name = c.synopsis.split(' ')[0]!;
    describe(name, () => {
      it('an unknown option', () => {
        expectUsageError(inDir((o) => [name, ...c.valid(o), '--frobnicate']), 'unknown option --frobnicate', c.synopsis);
        expectUsageError(inDir((o) => [name, '--frobnicate=1', ...c.valid(o)]), 'unknown option --frobnicate', c.synopsis);
      });

      it(`a misspelt option (${c.misspelt[0]}) names the one meant`, () => {
        expectUsageError(inDir((o) => [name, ...c.valid(o), c.misspelt[0]]), `unknown option ${c.misspelt[0]} (did you mean ${c.misspelt[1]}?)`, c.synopsis);
      });

      it('an extra argument', () => {
        const extra = name === 'check' ? [] : ['surplus'];
        if (!extra.length) return; // check takes any number of streams: covered by the missing --dest below
        expectUsageError(inDir((o) => [name, ...c.valid(o), ...extra]), "unexpected argument 'surplus'", c.synopsis);
      });
    });
  }

  it('missing arguments, named', () => {
    const cases: [string[], string, string][] = [
      [['check', FIFO], 'missing required option --dest', 'check [stream..]'],
      [['check', FIFO, '--dest'], '--dest needs a value', 'check [stream..]'],
      [['rewrite', FIFO], 'rewrite needs -o <file|-> (or --dry-run)', 'rewrite [stream]'],
      [['rewrite', FIFO, '-o'], '--output needs a value', 'rewrite [stream]'],
      [['rewrite', FIFO, '--strip-unknown', '-o', 'x.mig'], '--strip-unknown, --adopt-dest-values, --add-missing and --strip-unknown-subsections need --dest', 'rewrite [stream]'],
      [['rewrite', FIFO, '-o', 'x.mig', '--strip'], '--strip needs a value (names or ids, comma-separated)', 'rewrite [stream]'],
      [['rewrite', FIFO, '-o', 'x.mig', '--strip', ' , '], '--strip needs a value (names or ids, comma-separated)', 'rewrite [stream]'],
      [['profile', FIFO, '-o'], '--output needs a value', 'profile [stream]'],
      [['diff', FIFO], 'diff needs two streams, a and b (one given; one may be - for standard input)', 'diff [a] [b]'],
      [['diff'], 'diff needs two streams, a and b (none given; one may be - for standard input)', 'diff [a] [b]'],
      [['regs', FIFO, '--cpu'], '--cpu needs a value', 'regs [stream]'],
      [['regs', '--lookup'], '--lookup needs a value (names or ids, comma-separated)', 'regs [stream]'],
      [['inspect', FIFO, '--', 'surplus'], "unexpected argument 'surplus'", 'inspect [stream]'],
      [['diff', '--', FIFO], 'diff needs two streams, a and b (one given; one may be - for standard input)', 'diff [a] [b]'],
      [[], 'name a command', null as never],
    ];
    for (const [args, message, synopsis] of cases) expectUsageError(inDir(() => args), message, synopsis);
  });

  it.runIf(hasScript)('no stream on a terminal: a usage error, not a wait for input that never comes', () => {
    for (const [args, synopsis] of [
      [['inspect'], 'inspect [stream]'],
      [['regs', '--cpu', '1'], 'regs [stream]'],
      [['dump'], 'dump [stream]'],
      [['profile'], 'profile [stream]'],
      [['check', '--dest', S72], 'check [stream..]'],
      [['rewrite', '-o', join(root, 'never.mig')], 'rewrite [stream]'],
    ] as [string[], string][]) {
      const r = onTerminal(args);
      expect(r.out).toBe(`vmstate: ${synopsis.split(' ')[0]} needs a stream: a file, or - for standard input (a pipe or a redirected file)\n${hint(synopsis)}\n`);
      expect(r.code).toBe(2);
    }
    expect(existsSync(join(root, 'never.mig'))).toBe(false);
  });

  it('the terminal test can run here (util-linux script)', () => {
    // Debian's bsdutils (essential) ships `script`; without it the test above proves nothing.
    expect(hasScript, 'install util-linux (script) to run the terminal tests').toBe(true);
  });

  it('an unknown command names the nearest', () => {
    expectUsageError(inDir(() => ['inspct', S72]), "unknown command 'inspct' (did you mean inspect?)", null);
    expectUsageError(inDir(() => ['frobnicate']), "unknown command 'frobnicate'", null);
  });

  it('after --, arguments are streams even when they look like options', () => {
    const d = mkdtempSync(join(root, 'dash-'));
    writeFileSync(join(d, '-x.mig'), readFileSync(S72));
    const named = spawnSync(process.execPath, [CLI, 'inspect', '--json', '--', '-x.mig'], { cwd: d });
    expect(named.status, named.stderr.toString()).toBe(0);
    expect(JSON.parse(named.stdout.toString()).file).toBe('-x.mig');
    const two = spawnSync(process.execPath, [CLI, 'diff', '-x.mig', '--', '-x.mig'], { cwd: d });
    expect(spawnSync(process.execPath, [CLI, 'diff', '--', '-x.mig', '-x.mig'], { cwd: d }).stdout.toString()).toBe('no differences in the cpreg lists of 2 vCPU(s)\n');
    expect(two.status).toBe(2); // before --, -x.mig is an option
  });

  it('completion --help is help, not the script', () => {
    const r = vmstate(['completion', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^vmstate completion\n\nprint a bash\/zsh completion script/);
    expect(r.stdout).not.toContain('###-begin-vmstate-completions-###');
    expect(vmstate(['completion']).stdout).toContain('###-begin-vmstate-completions-###');
  });
});

describe('malformed values and repeated single-value options', () => {
  const cases: [string[], string][] = [
    [['regs', FIFO, '--cpu', 'abc'], "--cpu needs a whole number ≥ 0, not 'abc'"],
    [['regs', FIFO, '--cpu', '-1'], "--cpu needs a whole number ≥ 0, not '-1'"],
    [['regs', FIFO, '--cpu', '1.5'], "--cpu needs a whole number ≥ 0, not '1.5'"],
    [['regs', FIFO, '--cpu', '1e400'], "--cpu needs a whole number ≥ 0, not '1e400'"],
    [['regs', FIFO, '--cpu', 'Infinity'], "--cpu needs a whole number ≥ 0, not 'Infinity'"],
    [['regs', FIFO, '--cpu', '0', '--cpu', '1'], '--cpu is given 2 times: give it once'],
    // yargs-parser would count a repeated 1 up to 2: numbers are read as text.
    [['regs', FIFO, '--cpu', '1', '--cpu', '1'], '--cpu is given 2 times: give it once'],
    [['diff', FIFO, S72, '--cpu', 'x'], "--cpu needs a whole number ≥ 0, not 'x'"],
    [['inspect', FIFO, '--max-vmdesc', 'abc'], "--max-vmdesc needs a whole number from 1 to 536870888, not 'abc'"],
    [['inspect', FIFO, '--max-vmdesc', '0'], "--max-vmdesc needs a whole number from 1 to 536870888, not '0'"],
    [['inspect', FIFO, '--max-cpregs', 'abc'], "--max-cpregs needs a whole number from 0 to 4294967295, not 'abc'"],
    [['inspect', FIFO, '--max-cpregs', '4294967296'], "--max-cpregs needs a whole number from 0 to 4294967295, not '4294967296'"],
    [['inspect', FIFO, '--max-buffer', '-5'], "--max-buffer needs a whole number from 1 to 4294967295, not '-5'"],
    [['check', FIFO, '--dest', FIFO, '--jobs', '0'], "--jobs needs a whole number ≥ 1, not '0'"],
    [['check', FIFO, '--dest', FIFO, '-j', 'many'], "--jobs needs a whole number ≥ 1, not 'many'"],
    [['check', FIFO, '--dest', FIFO, '--loader', 'qemu-9.9'], "--loader: 'qemu-9.9' is not one of legacy, series-v6, qemu-11.1, qemu-7.2, qemu-10.0, qemu-10.2"],
    [['check', FIFO, '--dest', FIFO, '--loader', 'legacy', '--loader', 'qemu-11.1'], '--loader is given 2 times: give it once'],
    [['check', FIFO, '--dest', FIFO, '--dest', FIFO], '--dest is given 2 times: give it once'],
    [['check', FIFO, '--dest', FIFO, '--accel', 'xen'], "--accel: 'xen' is not one of tcg, kvm"],
    [['check', FIFO, '--dest', FIFO, '--preset', 'virt-10.2', '--preset', 'nope'], "--preset: 'nope' is not one of virt-10.2, kernel-compat-10.1, qemu-11.1-host"],
    [['check', FIFO, '-', '--dest', FIFO], 'standard input (-) can only be checked alone'],
    [['rewrite', FIFO, '-o', 'a.mig', '-o', 'b.mig'], '--output is given 2 times: give it once'],
    [['rewrite', FIFO, '-o', 'a.mig', '--strip', 'NO_SUCH_REG'], "--strip: unknown register 'NO_SUCH_REG'"],
    [['rewrite', FIFO, '-o', 'a.mig', '--dest', FIFO, '--adopt-dest-values', 'id-regs,NOPE'], "--adopt-dest-values: unknown register 'NOPE'"],
    [['rewrite', FIFO, '-o', 'a.mig', '--dry-run=yes'], "--dry-run is a switch: it takes no value (given 'yes')"],
    [['profile', FIFO, '-o', 'a.json', '--output', 'b.json'], '--output is given 2 times: give it once'],
    [['diff', '-', '-'], 'only one of the two streams can be standard input'],
    [['regs', FIFO, '--lookup', 'TCR2_EL1'], '--lookup reads no stream: leave out the stream, or --lookup'],
    [['regs', '--lookup', 'TCR2_EL1', '--cpu', '0'], '--lookup reads no stream: --cpu has nothing to select'],
  ];
  it.each(cases)('%j', (args, message) => {
    expectUsageError(inDir(() => args), message, ({ inspect: 'inspect [stream]', regs: 'regs [stream]', diff: 'diff [a] [b]', check: 'check [stream..]', rewrite: 'rewrite [stream]', profile: 'profile [stream]' } as Record<string, string>)[args[0]!]!);
  });
});

describe('--cpu names a vCPU of the stream, or nothing is printed', () => {
  it('regs and diff: exit 2 naming the instances, standard output empty', () => {
    const r = inDir(() => ['regs', S72, '--cpu', '7']);
    expect([r.code, r.stdout]).toEqual([2, '']);
    expect(r.stderr.split('\n')[0]).toBe(`vmstate: --cpu 7: no such vCPU in ${S72} (instances: 0, 1)`);
    const d = inDir(() => ['diff', S72, A57_72, '--cpu', '2', '--json']);
    expect([d.code, d.stdout]).toEqual([2, '']);
    expect(d.stderr.split('\n')[0]).toBe(`vmstate: --cpu 2: no such vCPU in ${S72} (instances: 0, 1)`);
  });

  it('diff --cpu compares that vCPU only', () => {
    const all = JSON.parse(vmstate(['diff', A57_10, A57_72, '--json']).stdout);
    const one = JSON.parse(vmstate(['diff', A57_10, A57_72, '--json', '--cpu', '1']).stdout);
    expect(one.cpus).toEqual(all.cpus.filter((c: { instance: number }) => c.instance === 1));
    expect(one.cpus).toHaveLength(1);
  });
});

describe('no file argument: standard input when it is not a terminal', () => {
  const bytes = readFileSync(S72);
  it('inspect, regs, dump, profile, check read it as they read -', () => {
    for (const args of [['inspect'], ['regs', '--cpu', '1'], ['dump'], ['profile'], ['check', '--dest', A57_72, '--json']]) {
      const implicit = vmstate(args, bytes);
      const explicit = vmstate([args[0]!, '-', ...args.slice(1)], bytes);
      expect(implicit.code, implicit.stderr).toBe(args[0] === 'check' ? 1 : 0);
      expect(implicit.stdout).toBe(explicit.stdout);
      expect(implicit.stdout.length).toBeGreaterThan(100);
    }
  });

  it('rewrite copies it', () => {
    const r = inDir((o) => ['rewrite', '-o', o], bytes);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(r.outPath).equals(bytes)).toBe(true);
  });

  it('an empty standard input is bad input (exit 2), named', () => {
    const r = inDir(() => ['inspect'], Buffer.alloc(0));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^vmstate: stream ends early: 8 more byte\(s\) needed \(at byte 0, in header\)\n$/);
  });
});

describe('rewrite: edits that name what the stream lacks', () => {
  it('a register: a warning on standard error for each; the output is written (exit 0)', () => {
    const r = inDir((o) => ['rewrite', S72, '-o', o, '--strip', 'TCR2_EL1,TPIDR_EL0', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('vmstate: warning: --strip TCR2_EL1: no vCPU has this register; nothing done for it\n');
    const rep = JSON.parse(r.stdout);
    expect(rep.unmatched).toEqual([{ option: '--strip', value: 'TCR2_EL1' }]);
    expect(rep.cpus[0].removed.map((x: { name: string }) => x.name)).toEqual(['TPIDR_EL0']);
    expect(r.files).toEqual(['out.mig']);
  });

  it('a subsection no section has: an error (exit 2), nothing written', () => {
    const r = inDir((o) => ['rewrite', S72, '-o', o, '--strip', 'TPIDR_EL0', '--strip-subsection', 'cpu/nope']);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe('vmstate: --strip-subsection cpu/nope: no section of the stream has this subsection; nothing written');
    expect(r.files).toEqual([]);
  });

  it('--strict-edits refuses instead: exit 1, nothing written', () => {
    const r = inDir((o) => ['rewrite', S72, '-o', o, '--strip', 'TCR2_EL1', '--strict-edits']);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n').at(-2)).toBe(`vmstate: refusing to write ${r.outPath}: --strip TCR2_EL1 matched nothing in the stream (--strict-edits); nothing written`);
    expect(r.files).toEqual([]);
    // A subsection the stream has is no reason to refuse.
    const ok = inDir((o) => ['rewrite', S72, '-o', o, '--strip-subsection', 'cpu/sve', '--strict-edits']);
    expect([ok.code, ok.stderr]).toEqual([0, '']);
  });

  it('--quiet silences the warnings, not the refusal', () => {
    expect(inDir((o) => ['rewrite', S72, '-o', o, '--strip', 'TCR2_EL1', '-q']).stderr).toBe('');
    expect(inDir((o) => ['rewrite', S72, '-o', o, '--strip', 'TCR2_EL1', '-q', '--strict-edits']).code).toBe(1);
  });
});

/** Command lines no one should type; none may end in an internal error or a stack trace. */
const HOSTILE: string[][] = [
  [], [''], ['-'], ['--'], ['--', '--'], ['-', '-'], ['---'], ['--='], ['-='], ['--no-'], ['--no-json=maybe'], ['--json=maybe'],
  ['--cpu'], ['--cpu', 'abc'], ['--cpu', '-1'], ['--cpu', '1e400'], ['--cpu', 'NaN'], ['--cpu', '0x'], ['--cpu', '99999999999999999999'], ['--cpu='],
  ['--max-vmdesc', 'abc'], ['--max-vmdesc', '1e12'], ['--max-buffer', '1e30'], ['--max-buffer', '0x10'], ['--max-cpregs', '-0'], ['--max-cpregs', '0'],
  ['-o'], ['-o', ''], ['-o', 'a', '-o', 'b'], ['--output=-', '--output=-'], ['-o', '.'], ['-o', 'no/such/dir/x'], ['--dest'], ['--dest', ''], ['--dest', '/'], ['--dest', S72, '--dest', S72],
  ['--loader'], ['--loader', 'qemu-9.9'], ['--accel', 'xen'], ['--accel'], ['--preset', 'nope'], ['--preset'], ['--compat'], ['--compat', 'garbage'], ['--compat', '='],
  ['--policy', '/'], ['--policy', '/nonexistent'], ['--policy', S72], ['--strip'], ['--strip', ','], ['--strip', 'NOPE'], ['--strip', '0xZZ'], ['--strip', '0x' + 'f'.repeat(17)],
  ['--adopt-dest-values', 'id-regs'], ['--strip-subsection', ''], ['--jobs', '0'], ['-j', '-1'], ['--jobs', 'many'], ['--lookup'], ['--lookup', ''], ['--lookup', ',,,'],
  ['--lookup', '0x' + '9'.repeat(40)], ['--lookup', 'op0:9 op1:9 crn:99 crm:99 op2:9'], ['--__proto__', 'x'], ['--constructor', 'x'], ['--toString'], ['--hasOwnProperty', '1'],
  ['--a.b', '1'], ['x'.repeat(100_000)], ['--' + 'y'.repeat(5000)], ['\u202e'], ['é', '--é'], ['-qqq'], ['-xyz'], ['--color=never'], ['--no-color', '--color'],
  ['--quiet', 'false'], ['--dry-run', '--dry-run'], ['--force=false'], ['--desc', '--json', '--no-json'], [FIFO.slice(0, -1)], ['/dev/null'], ['/proc/self/mem'],
];

/** A command line each command accepts, to put the hostile parts after. */
const VALID: Record<string, string[]> = {
  inspect: [S72], regs: [S72], dump: [S72], diff: [S72, A57_72], profile: [S72], check: [S72, '--dest', A57_72], rewrite: [S72, '-o', 'out.mig'], completion: [],
};

describe('hostile command lines: exit codes 0, 1 or 2, never an internal error or a stack trace', () => {
  const cases = Object.entries(VALID).flatMap(([cmd, valid]) => HOSTILE.flatMap((h) => [[cmd, ...h], [cmd, ...valid, ...h]]));
  cases.push(...HOSTILE);
  const dir = mkdtempSync(join(root, 'hostile-'));
  mkdirSync(join(dir, 'cwd'));
  writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));
  const run = spawnSync(process.execPath, [join(import.meta.dirname, 'helpers', 'cli-many.mjs'), join(import.meta.dirname, '..', 'dist', 'cli', 'run.js'), join(dir, 'cases.json'), join(dir, 'results.json')], {
    cwd: join(dir, 'cwd'),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
    timeout: 600_000,
  });

  it(`${cases.length} command lines, in one process`, () => {
    expect(run.status, run.stderr.toString()).toBe(0);
    const results: { argv: string[]; code: number | string; stdout: string; stderr: string }[] = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    expect(results).toHaveLength(cases.length);
    const bad = results.filter((r) => ![0, 1, 2].includes(r.code as number) || /internal error|^\s+at .*:\d+:\d+\)?$/m.test(r.stderr));
    expect(bad.map((r) => ({ argv: r.argv.map((a) => a.slice(0, 60)), code: r.code, stderr: r.stderr.slice(0, 600) }))).toEqual([]);
    // A usage error is one line and the hint.
    for (const r of results.filter((x) => x.code === 2 && /\nusage: vmstate /.test(x.stderr))) {
      expect(r.stderr.split('\n').length, r.stderr).toBe(3);
      expect(r.stdout, JSON.stringify(r.argv)).toBe('');
    }
  });

  it('the built executable agrees on a sample of them (exit code, no stack trace)', () => {
    for (const argv of [['rewrite', S72, '-o', 'a', '-o', 'b'], ['rewrite', S72, '--max-vmdesc', 'abc'], ['inspect', S72, 'extra'], ['--__proto__', 'x'], ['regs', '--cpu', '1e400', S72], ['check', S72, '--dest', S72, '--help=foo'], ['inspect', '--version', 'x']]) {
      const r = spawnSync(process.execPath, [CLI, ...argv], { cwd: join(dir, 'cwd'), stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
      expect([0, 1, 2], `${argv.join(' ')}: ${r.stderr}`).toContain(r.status);
      expect(r.stderr.toString()).not.toMatch(/internal error|^\s+at /m);
    }
  });
});
