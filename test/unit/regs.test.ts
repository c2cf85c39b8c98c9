import { describe, expect, it } from 'vitest';
import {
  AARCH32_CPREG_NAMES,
  AARCH32_SECURE_NAMES,
  AARCH64_SYSREG_NAMES,
  KVM_PSEUDO_NAMES,
  KVM_TIMER_NAMES,
} from '../../src/regs/names.generated.js';
import {
  ccsidrDemuxId,
  coreId,
  cp32Id,
  cp64Id,
  cpFieldText,
  cpregKeyToId,
  decodeRegId,
  fwFeatBmapId,
  fwRegId,
  hex64,
  idToCpregKey,
  inferAccel,
  lookupRegs,
  qemuFieldText,
  regAliases,
  regFieldText,
  regLabel,
  regName,
  SVE_VLS_ID,
  sveFfrId,
  svePregId,
  sveZregId,
  sysregId,
} from '../../src/regs/index.js';

const SYSREG_BASE = 0x6030000000130000n;

describe('required names', () => {
  it.each([
    [0x603000000013c103n, 'TCR2_EL1'],
    [0x603000000013c512n, 'PIRE0_EL1'],
    [0x603000000013c513n, 'PIR_EL1'],
    [0x6030000000160003n, 'VENDOR_HYP_BMAP_2'],
    [0x6030000000140000n, 'PSCI_VERSION'],
    [0x6020000000110000n, 'CCSIDR_CSSELR_0_L1D'],
    [0x40200000200e0280n, 'DBGDTRTX'],
    [0x40200000200e0298n, 'BOGUS_DBGDTR_EL0'],
  ].map(([id, name]) => ({ hex: hex64(id as bigint), id: id as bigint, name: name as string })))('$hex is $name', ({ id, name }) => {
    expect(regName(id)).toBe(name);
    expect(lookupRegs(name)).toContain(id);
  });

  it('keeps the KVM_REG_ARM_ names as aliases and finds both forms', () => {
    expect(regAliases(0x6030000000160003n)).toEqual(['KVM_REG_ARM_VENDOR_HYP_BMAP_2']);
    expect(lookupRegs('VENDOR_HYP_BMAP_2')).toEqual([0x6030000000160003n]);
    expect(lookupRegs('KVM_REG_ARM_VENDOR_HYP_BMAP_2')).toEqual([0x6030000000160003n]);
    expect(lookupRegs('kvm_reg_arm_psci_version')).toEqual([0x6030000000140000n]);
    expect(lookupRegs('KVM_REG_ARM64_SVE_VLS')).toEqual([SVE_VLS_ID]);
  });

  it('names the multi-name encodings deterministically', () => {
    const dbgdtrx = sysregId(2, 3, 0, 5, 0);
    expect(regName(dbgdtrx)).toBe('DBGDTRTX_EL0');
    expect(regAliases(dbgdtrx)).toEqual(['DBGDTRRX_EL0']);
    expect(lookupRegs('dbgdtrrx_el0')).toEqual([dbgdtrx]);
    expect(regName(sysregId(2, 3, 0, 4, 0))).toBe('DBGDTR_EL0');
    expect(regName(sysregId(3, 3, 13, 4, 0))).toBe('AMEVCNTR00_EL0');
    expect(regAliases(sysregId(3, 3, 13, 4, 0))).toContain('AMEVCNTR0_CORE_EL0');
    expect(regName(sysregId(3, 4, 12, 9, 4))).toBe('ICH_HFGRTR_EL2');
    expect(regAliases(0x40200000200e0280n)).toEqual(['DBGDTRTXint', 'DBGDTRRXint']);
    expect(regAliases(0x40200000200e0298n)).toEqual(['DBGDTR_EL0']);
  });

  it('names QEMU-only encodings (reserved ID slots, EL3, impdef)', () => {
    expect(regName(sysregId(3, 0, 0, 4, 3))).toBe('ID_AA64PFR3_EL1_RESERVED');
    expect(regName(sysregId(3, 6, 1, 1, 0))).toBe('SCR_EL3');
    expect(regName(sysregId(3, 1, 15, 3, 0))).toBe('CBAR_EL1');
    // Linux name first, QEMU's as alias.
    expect(regName(sysregId(3, 0, 0, 1, 2))).toBe('ID_DFR0_EL1');
    expect(regAliases(sysregId(3, 0, 0, 1, 2))).toEqual(['ID_DFR0']);
  });

  it('returns null for unknown ids and malformed ones', () => {
    expect(regName(sysregId(3, 7, 15, 15, 7))).toBeNull();
    expect(regName(0x603000001013c103n)).toBeNull(); // bit 28 set: QEMU's key flag, not an id
    expect(regName(0x602000000013c103n)).toBeNull(); // sysreg ids are always U64
    expect(regName(0x40300000200f0800n)).toBeNull(); // 64-bit id with CRn set
    expect(regName(0x6030000000140009n)).toBeNull();
    expect(regLabel(sysregId(3, 7, 15, 15, 7))).toBe('op0:3 op1:7 crn:15 crm:15 op2:7');
  });
});

