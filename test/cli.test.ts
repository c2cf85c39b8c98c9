import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmstate } from './helpers/cli.js';
import { samplePaths, sampleBytes } from './helpers/samples.js';
import { minimalCpregs } from './helpers/minimal-cpregs.js';

const samples = samplePaths();
const hex = (v: bigint) => '0x' + v.toString(16).padStart(16, '0');

describe('regs --json gives exactly the cpreg ids and values of every vCPU', () => {
  for (const s of samples) {
    it(s.name, () => {
      const data = sampleBytes(s.path);
      const fromFile = vmstate(['regs', s.path, '--json']);
      expect(fromFile.code, fromFile.stderr).toBe(0);
      const fromPipe = vmstate(['regs', '-', '--json'], data);
      expect(fromPipe.code, fromPipe.stderr).toBe(0);
      expect(fromPipe.stdout).toBe(fromFile.stdout);
      const rep = JSON.parse(fromFile.stdout);
      const ref = minimalCpregs(data);
      expect(rep.cpus.map((c: { instance: number }) => c.instance)).toEqual(ref.map((c) => c.instance));
      rep.cpus.forEach((c: { count: number; registers: { id: string; value: string }[] }, k: number) => {
        expect(c.count).toBe(ref[k]!.count);
        expect(c.registers.map((r) => r.id)).toEqual(ref[k]!.ids.map(hex));
        expect(c.registers.map((r) => r.value)).toEqual(ref[k]!.values.map(hex));
      });
    });
  }
});

describe('rewrite without edits is byte-identical', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vmstate-cli-'));
  for (const s of samples) {
    it(s.name, () => {
      const data = sampleBytes(s.path);
      const out = join(dir, s.name.replace('/', '_'));
      const r = vmstate(['rewrite', s.path, '-o', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(out).equals(data)).toBe(true);
      const p = vmstate(['rewrite', '-', '-o', '-'], data);
      expect(p.code, p.stderr).toBe(0);
      expect(p.out.equals(data)).toBe(true);
    });
  }
});

describe('inspect', () => {
  it('summarises a 7.2 max stream', () => {
    const s = samples.find((x) => x.name === 'qemu-7.2/virt-7.2_max')!;
    const r = vmstate(['inspect', s.path, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.machine).toBe('virt-7.2');
    expect(j.pageSize).toBe(4096);
    expect(j.vmdesc.present).toBe(true);
    expect(j.cpus.map((c: { cpregs: number }) => c.cpregs)).toEqual([304, 304]);
    expect(j.ram.blocks.map((b: { name: string }) => b.name)).toEqual(['mach-virt.ram', 'virt.flash0', 'virt.flash1', '/rom@etc/acpi/tables', '/rom@etc/table-loader', '/rom@etc/acpi/rsdp']);
    expect(j.sections[0]).toMatchObject({ kind: 'iterative', name: 'ram', offset: 0x3d });
    const text = vmstate(['inspect', s.path]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('virt-7.2');
    expect(text.stdout).toMatch(/cpu\s+0\s+22\s+/);
  });

  it('sees SWITCHOVER_START in a QEMU 10.0 stream with its own machine type (walking the RAM: it is sent between RAM items)', () => {
    const s = samples.find((x) => x.name === 'qemu-10.0/virt-10.0_max')!;
    const j = JSON.parse(vmstate(['inspect', s.path, '--json', '--ram']).stdout);
    expect(j.machine).toBe('virt-10.0');
    expect(j.commands.map((c: { name: string; offset: number }) => [c.name, c.offset])).toEqual([['SWITCHOVER_START', 467610]]);
    // Read tail-first, the span that holds it is not read.
    const t = JSON.parse(vmstate(['inspect', s.path, '--json']).stdout);
    expect(t.commands).toEqual([]);
    expect(t.walk.mode === 'tail-first' && t.walk.from <= 467610 && 467610 < t.walk.to).toBe(true);
  });
});

describe('bad input: exit 2, typed error naming offset and section, nothing half-written', () => {
  const s = samples.find((x) => x.name === 'qemu-7.2/virt-7.2_max')!;
  const data = sampleBytes(s.path);
  const dir = mkdtempSync(join(tmpdir(), 'vmstate-bad-'));
  const cases: [string, Buffer, RegExp][] = [
    ['bad magic', Buffer.concat([Buffer.from('XEVM'), data.subarray(4)]), /not a migration stream.*at byte 0, in header/],
    ['truncation in RAM', data.subarray(0, 300000), /stream ends early.*at byte 300000, in ram/],
    ['impossible count', (() => {
      const b = Buffer.from(data);
      b.writeInt32BE(-1, minimalCpregs(data)[0]!.offset + 585);
      return b;
    })(), /negative cpreg count -1.*in cpu \(instance 0/],
  ];
  for (const [what, buf, msg] of cases) {
    it(what, () => {
      const input = join(dir, what.replace(/ /g, '-') + '.mig');
      writeFileSync(input, buf);
      for (const cmd of [['inspect', input], ['regs', input], ['dump', input], ['regs', '-']]) {
        const r = vmstate(cmd, cmd[1] === '-' ? buf : undefined);
        expect(r.code, cmd.join(' ')).toBe(2);
        expect(r.stderr).toMatch(msg);
      }
      const out = join(dir, what.replace(/ /g, '-') + '.out');
      const r = vmstate(['rewrite', input, '-o', out]);
      expect(r.code).toBe(2);
      expect(existsSync(out)).toBe(false);
      expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
    });
  }

  it('refuses to write over its input', () => {
    const input = join(dir, 'same.mig');
    writeFileSync(input, data);
    const r = vmstate(['rewrite', input, '-o', input]);
    expect(r.code).toBe(2);
    expect(readFileSync(input).equals(data)).toBe(true);
  });

  it('usage errors and unreadable input exit 2', () => {
    // No file: standard input (here empty) is read, and is bad input.
    const empty = vmstate(['inspect'], '');
    expect([empty.code, empty.stderr]).toEqual([2, 'vmstate: stream ends early: 8 more byte(s) needed (at byte 0, in header)\n']);
    expect(vmstate(['frobnicate', 'x']).code).toBe(2);
    const missing = vmstate(['inspect', '/nonexistent/file']);
    expect([missing.code, missing.stderr]).toEqual([2, 'vmstate: cannot open /nonexistent/file: ENOENT\n']);
  });

  it('an output that cannot be written: exit 2 naming it, from a file and a pipe, nothing left behind', () => {
    const input = join(dir, 'in.mig');
    writeFileSync(input, data);
    const missing = join(dir, 'no-such-dir', 'out.mig');
    for (const [args, stdin] of [[['rewrite', input, '-o', missing]], [['rewrite', '-', '-o', missing], data], [['profile', input, '-o', missing]]] as [string[], Buffer?][]) {
      const r = vmstate(args, stdin);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toBe(`vmstate: cannot write ${missing}: ENOENT\n`);
    }
    const r = vmstate(['rewrite', input, '-o', dir]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a directory');
    expect(vmstate(['profile', input, '-o', dir]).stderr).toBe(`vmstate: ${dir} is a directory: name the output file\n`);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
});
