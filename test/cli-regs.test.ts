import { describe, expect, it } from 'vitest';
import { vmstate } from './helpers/cli.js';
import { SAMPLES_DIR } from './helpers/samples.js';
import { join } from 'node:path';

const sample = (p: string) => join(SAMPLES_DIR, p);

describe('regs --lookup', () => {
  it('translates names and ids both ways', () => {
    const r = vmstate(['regs', '--lookup', 'tcr2_el1,PIRE0_EL1', '--lookup', '0x603000000013c513,0x6030000000160003,0x6030000000140000,0x6020000000110000,0x40200000200e0280,0x40200000200e0298', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout).registers.map((e: { id: string; name: string; fields: string }) => [e.id, e.name, e.fields]);
    expect(got).toEqual([
      ['0x603000000013c103', 'TCR2_EL1', 'op0:3 op1:0 crn:2 crm:0 op2:3'],
      ['0x603000000013c512', 'PIRE0_EL1', 'op0:3 op1:0 crn:10 crm:2 op2:2'],
      ['0x603000000013c513', 'PIR_EL1', 'op0:3 op1:0 crn:10 crm:2 op2:3'],
      ['0x6030000000160003', 'VENDOR_HYP_BMAP_2', 'fw feat reg 3'],
      ['0x6030000000140000', 'PSCI_VERSION', 'fw reg 0'],
      ['0x6020000000110000', 'CCSIDR_CSSELR_0_L1D', 'demuxed reg 6020000000110000'],
      ['0x40200000200e0280', 'DBGDTRTX', '40200000200e0280'],
      ['0x40200000200e0298', 'BOGUS_DBGDTR_EL0', '40200000200e0298'],
    ]);
  });

  it('names the timer ids by accelerator', () => {
    const tcg = JSON.parse(vmstate(['regs', '--lookup', '0x603000000013df1a', '--json']).stdout).registers[0];
    const kvm = JSON.parse(vmstate(['regs', '--lookup', '0x603000000013df1a,0x603000000013df02', '--accel', 'kvm', '--json']).stdout).registers;
    expect(tcg.name).toBe('CNTV_CVAL_EL0');
    expect(kvm.map((e: { name: string }) => e.name)).toEqual(['TIMER_CNT', 'TIMER_CVAL']);
  });

  it('refuses an unknown name with exit 2', () => {
    const r = vmstate(['regs', '--lookup', 'NOT_A_REGISTER']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown register 'NOT_A_REGISTER'");
  });
});

describe('regs on real streams', () => {
  it('names every register of a TCG stream, timer by architecture', () => {
    const r = JSON.parse(vmstate(['regs', sample('qemu-7.2/virt-7.2_max.mig'), '--cpu', '1', '--json']).stdout);
    expect(r.accel).toBe('tcg');
    expect(r.cpus.map((c: { instance: number }) => c.instance)).toEqual([1]);
    const regs = r.cpus[0].registers as { id: string; name: string | null }[];
    expect(regs.filter((e) => e.name === null)).toEqual([]);
    expect(regs.find((e) => e.id === '0x603000000013df1a')!.name).toBe('CNTV_CVAL_EL0');
  });
});

describe('diff', () => {
  it('shows what QEMU 10.0 (virt-7.2) saves for cortex-a57 that 7.2 does not (spec §6.7)', () => {
    const r = vmstate(['diff', sample('qemu-10.0/virt-7.2_cortex-a57.mig'), sample('qemu-7.2/virt-7.2_cortex-a57.mig'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout);
    expect(d.identical).toBe(false);
    for (const c of d.cpus) {
      expect(c.onlyA.map((e: { id: string }) => e.id)).toEqual([
        '0x40200000200e0002', '0x40200000200e0100', '0x40200000200e0182', '0x40200000200e0280', '0x40200000200e0302',
        '0x40200000200e0380', '0x40200000200e3c86', '0x40200000200f6001', '0x40200000200f6002', '0x6030000000138002',
        '0x6030000000138010', '0x603000000013801a', '0x6030000000138032', '0x60300000001383ce', '0x6030000000139820',
        '0x6030000000139828', '0x603000000013a038', '0x603000000013c602',
      ]);
      expect(c.onlyB.map((e: { id: string }) => e.id)).toEqual(['0x40200000200f3a00']);
      const dfr = c.differ.filter((e: { name: string }) => e.name.startsWith('ID_DFR0'));
      expect(dfr.map((e: { id: string }) => e.id)).toEqual(['0x40200000200f0082', '0x603000000013c00a']);
      expect(dfr[0].fields).toEqual([{ field: 'MMapTrc', a: '0x0', b: '0x1' }]);
    }
    const text = vmstate(['diff', sample('qemu-10.0/virt-7.2_cortex-a57.mig'), sample('qemu-7.2/virt-7.2_cortex-a57.mig')]);
    expect(text.stdout).toContain('ID_DFR0: MMapTrc 0x0 → 0x1');
  });

  it('finds no difference between a stream and itself', () => {
    const p = sample('qemu-7.2/virt-7.2_cortex-a15.mig');
    const d = JSON.parse(vmstate(['diff', p, p, '--json']).stdout);
    expect(d.identical).toBe(true);
  });
});