describe('AArch32 secure banks', () => {
  it('suffixes _S for bit-29-clear ids, except Secure-only definitions', () => {
    expect(regName(0x40200000200f6800n)).toBe('FCSEIDR');
    expect(regName(0x40200000000f6800n)).toBe('FCSEIDR_S');
    expect(regName(0x40200000200f6801n)).toBe('CONTEXTIDR_EL1');
    expect(regName(0x40200000000f6801n)).toBe('CONTEXTIDR_S');
    expect(regAliases(0x40200000000f6801n)).toEqual(['CONTEXTIDR_EL1_S']);
    expect(regName(0x40200000000f0800n)).toBe('SCTLR_EL1_S');
    expect(regName(0x40300000000f0380n)).toBe('PAR_S');
    expect(regName(0x40300000000f0710n)).toBe('CNTP_CVAL_S');
    expect(lookupRegs('SCTLR_S')).toEqual([0x40200000000f0800n]);
    expect(lookupRegs('cntp_cval_s')).toEqual([0x40300000000f0710n]);
  });

  it('names 64-bit registers', () => {
    expect(regName(cp64Id({ cp: 15, opc1: 0, crm: 2 }))).toBe('TTBR0');
    expect(regName(0x40300000200f0718n)).toBe('CNTV_CVAL');
    expect(regName(0x40300000200e0080n)).toBe('DBGDRAR');
    expect(regName(0x40200000200e0800n)).toBe('DBGDRAR');
  });

  it('names the v8 RAZ ID space from the run-time-named wildcard definitions', () => {
    expect(regName(0x40200000200f0400n)).toBe('RES_0_C0_C8_X');
    expect(regName(0x40200000200f0200n)).toBe('RES_0_C0_C4_X');
    expect(regAliases(0x40200000200f0200n)).toEqual(['DUMMY']);
  });
});

describe('round trips over every table entry', () => {
  it('AArch64 sysregs', () => {
    for (const [key, name, ...aliases] of AARCH64_SYSREG_NAMES) {
      const id = SYSREG_BASE | BigInt(key);
      expect(regName(id)).toBe(name);
      for (const n of [name, ...aliases]) expect(lookupRegs(n)).toContain(id);
      expect(regAliases(id)).toEqual(expect.arrayContaining(aliases));
    }
  });

  it('KVM timer names', () => {
    for (const [key, name, ...aliases] of KVM_TIMER_NAMES) {
      const id = SYSREG_BASE | BigInt(key);
      expect(regName(id, 'kvm')).toBe(name);
      for (const n of [name, ...aliases]) expect(lookupRegs(n)).toContain(id);
    }
  });

  it('AArch32 cp14/cp15, both banks', () => {
    const secureOnly = new Map(AARCH32_SECURE_NAMES);
    for (const [key, name, ...aliases] of AARCH32_CPREG_NAMES) {
      const f = { cp: key >> 16, opc1: (key >> 3) & 15, crn: (key >> 11) & 15, crm: (key >> 7) & 15, opc2: key & 7 };
      const is64 = (key & 0x8000) !== 0;
      const ns = is64 ? cp64Id(f) : cp32Id(f);
      const s = is64 ? cp64Id({ ...f, ns: false }) : cp32Id({ ...f, ns: false });
      expect(regName(ns)).toBe(name);
      for (const n of [name, ...aliases]) expect(lookupRegs(n)).toContain(ns);
      const sName = secureOnly.get(key) ?? `${name}_S`;
      expect(regName(s)).toBe(sName);
      expect(lookupRegs(sName)).toContain(s);
      expect(idToCpregKey(ns)).toBe((key | 0x20000000) >>> 0);
      expect(cpregKeyToId((key | 0x20000000) >>> 0)).toBe(ns);
    }
  });

  it('KVM pseudo-registers', () => {
    for (const [id, name, ...aliases] of KVM_PSEUDO_NAMES) {
      expect(regName(id)).toBe(name);
      for (const n of [name, ...aliases]) expect(lookupRegs(n)).toContain(id);
    }
  });
});

