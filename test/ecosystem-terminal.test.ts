/**
 * Terminal behaviour: colour only on a terminal and never with NO_COLOR or --no-color;
 * a progress line on standard error only when it is a terminal; piped output is plain.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI } from './helpers/cli.js';
import { SAMPLES_DIR } from './helpers/samples.js';
import { COLOR, PLAIN, stripAnsi, table, useColor } from '../src/report/format.js';
import { ProgressBar, bytes, duration, progressLine, progressObserver } from '../src/cli/progress.js';
import { renderCheck } from '../src/report/check.js';
import type { CheckResult } from '../src/check/check.js';
import { decodeStream } from '../src/stream/decode.js';
import { withInputObserver } from '../src/container/open.js';

const S72 = join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_max.mig');
const S111 = join(SAMPLES_DIR, 'qemu-11.1', 'virt-11.1_max.mig');
const ESC = /\x1b\[/;
const hasScript = spawnSync('script', ['--version']).status === 0;

/** The environment without colour settings of its own. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, TERM: 'xterm-256color' };
  delete e.NO_COLOR;
  delete e.FORCE_COLOR;
  return { ...e, ...extra };
}

/** Runs the CLI with standard output and error piped (not terminals). */
function piped(args: string[], extra: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { env: env(extra), maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

/** Runs the CLI inside a pseudo-terminal (util-linux `script`): both outputs are a terminal. */
function onTerminal(args: string[], extra: Record<string, string> = {}) {
  const cmd = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { env: env(extra), maxBuffer: 1 << 28 });
  return { code: r.status, out: r.stdout.toString() };
}

describe('colour decision', () => {
  it('on a terminal only, never with NO_COLOR (non-empty), --no-color or TERM=dumb', () => {
    expect(useColor({ isTTY: true, env: {} })).toBe(true);
    expect(useColor({ isTTY: false, env: {} })).toBe(false);
    expect(useColor({ isTTY: undefined, env: {} })).toBe(false);
    expect(useColor({ isTTY: true, env: { NO_COLOR: '1' } })).toBe(false);
    expect(useColor({ isTTY: true, env: { NO_COLOR: '' } })).toBe(true);
    expect(useColor({ isTTY: true, env: {}, flag: false })).toBe(false);
    expect(useColor({ isTTY: true, env: {}, flag: true })).toBe(true);
    // --color does not force colour into a pipe.
    expect(useColor({ isTTY: false, env: {}, flag: true })).toBe(false);
    expect(useColor({ isTTY: true, env: { TERM: 'dumb' } })).toBe(false);
  });

  it('verdicts: ACCEPT green, REJECT red, fatal findings red; plain style adds nothing', () => {
    const rep = (verdict: 'accept' | 'reject'): CheckResult => ({
      stream: 's', destination: { path: 'd', origin: 'stream', machineType: null }, verdict, loader: 'legacy', accel: 'tcg',
      policies: [], anomalies: [], outcome: 'load', qemuError: null, qemuLines: [], alternatives: [], warnings: ['w'], notes: ['n'],
      devices: [{ name: 'cpu', instance: 0, vmsd: 'cpu', verdict, qemuError: null, anomalies: verdict === 'reject' ? [{ kind: 'unexpected', fatal: true, id: '0x603000000013c103', reg: 0x603000000013c103n, name: 'TCR2_EL1', message: 'not on the destination', qemuText: null }] : [] }],
    });
    expect(renderCheck(rep('accept'), { style: COLOR })).toMatch(/^\x1b\[32m\x1b\[1mACCEPT\x1b\[22m\x1b\[39m: s → d/);
    const rej = renderCheck(rep('reject'), { style: COLOR });
    expect(rej).toMatch(/^\x1b\[31m\x1b\[1mREJECT/);
    expect(rej).toContain('\x1b[31mfatal\x1b[39m');
    expect(rej).toContain('\x1b[33mwarning: w\x1b[39m');
    expect(stripAnsi(rej)).toBe(renderCheck(rep('reject')));
    expect(renderCheck(rep('reject'), { style: PLAIN })).not.toMatch(ESC);
    // --quiet: no warnings or notes.
    expect(renderCheck(rep('accept'), { quiet: true })).not.toMatch(/warning|note/);
  });

  it('tables align coloured cells by their printed width', () => {
    const rows = [[COLOR.ok('ACCEPT'), 'a'], ['REJECT', 'bb']];
    expect(stripAnsi(table(['v', 'x'], rows))).toBe(table(['v', 'x'], [['ACCEPT', 'a'], ['REJECT', 'bb']]));
  });
});

describe('piped output has no escape codes', () => {
  const runs: [string, string[], number][] = [
    ['check reject', ['check', S111, '--dest', S72], 1],
    ['check batch', ['check', S111, S72, '--dest', S72], 1],
    ['check with --color', ['check', S111, '--dest', S72, '--color'], 1],
    ['inspect', ['inspect', S111], 0],
    ['regs', ['regs', S72, '--cpu', '0'], 0],
    ['diff', ['diff', S111, S72], 0],
    ['bad input', ['inspect', '/nonexistent.mig'], 2],
  ];
  for (const [what, args, code] of runs) {
    it(what, () => {
      const r = piped(args);
      expect(r.code, r.stderr).toBe(code);
      expect(r.stdout).not.toMatch(ESC);
      expect(r.stderr).not.toMatch(ESC);
      expect(r.stderr).not.toMatch(/\r/);
    });
  }
});

describe.skipIf(!hasScript)('on a terminal', () => {
  const args = ['check', S111, S72, '--dest', S72];
  it('colours verdicts', () => {
    const r = onTerminal(args);
    expect(r.out).toContain('\x1b[31mREJECT\x1b[39m');
    expect(r.out).toContain('\x1b[32mACCEPT\x1b[39m');
  });
  it('but not with NO_COLOR, --no-color or TERM=dumb', () => {
    expect(onTerminal(args, { NO_COLOR: '1' }).out).not.toMatch(ESC);
    expect(onTerminal([...args, '--no-color']).out).not.toMatch(ESC);
    expect(onTerminal(args, { TERM: 'dumb' }).out).not.toMatch(ESC);
  });
});

describe('progress line', () => {
  it('formats bytes, rate, percentage and time left', () => {
    expect(bytes(512)).toBe('512 B');
    expect(bytes(1536)).toBe('1.5 KiB');
    expect(bytes(300 * 1024 * 1024)).toBe('300 MiB');
    expect(duration(65)).toBe('1:05');
    expect(duration(3723)).toBe('1:02:03');
    expect(duration(Infinity)).toBe('--:--');
    const line = progressLine({ label: 'guest.mig', position: 512 * 2 ** 20, total: 2048 * 2 ** 20, elapsed: 4, width: 100 });
    expect(line).toBe('guest.mig [########----------------------]  25% 512 MiB / 2.0 GiB  128 MiB/s  ETA 0:12');
    expect(progressLine({ label: 'stdin', position: 3 << 20, elapsed: 2, width: 80 })).toBe('stdin  3.0 MiB  1.5 MiB/s');
    expect(progressLine({ label: 'a-very-long-file-name.mig', position: 1, total: 2, elapsed: 1, width: 40 }).length).toBeLessThan(40);
  });

  it('appears after a delay, redraws at most every interval, and is erased at the end', () => {
    let now = 0;
    const out: string[] = [];
    const bar = new ProgressBar({ isTTY: true, columns: 80, write: (s) => out.push(s) }, 'f.mig', 1000, { delay: 500, interval: 100, now: () => now });
    bar.update(10);
    now = 400;
    bar.update(100);
    expect(out).toEqual([]);
    now = 600;
    bar.update(500);
    now = 650;
    bar.update(550);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^\rf\.mig \[#+-+\]  50% 500 B \/ 1000 B .*ETA 0:01\x1b\[K$/);
    bar.finish();
    expect(out[1]).toBe('\r\x1b[K');
    // A run that never drew leaves nothing to erase.
    const quiet: string[] = [];
    new ProgressBar({ isTTY: true, write: (s) => quiet.push(s) }, 'x', 1).finish();
    expect(quiet).toEqual([]);
  });

  it('is silent when standard error is not a terminal, or with --quiet', () => {
    const writes: string[] = [];
    const target = { isTTY: false, write: (s: string) => writes.push(s) };
    const h = progressObserver(target, () => true, { delay: 0, interval: 0 }).opened('f', 10);
    h?.advance(5);
    h?.closed();
    const h2 = progressObserver({ ...target, isTTY: true }, () => false, { delay: 0, interval: 0 }).opened('f', 10);
    h2?.advance(5);
    h2?.closed();
    expect(writes).toEqual([]);
  });

  it('follows the input as the decoder reads it, up to the file size', async () => {
    const seen: { path: string; total: number | undefined; positions: number[]; closed: boolean }[] = [];
    const observer = {
      opened(path: string, total: number | undefined) {
        const o = { path, total, positions: [] as number[], closed: false };
        seen.push(o);
        return { advance: (p: number) => o.positions.push(p), closed: () => (o.closed = true) };
      },
    };
    const s = await withInputObserver(observer, () => decodeStream(S72));
    expect(s.cpus).toHaveLength(2);
    expect(seen).toHaveLength(1);
    const [o] = seen;
    expect(o!.total).toBe(s.size);
    expect(o!.closed).toBe(true);
    expect(o!.positions.length).toBeGreaterThan(0);
    expect(o!.positions.every((p, i, a) => i === 0 || p >= a[i - 1]!)).toBe(true);
    expect(o!.positions.at(-1)).toBe(s.size);
  });

  it.skipIf(!hasScript)('a slow pipe on a terminal shows it on standard error; piped or --quiet, nothing', () => {
    const f = S72;
    const slow = `(head -c 300000 '${f}'; sleep 1.2; tail -c +300001 '${f}')`;
    const run = (extra: string) =>
      spawnSync('script', ['-qec', `${slow} | '${process.execPath}' '${CLI}' regs - ${extra} > /dev/null`, '/dev/null'], { env: env() }).stdout.toString();
    expect(run('')).toMatch(/\rstdin  \d+ KiB  [\d.]+ [KM]iB\/s\x1b\[K[\s\S]*\r\x1b\[K/);
    expect(run('--quiet')).toBe('');
    const r = spawnSync('bash', ['-c', `${slow} | '${process.execPath}' '${CLI}' regs - > /dev/null`], { env: env() });
    expect(r.status).toBe(0);
    expect(r.stderr.toString()).toBe('');
  });
});
