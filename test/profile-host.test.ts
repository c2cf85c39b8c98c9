/**
 * `vmstate profile --host` with the host's real QEMU (7.2, TCG): the profile it writes equals the
 * profile of a stream saved by the same QEMU with the same -M/-cpu/-smp (samples/qemu-7.2), it
 * records QEMU's version, accelerator, machine, CPU, -smp and kernel release, `check` infers the
 * loader from it and reaches the same verdict and lines as with that stream, and what cannot run
 * is a typed error (exit 2) with QEMU's own words. Under KVM it was run in the nested kit
 * (samples/kvm/FINDINGS.md, "profile --host under KVM").
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { vmstate } from './helpers/cli.js';
import { requireQemu } from './helpers/qemu.js';
import { SAMPLES_DIR } from './helpers/samples.js';

const dir = mkdtempSync(join(tmpdir(), 'vmstate-profile-host-'));
const S72 = join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_max.mig');
const S100 = join(SAMPLES_DIR, 'qemu-10.0', 'virt-7.2_max.mig');
const leftovers = (): string[] => readdirSync(tmpdir()).filter((f) => f.startsWith('vmstate-host-'));
let version = '';
let before: string[] = [];

beforeAll(() => {
  version = requireQemu();
  before = leftovers();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('profile --host (TCG, the host QEMU 7.2)', () => {
  const out = join(dir, 'host.json');
  let run: ReturnType<typeof vmstate>;
  beforeAll(() => {
    run = vmstate(['profile', '--host', '--accel', 'tcg', '-M', 'virt', '--cpu', 'max', '--smp', '2', '-o', out]);
  }, 180_000);

  it('writes a profile that validates and records the host', () => {
    expect(run.code, run.stderr).toBe(0);
    const p = JSON.parse(readFileSync(out, 'utf8'));
    const schema = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'schemas', 'profile.schema.json'), 'utf8'));
    const validate = new Ajv2020({ strict: true, allowUnionTypes: true }).compile(schema);
    expect(validate(p), JSON.stringify(validate.errors)).toBe(true);
    expect(p.host).toEqual({ qemu: version, accel: 'tcg', machine: 'virt', cpu: 'max', smp: 2, kernel: release() });
    expect(p).toMatchObject({ machineType: 'virt-7.2', generation: '7.2', accel: 'tcg' });
  });

  it('holds the registers a stream saved by the same QEMU and configuration holds', () => {
    const p = JSON.parse(readFileSync(out, 'utf8'));
    const fromStream = JSON.parse(vmstate(['profile', S72]).stdout);
    expect(p.cpus.map((c: { instance: number }) => c.instance)).toEqual([0, 1]);
    for (const [k, c] of p.cpus.entries()) {
      const want = fromStream.cpus[k];
      expect(c.registers.map((r: { id: string }) => r.id)).toEqual(want.registers.map((r: { id: string }) => r.id));
      // ID registers (op0 3, CRn 0) are the CPU model's: equal; the rest is run-time state.
      const ids = (regs: { id: string; value: string }[]) => regs.filter((r) => /^0x603000000013c0/.test(r.id)).map((r) => `${r.id}=${r.value}`);
      expect(ids(c.registers)).toEqual(ids(want.registers));
    }
    expect(p.subsections).toEqual(fromStream.subsections);
  });

  it('is a destination: check infers QEMU 7.2 from it and agrees with the saved stream', () => {
    for (const src of [S72, S100]) {
      const viaProfile = JSON.parse(vmstate(['check', src, '--dest', out, '--json']).stdout);
      const viaStream = JSON.parse(vmstate(['check', src, '--dest', S72, '--json']).stdout);
      const point = /version (7\.2\.\d+)/.exec(version)![1];
      expect(viaProfile.facts.loader).toEqual({ name: 'qemu-7.2', from: `the profile's host.qemu (QEMU ${point})`, given: false });
      expect(viaProfile.facts.accel).toEqual({ value: 'tcg', from: "the profile's host.accel", given: false });
      expect(viaProfile.verdict).toBe(viaStream.verdict);
      expect(viaProfile.qemuLines).toEqual(viaStream.qemuLines);
    }
    // The 10.0 stream fails as real QEMU 7.2 fails it (samples/README.md, load outcomes).
    const r = JSON.parse(vmstate(['check', S100, '--dest', out, '--json']).stdout);
    expect(r.qemuLines[0]).toBe('Invalid value 329 expecting positive value <= 304');
  });

  it('leaves no scratch directory behind', () => {
    expect(leftovers()).toEqual(before);
  });
});

describe('profile --host: what cannot run', () => {
  it('KVM where this machine has none: QEMU refuses, exit 2 with its words', () => {
    const r = vmstate(['profile', '--host', '--accel', 'kvm']);
    if (existsSync('/dev/kvm')) {
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).host.accel).toBe('kvm');
    } else {
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^vmstate: QEMU exited with status 1: qemu-system-aarch64: .*kvm/m);
      expect(r.stdout).toBe('');
    }
  }, 60_000);

  it('a QEMU that is not there, a machine QEMU does not know', () => {
    const missing = vmstate(['profile', '--host', '--accel', 'tcg', '--qemu', join(dir, 'no-such-qemu')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/cannot run .*no-such-qemu: ENOENT/);
    const bad = vmstate(['profile', '--host', '--accel', 'tcg', '-M', 'no-such-machine']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/QEMU exited (before QMP was ready \(status 1\)|with status 1): qemu-system-aarch64: unsupported machine type/);
    expect(leftovers()).toEqual(before);
  }, 60_000);

  it('bad command lines are refused before QEMU starts', () => {
    for (const args of [
      ['profile', '--host', S72],
      ['profile', S72, '--cpu', 'max'],
      ['profile', S72, '--qemu', 'qemu-system-aarch64'],
      ['profile', '--host', '--smp', '0'],
      ['profile', '--host', '--accel', 'xen'],
    ]) {
      const r = vmstate(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
    }
  });
});