describe('timer ids by accelerator', () => {
  const cnt = 0x603000000013df1an;
  const cval = 0x603000000013df02n;
  it('follows the KVM ABI swap under KVM and the architecture under TCG', () => {
    expect(regName(cnt, 'kvm')).toBe('TIMER_CNT');
    expect(regName(cval, 'kvm')).toBe('TIMER_CVAL');
    expect(regName(cnt, 'tcg')).toBe('CNTV_CVAL_EL0');
    expect(regName(cval, 'tcg')).toBe('CNTVCT_EL0');
    expect(regName(cnt)).toBe('CNTV_CVAL_EL0');
    expect(regAliases(cnt, 'kvm')).toEqual(['KVM_REG_ARM_TIMER_CNT']);
    expect(regAliases(cnt, 'tcg')).toEqual([]);
  });

  it('keeps architectural names as aliases where KVM did not swap', () => {
    expect(regName(0x603000000013df19n, 'kvm')).toBe('TIMER_CTL');
    expect(regAliases(0x603000000013df19n, 'kvm')).toContain('CNTV_CTL_EL0');
    expect(regName(0x603000000013df19n, 'tcg')).toBe('CNTV_CTL_EL0');
    expect(regAliases(0x603000000013df19n, 'tcg')).toContain('TIMER_CTL');
    expect(regName(0x603000000013df01n, 'kvm')).toBe('PTIMER_CNT');
  });

  it('looks architectural names up by meaning under KVM', () => {
    expect(lookupRegs('CNTV_CVAL_EL0')).toEqual([cnt]);
    expect(lookupRegs('CNTV_CVAL_EL0', 'kvm')).toEqual([cval]);
    expect(lookupRegs('CNTVCT_EL0', 'kvm')).toEqual([cnt]);
    expect(lookupRegs('TIMER_CNT', 'kvm')).toEqual([cnt]);
  });
});

describe('lookupRegs query forms', () => {
  it('accepts hex ids, assembler and QEMU forms', () => {
    expect(lookupRegs('0x603000000013C103')).toEqual([0x603000000013c103n]);
    expect(lookupRegs('S3_0_C2_C0_3')).toEqual([0x603000000013c103n]);
    expect(lookupRegs('op0:3 op1:0 crn:10 crm:2 op2:2')).toEqual([0x603000000013c512n]);
    expect(lookupRegs('fw reg 0')).toEqual([0x6030000000140000n]);
    expect(lookupRegs('fw feat reg 3')).toEqual([0x6030000000160003n]);
    expect(lookupRegs('op0:9 op1:0 crn:0 crm:0 op2:0')).toEqual([]);
    expect(lookupRegs('NO_SUCH_REGISTER')).toEqual([]);
  });

  it('returns every id carrying a name, ascending', () => {
    expect(lookupRegs('tcr2_el1')).toEqual([0x603000000013c103n]);
    expect(lookupRegs('SCTLR_EL1')).toEqual([0x40200000200f0800n, 0x603000000013c080n]);
  });
});

