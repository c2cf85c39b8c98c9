import { describe, expect, it } from 'vitest';
import { cp32Id, cp64Id, idRegisterFields, isIdRegister, sysregId } from '../../src/regs/index.js';

describe('isIdRegister', () => {
  it.each([
    ['MIDR_EL1', sysregId(3, 0, 0, 0, 0)],
    ['MPIDR_EL1', sysregId(3, 0, 0, 0, 5)],
    ['ID_AA64ISAR1_EL1', sysregId(3, 0, 0, 6, 1)],
    ['ID_AA64PFR3_EL1_RESERVED', sysregId(3, 0, 0, 4, 3)],
    ['CTR_EL0', sysregId(3, 3, 0, 0, 1)],
    ['DCZID_EL0', sysregId(3, 3, 0, 0, 7)],
    ['CLIDR_EL1', sysregId(3, 1, 0, 0, 1)],
    ['AArch32 MIDR', cp32Id({ cp: 15, opc1: 0, crn: 0, crm: 0, opc2: 0 })],
    ['AArch32 ID_DFR0', 0x40200000200f0082n],
    ['AArch32 RES_0_C0_C8_X', 0x40200000200f0400n],
    ['DBGDIDR', 0x40200000200e0000n],
    ['DBGDEVID (QEMU encoding)', 0x40200000200e3802n],
    ['DBGDEVID2 (QEMU encoding)', 0x40200000200e3800n],
    ['DBGDEVID (architectural encoding)', cp32Id({ cp: 14, opc1: 0, crn: 7, crm: 2, opc2: 7 })],
    ['JIDR', 0x40200000200e0038n],
  ])('%s is one', (_name, id) => {
    expect(isIdRegister(id)).toBe(true);
  });

  it.each([
    ['CSSELR_EL1', sysregId(3, 2, 0, 0, 0)],
    ['VPIDR_EL2', sysregId(3, 4, 0, 0, 0)],
    ['SCTLR_EL1', sysregId(3, 0, 1, 0, 0)],
    ['OSDTRRX_EL1', sysregId(2, 0, 0, 0, 2)],
    ['AArch32 CSSELR', 0x40200000000f0010n],
    ['AArch32 TTBR0 (64-bit, CRn field 0)', cp64Id({ cp: 15, opc1: 0, crm: 2 })],
    ['DBGBVR0', 0x40200000200e0004n],
    ['PSCI_VERSION', 0x6030000000140000n],
  ])('%s is not', (_name, id) => {
    expect(isIdRegister(id)).toBe(false);
  });
});

describe('idRegisterFields', () => {
  it('names ID_DFR0 fields in both views (10.0 vs 7.2 cortex-a57 value)', () => {
    const want = [{ field: 'MMapTrc', a: 0n, b: 1n }];
    expect(idRegisterFields(0x40200000200f0082n, 0x3000006n, 0x3010006n)).toEqual(want);
    expect(idRegisterFields(0x603000000013c00an, 0x3000006n, 0x3010006n)).toEqual(want);
    expect(idRegisterFields(0x40200000200f0082n, 0x03010006n, 0x14010006n)).toEqual([
      { field: 'PerfMon', a: 3n, b: 4n },
      { field: 'TraceFilt', a: 0n, b: 1n },
    ]);
  });

  it('names AArch64 ID register fields', () => {
    const isar1 = sysregId(3, 0, 0, 6, 1);
    expect(idRegisterFields(isar1, 0x11111101211012n, 0x11111101211002n)).toEqual([{ field: 'APA', a: 1n, b: 0n }]);
    const pfr0 = sysregId(3, 0, 0, 4, 0);
    expect(idRegisterFields(pfr0, 0x1101000010011111n, 0x0101000010011112n)).toEqual([
      { field: 'EL0', a: 1n, b: 2n },
      { field: 'CSV3', a: 1n, b: 0n },
    ]);
    const mmfr0 = sysregId(3, 0, 0, 7, 0);
    expect(idRegisterFields(mmfr0, 0x5n, 0x6n)).toEqual([{ field: 'PARange', a: 5n, b: 6n }]);
  });

  it('uses MIDR and CTR layouts', () => {
    expect(idRegisterFields(sysregId(3, 0, 0, 0, 0), 0x411fd070n, 0x410fd034n)).toEqual([
      { field: 'Revision', a: 0n, b: 4n },
      { field: 'PartNum', a: 0xd07n, b: 0xd03n },
      { field: 'Variant', a: 1n, b: 0n },
    ]);
    // AArch32 CTR (c0,c0,1) maps to CTR_EL0's layout.
    expect(idRegisterFields(0x40200000200f0001n, 0x84448004n, 0x8444c004n)).toEqual([{ field: 'L1Ip', a: 2n, b: 3n }]);
  });

  it('reports RES0 bits of a named register as nibbles', () => {
    expect(idRegisterFields(sysregId(3, 0, 0, 6, 0), 0x1n, 0x0n)).toEqual([{ field: 'bits[3:0]', a: 1n, b: 0n }]);
  });

  it('falls back to nibbles for other registers', () => {
    expect(idRegisterFields(sysregId(3, 0, 2, 0, 2), 0x10n, 0x2000000000000020n)).toEqual([
      { field: 'bits[7:4]', a: 1n, b: 2n },
      { field: 'bits[63:60]', a: 0n, b: 2n },
    ]);
    // 32-bit ids only have eight nibbles.
    expect(idRegisterFields(0x40200000200e0000n, 0x3515f005n, 0x3515f006n)).toEqual([{ field: 'bits[3:0]', a: 5n, b: 6n }]);
    expect(idRegisterFields(0x40200000200e0000n, 7n, 7n)).toEqual([]);
  });
});
