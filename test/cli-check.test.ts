import { describe, expect, it, beforeAll } from 'vitest';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmstate } from './helpers/cli.js';
import { SAMPLES_DIR } from './helpers/samples.js';
import { withExtra } from './helpers/edit.js';

const sample = (p: string) => join(SAMPLES_DIR, p);
const dir = mkdtempSync(join(tmpdir(), 'vmstate-check-'));
const MAX72 = sample('qemu-7.2/virt-7.2_max.mig');


function check(args: string[]) {
  const r = vmstate(['check', ...args, '--json']);
  expect([0, 1], r.stderr).toContain(r.code);
  return { code: r.code, rep: JSON.parse(r.stdout) };
}

const kinds = (rep: { cpus: { anomalies: { kind: string; id: string | null; fatal: boolean }[] }[] }) =>
  rep.cpus[0]!.anomalies.map((a) => `${a.kind}${a.fatal ? '!' : ''} ${a.id ?? ''}`.trim());

describe('check: destination from a stream, a profile, a list', () => {
  it('agrees across the three destination forms for a cross-version stream', () => {
    const src = sample('qemu-10.0/virt-7.2_cortex-a57.mig');
    const dst = sample('qemu-7.2/virt-7.2_cortex-a57.mig');
    const prof = join(dir, 'a57.profile.json');
    expect(vmstate(['profile', dst, '-o', prof]).code).toBe(0);
    const list = join(dir, 'a57.list');
    writeFileSync(list, JSON.parse(readFileSync(prof, 'utf8')).cpus[0].registers.map((r: { id: string }) => r.id).join('\n') + '\n');
    const viaStream = check([src, '--dest', dst]);
    const viaProfile = check([src, '--dest', prof]);
    const viaList = check([src, '--dest', list]);
    for (const v of [viaStream, viaProfile, viaList]) {
      expect(v.code).toBe(1);
      expect(v.rep.verdict).toBe('reject');
      expect(v.rep.qemuError).toContain('Invalid value 275 expecting positive value <= 258');
    }
    expect(kinds(viaProfile.rep)).toEqual(kinds(viaStream.rep));
    // A list carries no values: the constant ID_DFR0 mismatch cannot be seen from it.
    expect(kinds(viaList.rep).filter((k) => k.startsWith('value-mismatch'))).toEqual([]);
    expect(kinds(viaStream.rep).filter((k) => k.startsWith('value-mismatch'))).toEqual(['value-mismatch! 0x40200000200f0082', 'value-mismatch! 0x603000000013c00a']);
  });

  it('accepts a stream against its own destination and refuses another machine type', () => {
    expect(check([MAX72, '--dest', MAX72]).rep.verdict).toBe('accept');
    const r = check([sample('qemu-10.0/virt-10.0_max.mig'), '--dest', MAX72]);
    expect(r.code).toBe(1);
    expect(r.rep.anomalies.map((a: { kind: string }) => a.kind)).toEqual(['machine-type']);
    expect(r.rep.qemuLines).toEqual(["Machine type received is 'virt-10.0' and local is 'virt-7.2'", 'load of migration failed: Invalid argument']);
    expect(r.rep.qemuError).toBe(r.rep.qemuLines.join('\n'));
  });

  it('reports the unknown cpu/wfxt-timer subsection of a QEMU 10.0 max stream on 7.2', () => {
    const r = check([sample('qemu-10.0/virt-7.2_max.mig'), '--dest', MAX72]);
    expect(kinds(r.rep)).toContain('unknown-subsection!');
    expect(r.rep.cpus[0].anomalies.find((a: { kind: string }) => a.kind === 'unknown-subsection').name).toBe('cpu/wfxt-timer');
  });
});

describe('check: the seed cases, with and without the matching preset', () => {
  let bmap: string, pir: string, dbg: string;
  beforeAll(async () => {
    bmap = await withExtra(MAX72, dir, 'bmap2.mig', [[0x6030000000160003n, 0n]]);
    pir = await withExtra(MAX72, dir, 'pir.mig', [[0x603000000013c103n, 0n], [0x603000000013c512n, 0n], [0x603000000013c513n, 0n]]);
    dbg = await withExtra(sample('qemu-10.0/virt-7.2_cortex-a57.mig'), dir, 'dbg.mig', [[0x40200000200e0298n, 0n]]);
  });

  it('VENDOR_HYP_BMAP_2 only in the stream', () => {
    const plain = check([bmap, '--dest', MAX72]);
    expect(plain.rep.verdict).toBe('reject');
    expect(kinds(plain.rep)[0]).toBe('count-bound!');
    const hidden = check([bmap, '--dest', MAX72, '--preset', 'kernel-compat-10.1']);
    expect(hidden.rep.verdict).toBe('accept');
    const prop = check([bmap, '--dest', MAX72, '--compat', 'x-mig-hidden-regs=0x6030000000160003']);
    expect(prop.rep.verdict).toBe('accept');
    const v111 = check([bmap, '--dest', MAX72, '--loader', 'qemu-11.1']);
    expect(v111.rep.verdict).toBe('reject');
    expect(kinds(v111.rep)).toContain('unexpected! 0x6030000000160003');
  });

  it('TCR2_EL1, PIRE0_EL1, PIR_EL1 only in the stream', () => {
    const plain = check([pir, '--dest', MAX72, '--loader', 'series-v6']);
    expect(plain.rep.verdict).toBe('reject');
    for (const id of ['0x603000000013c103', '0x603000000013c512', '0x603000000013c513']) expect(kinds(plain.rep)).toContain(`unexpected! ${id}`);
    const names = plain.rep.cpus[0].anomalies.filter((a: { kind: string }) => a.kind === 'unexpected').map((a: { name: string }) => a.name);
    expect(names).toEqual(['TCR2_EL1', 'PIRE0_EL1', 'PIR_EL1']);
    const ok = check([pir, '--dest', MAX72, '--loader', 'series-v6', '--compat', 'x-mig-safe-missing-regs=0x603000000013c103, 0x603000000013c512, 0x603000000013c513']);
    expect(ok.rep.verdict).toBe('accept');
    const preset = check([pir, '--dest', MAX72, '--loader', 'series-v6', '--preset', 'kernel-compat-10.1']);
    expect(preset.rep.verdict).toBe('accept');
  });

  it('the bogus AArch32 DBGDTR 0x40200000200e0298 only in the stream', () => {
    const dst = sample('qemu-10.0/virt-7.2_cortex-a57.mig');
    const plain = check([dbg, '--dest', dst, '--loader', 'series-v6']);
    expect(plain.rep.verdict).toBe('reject');
    expect(kinds(plain.rep)).toContain('unexpected! 0x40200000200e0298');
    const preset = check([dbg, '--dest', dst, '--loader', 'series-v6', '--preset', 'virt-10.2']);
    expect(preset.rep.verdict).toBe('accept');
  });
});