describe('QEMU kvm_print_register_name formatting', () => {
  it.each([
    [0x603000000013c103n, 'op0:3 op1:0 crn:2 crm:0 op2:3'],
    [0x603000000013c512n, 'op0:3 op1:0 crn:10 crm:2 op2:2'],
    [0x603000000013c513n, 'op0:3 op1:0 crn:10 crm:2 op2:3'],
    [0x6030000000160003n, 'fw feat reg 3'],
    [0x6030000000140000n, 'fw reg 0'],
    [0x6030000000140002n, 'fw reg 2'],
    [0x40200000200e0298n, '40200000200e0298'],
    [0x40300000200f0100n, '40300000200f0100'],
    [0x6020000000110000n, 'demuxed reg 6020000000110000'],
    [0x6030000000100040n, 'core reg 6030000000100040'],
    [SVE_VLS_ID, 'SVE VLS'],
    [sveZregId(3, 0), 'SVE zreg n:3 slice:0'],
    [sveZregId(31, 2), 'SVE zreg n:31 slice:2'],
    [svePregId(1, 0), 'SVE ???'],
    [sveFfrId(0), 'SVE ???'],
    [0x1000000000000001n, '1000000000000001'],
  ].map(([id, text]) => ({ hex: hex64(id as bigint), id: id as bigint, text: text as string })))('$hex → $text', ({ id, text }) => {
    expect(qemuFieldText(id)).toBe(text);
  });

  it('renders AArch32 fields where QEMU prints hex', () => {
    expect(cpFieldText(0x40200000200f0800n)).toBe('p15 opc1:0 crn:1 crm:0 opc2:0 ns');
    expect(cpFieldText(0x40200000000f0800n)).toBe('p15 opc1:0 crn:1 crm:0 opc2:0 s');
    expect(cpFieldText(0x40300000200f0100n)).toBe('p15 64-bit opc1:0 crm:2 ns');
    expect(cpFieldText(0x40200000200e0298n)).toBe('p14 opc1:3 crn:0 crm:5 opc2:0 ns');
    expect(cpFieldText(0x603000000013c103n)).toBeNull();
    expect(regFieldText(0x40200000200e0298n)).toBe('p14 opc1:3 crn:0 crm:5 opc2:0 ns');
    expect(regFieldText(svePregId(1, 0))).toBe('SVE preg n:1 slice:0');
    expect(regFieldText(0x603000000013c103n)).toBe('op0:3 op1:0 crn:2 crm:0 op2:3');
  });

  it('hex64 pads to 16 lowercase digits', () => {
    expect(hex64(0x13c103n)).toBe('0x000000000013c103');
    expect(hex64(0x603000000013DF1An)).toBe('0x603000000013df1a');
    expect(hex64(-1n)).toBe('0xffffffffffffffff');
  });
});

describe('decodeRegId / encoders', () => {
  it('decodes sysregs', () => {
    const d = decodeRegId(0x603000000013c512n);
    expect(d).toMatchObject({ arch: 'arm64', size: 64, group: 0x13, groupName: 'sysreg', op0: 3, op1: 0, crn: 10, crm: 2, op2: 2 });
    expect(sysregId(3, 0, 10, 2, 2)).toBe(0x603000000013c512n);
    expect(() => sysregId(4, 0, 0, 0, 0)).toThrow(RangeError);
  });

  it('decodes AArch32 ids with QEMU bit 29 and the size-derived is64', () => {
    expect(decodeRegId(0x40200000200e0298n)).toMatchObject({
      arch: 'arm',
      size: 32,
      groupName: 'cp14',
      cp: 14,
      opc1: 3,
      crn: 0,
      crm: 5,
      opc2: 0,
      is64: false,
      ns: true,
    });
    expect(decodeRegId(0x40300000000f0710n)).toMatchObject({ groupName: 'cp15', is64: true, ns: false, opc1: 2, crm: 14 });
    expect(cp32Id({ cp: 14, opc1: 3, crn: 0, crm: 5, opc2: 0 })).toBe(0x40200000200e0298n);
    expect(cp32Id({ cp: 15, opc1: 0, crn: 13, crm: 0, opc2: 0, ns: false })).toBe(0x40200000000f6800n);
    expect(cp64Id({ cp: 15, opc1: 3, crm: 14 })).toBe(0x40300000200f0718n);
  });

  it('decodes core registers', () => {
    expect(decodeRegId(0x6030000000100000n)).toMatchObject({ groupName: 'core', coreName: 'X0' });
    expect(decodeRegId(0x603000000010003cn)).toMatchObject({ coreName: 'X30' });
    expect(decodeRegId(0x6030000000100042n)).toMatchObject({ coreName: 'PSTATE' });
    expect(decodeRegId(0x6030000000100050n)).toMatchObject({ coreName: 'SPSR_FIQ' });
    expect(decodeRegId(0x60400000001000d0n)).toMatchObject({ coreName: 'V31', size: 128 });
    expect(decodeRegId(0x60200000001000d5n)).toMatchObject({ coreName: 'FPCR', size: 32 });
    expect(decodeRegId(0x6030000000100052n)).toMatchObject({ coreName: null });
    expect(coreId(0x54, 128)).toBe(0x6040000000100054n);
  });

  it('decodes every core id in the table to its table name', () => {
    for (const [id, name] of KVM_PSEUDO_NAMES) {
      const d = decodeRegId(id);
      if (d.groupName === 'core') expect(d.coreName).toBe(name);
    }
  });

  it('decodes demux, firmware and SVE ids; any size is legal', () => {
    expect(decodeRegId(ccsidrDemuxId(3))).toMatchObject({ groupName: 'demux', size: 32, demuxId: 0, csselr: 3 });
    expect(decodeRegId(fwRegId(2))).toMatchObject({ groupName: 'fw', reg: 2 });
    expect(decodeRegId(fwFeatBmapId(3))).toMatchObject({ groupName: 'fw-feat-bmap', reg: 3 });
    expect(decodeRegId(sveZregId(5, 1))).toMatchObject({ groupName: 'sve', sveKind: 'z', n: 5, slice: 1, size: 2048 });
    expect(decodeRegId(svePregId(15, 0))).toMatchObject({ sveKind: 'p', n: 15, slice: 0, size: 256 });
    expect(decodeRegId(sveFfrId(0))).toMatchObject({ sveKind: 'ffr', size: 256 });
    expect(decodeRegId(SVE_VLS_ID)).toMatchObject({ sveKind: 'vls', size: 512 });
    expect(decodeRegId(0x6000000000130000n)).toMatchObject({ groupName: 'sysreg', size: 8 });
    expect(decodeRegId(0x2030000000000000n)).toMatchObject({ arch: 'other', groupName: 'unknown' });
    expect(regName(sveZregId(5, 1))).toBe('Z5_SLICE1');
    expect(regName(ccsidrDemuxId(13))).toBe('CCSIDR_CSSELR_13_L7I');
  });
});

describe('inferAccel', () => {
  it('AArch32 ids mean TCG, even next to a KVM id', () => {
    expect(inferAccel([0x40200000200f0800n, 0x603000000013c080n])).toBe('tcg');
    expect(inferAccel([0x40200000200f0800n, 0x603000000013c080n, 0x6030000000160003n])).toBe('tcg');
  });
  it('firmware, bitmap, demux and KVM-only timer ids mean KVM', () => {
    expect(inferAccel([0x603000000013c080n, fwRegId(0)])).toBe('kvm');
    expect(inferAccel([fwFeatBmapId(0)])).toBe('kvm');
    expect(inferAccel([ccsidrDemuxId(0), 0x603000000013c080n])).toBe('kvm');
    expect(inferAccel([0x603000000013df02n])).toBe('kvm');
  });
  it('defaults to TCG', () => {
    expect(inferAccel([0x603000000013c080n, 0x603000000013df1an])).toBe('tcg');
    expect(inferAccel([])).toBe('tcg');
  });
});

describe('a KVM-style register list', () => {
  // Shaped like KVM_GET_REG_LIST on an arm64 host minus CORE/SVE (get-reg-list.c's base list).
  const sys: [number, number, number, number, number][] = [
    [2, 0, 0, 0, 2], [2, 0, 0, 0, 4], [2, 0, 0, 0, 5], [2, 0, 0, 0, 6], [2, 0, 0, 0, 7],
    [2, 0, 0, 2, 0], [2, 0, 0, 2, 2], [2, 0, 0, 3, 2], [2, 0, 0, 6, 2], [2, 0, 1, 0, 4],
    [2, 0, 1, 1, 4], [2, 0, 1, 3, 4], [2, 0, 7, 8, 6], [2, 0, 7, 9, 6], [2, 0, 7, 14, 6],
    [2, 3, 0, 1, 0], [2, 3, 0, 4, 0], [2, 4, 0, 7, 0],
    [3, 0, 0, 0, 0], [3, 0, 0, 0, 5], [3, 0, 0, 0, 6], [3, 0, 0, 1, 0], [3, 0, 0, 1, 2],
    [3, 0, 0, 4, 0], [3, 0, 0, 4, 1], [3, 0, 0, 4, 3], [3, 0, 0, 4, 4], [3, 0, 0, 5, 0],
    [3, 0, 0, 6, 0], [3, 0, 0, 6, 1], [3, 0, 0, 6, 2], [3, 0, 0, 7, 0], [3, 0, 0, 7, 1],
    [3, 0, 0, 7, 2], [3, 0, 1, 0, 0], [3, 0, 1, 0, 1], [3, 0, 1, 0, 2], [3, 0, 2, 0, 0],
    [3, 0, 2, 0, 1], [3, 0, 2, 0, 2], [3, 0, 2, 0, 3], [3, 0, 4, 0, 0], [3, 0, 4, 0, 1],
    [3, 0, 4, 1, 0], [3, 0, 5, 1, 0], [3, 0, 5, 1, 1], [3, 0, 5, 2, 0], [3, 0, 6, 0, 0],
    [3, 0, 7, 4, 0], [3, 0, 9, 14, 1], [3, 0, 9, 14, 2], [3, 0, 10, 2, 0], [3, 0, 10, 2, 2],
    [3, 0, 10, 2, 3], [3, 0, 10, 3, 0], [3, 0, 12, 0, 0], [3, 0, 13, 0, 1], [3, 0, 13, 0, 4],
    [3, 0, 14, 1, 0], [3, 1, 0, 0, 0], [3, 1, 0, 0, 1], [3, 1, 0, 0, 7], [3, 2, 0, 0, 0],
    [3, 3, 0, 0, 1], [3, 3, 0, 0, 7], [3, 3, 9, 12, 0], [3, 3, 9, 12, 1], [3, 3, 9, 12, 2],
    [3, 3, 9, 12, 3], [3, 3, 9, 12, 4], [3, 3, 9, 12, 5], [3, 3, 9, 13, 0], [3, 3, 9, 14, 0],
    [3, 3, 9, 14, 3], [3, 3, 13, 0, 2], [3, 3, 13, 0, 3], [3, 3, 14, 0, 1], [3, 3, 14, 0, 2],
    [3, 3, 14, 3, 1], [3, 3, 14, 3, 2], [3, 3, 14, 2, 1], [3, 3, 14, 2, 2], [3, 3, 14, 0, 1],
    [3, 3, 14, 15, 7], [3, 4, 3, 0, 0], [3, 4, 5, 0, 1], [3, 4, 14, 0, 3],
    ...Array.from({ length: 31 }, (_, n): [number, number, number, number, number] => [3, 3, 14, 8 | (n >> 3), n & 7]),
    ...Array.from({ length: 31 }, (_, n): [number, number, number, number, number] => [3, 3, 14, 12 | (n >> 3), n & 7]),
  ];
  const ids = [
    ...[0, 1, 2, 3, 4, 5, 6].map(ccsidrDemuxId),
    ...sys.map((e) => sysregId(...e)),
    ...[0, 1, 2, 3].map(fwRegId),
    ...[0, 1, 2, 3].map(fwFeatBmapId),
  ].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  it('is recognised as KVM and every id has a name', () => {
    expect(inferAccel(ids)).toBe('kvm');
    const unnamed = ids.filter((id) => regName(id, 'kvm') === null).map(hex64);
    expect(unnamed).toEqual([]);
  });

  it('uses the KVM names for the timer and firmware ids', () => {
    const names = ids.map((id) => regName(id, 'kvm'));
    expect(names).toEqual(
      expect.arrayContaining([
        'TIMER_CNT',
        'TIMER_CVAL',
        'TIMER_CTL',
        'PTIMER_CNT',
        'PTIMER_CVAL',
        'PTIMER_CTL',
        'PSCI_VERSION',
        'SMCCC_ARCH_WORKAROUND_1',
        'SMCCC_ARCH_WORKAROUND_2',
        'SMCCC_ARCH_WORKAROUND_3',
        'STD_BMAP',
        'STD_HYP_BMAP',
        'VENDOR_HYP_BMAP',
        'VENDOR_HYP_BMAP_2',
        'CCSIDR_CSSELR_6_L4D',
      ]),
    );
    expect(regName(sysregId(3, 4, 14, 0, 3), 'kvm')).toBe('CNTVOFF_EL2');
  });
});
