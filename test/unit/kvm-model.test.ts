// The KVM model's parts on the values real kernels reported (samples/kvm/FINDINGS.md, the
// per-kernel tables): ID register writes per kernel, the other register classes, and what a
// destination's list says about its kernel. The whole loads are test/kvm-truth.test.ts.
import { describe, expect, it } from 'vitest';
import {
  KvmPut,
  idRegisterRefusals,
  kernelFromList,
  kernelFromRelease,
  kernelRules,
  parseKernelRelease,
  type KvmWrite,
} from '../../src/match/index.js';
import { sysregId, ccsidrDemuxId, fwRegId, fwFeatBmapId } from '../../src/regs/index.js';

const K61 = kernelRules([6, 1]);
const K612 = kernelRules([6, 12]);
const K72 = kernelRules([7, 2]);
const key = (id: bigint): number => Number(id & 0xffffn);

// Values of the same emulated CPU as KVM on 6.1, 6.12 and 7.2 reported them.
const MMFR1 = sysregId(3, 0, 0, 7, 1);
const MMFR1_61 = 0x10102010312122n; // HCX 0
const MMFR1_612 = 0x10112010312122n; // HCX 1
const MMFR2 = sysregId(3, 0, 0, 7, 2);
const MMFR2_612 = 0x1221011112011011n; // NV 2
const MMFR2_72 = 0x1221011110011011n; // NV 0
const MMFR3 = sysregId(3, 0, 0, 7, 3);
const ISAR2 = sysregId(3, 0, 0, 6, 2);
const ISAR2_61 = 0x100012n;
const ISAR2_612 = 0x120000000110012n;
const ISAR2_72 = 0x1120000000110012n;
const PFR2 = sysregId(3, 0, 0, 4, 2);
const FPMR = sysregId(3, 3, 4, 4, 2);
const SCTLR2 = sysregId(3, 0, 1, 0, 3);
const TCR2 = sysregId(3, 0, 2, 0, 3);
const CLIDR = sysregId(3, 1, 0, 0, 1);
const CTR = sysregId(3, 3, 0, 0, 1);
const PSCI = fwRegId(0);

describe('ID registers per kernel', () => {
  it('6.1: invariant, lower or higher', () => {
    expect(idRegisterRefusals(key(ISAR2), ISAR2_612, ISAR2_61, K61).refused.map((f) => f.field)).toEqual(['MOPS', 'CSSC', 'LUT']);
    expect(idRegisterRefusals(key(MMFR2), MMFR2_72, MMFR2_612, K61).refused).toEqual([{ field: 'NV', value: 0n, limit: 2n, why: 'fixed' }]);
  });

  it('6.12: lower values in writable fields pass; HCX and NV are fixed; higher values fail', () => {
    expect(idRegisterRefusals(key(ISAR2), ISAR2_61, ISAR2_612, K612).refused).toEqual([]);
    expect(idRegisterRefusals(key(MMFR1), MMFR1_61, MMFR1_612, K612).refused).toEqual([{ field: 'HCX', value: 0n, limit: 1n, why: 'fixed' }]);
    expect(idRegisterRefusals(key(MMFR2), MMFR2_72, MMFR2_612, K612).refused.map((f) => f.field)).toEqual(['NV']);
    expect(idRegisterRefusals(key(ISAR2), ISAR2_72, ISAR2_612, K612).refused).toEqual([{ field: 'ATS1A', value: 1n, limit: 0n, why: 'higher' }]);
    // SCTLRX is not writable before 6.17: 7.2's MMFR3 (SCTLRX 1) into 6.12 (SCTLRX 0).
    expect(idRegisterRefusals(key(MMFR3), 0x111n, 0x101n, K612).refused.map((f) => f.field)).toEqual(['SCTLRX']);
  });

  it('7.2: HCX and SCTLRX may be lowered; an NV the destination hides is taken as the hardware\'s', () => {
    expect(idRegisterRefusals(key(MMFR1), MMFR1_61, MMFR1_612, K72).refused).toEqual([]);
    expect(idRegisterRefusals(key(MMFR3), 0x101n, 0x111n, K72).refused).toEqual([]);
    const nv = idRegisterRefusals(key(MMFR2), MMFR2_612, MMFR2_72, K72);
    expect(nv.refused).toEqual([]);
    expect(nv.assumed[0]).toMatch(/NV 2 taken as the host hardware's/);
  });

  it('signed fields compare signed: FP 0xf (not implemented) is below 0', () => {
    const PFR0 = key(sysregId(3, 0, 0, 4, 0));
    // FP is not writable (AdvSIMD and FP are excluded from the mask), so it must equal.
    expect(idRegisterRefusals(PFR0, 0xf0000n, 0n, K612).refused[0]).toMatchObject({ field: 'FP', why: 'fixed' });
    // DoubleLock (signed, writable in ID_AA64DFR0_EL1): 0xf (-1) is lower than 0.
    const DFR0 = key(sysregId(3, 0, 0, 5, 0));
    expect(idRegisterRefusals(DFR0, 0xfn << 36n, 0n, K612).refused).toEqual([]);
    expect(idRegisterRefusals(DFR0, 0n, 0xfn << 36n, K612).refused[0]).toMatchObject({ field: 'DoubleLock', why: 'higher' });
  });
});

describe('a put: every register of the list, in order', () => {
  const own = (pairs: [bigint, bigint][]): Map<bigint, bigint> => new Map(pairs);
  const w = (id: bigint, value: bigint, fromStream = true): KvmWrite => ({ id, value, fromStream });

  it('a register the stream lacks is refused once the ID value written before it hides its feature', () => {
    const dest = own([[PFR2, 0x100000000n], [MMFR3, 0x111n], [SCTLR2, 0n], [TCR2, 0n], [FPMR, 0n]]);
    // The 6.1 stream: FPMR 0 in PFR2, MMFR3 0; SCTLR2, TCR2 and FPMR written back at reset.
    const writes = [w(PFR2, 0n), w(MMFR3, 0n), w(SCTLR2, 0n, false), w(TCR2, 0n, false), w(FPMR, 0n, false)];
    const on72 = new KvmPut(K72, dest).run(writes);
    expect(on72.map((r) => [r.id, r.errno, r.class, r.hiddenBy?.field])).toEqual([
      [SCTLR2, 'ENOENT', 'hidden-feature', 'SCTLRX'],
      [TCR2, 'ENOENT', 'hidden-feature', 'TCRX'],
      [FPMR, 'ENOENT', 'hidden-feature', 'FPMR'],
    ]);
    // 6.12 (no SCTLR2_EL1; TCR2_EL1 listed unconditionally before 6.13): only FPMR.
    const dest612 = own([[PFR2, 0x100000000n], [MMFR3, 0x101n], [TCR2, 0n], [FPMR, 0n]]);
    const writes612 = [w(PFR2, 0n), w(MMFR3, 0n), w(TCR2, 0n, false), w(FPMR, 0n, false)];
    expect(new KvmPut(K612, dest612).run(writes612).map((r) => r.id)).toEqual([FPMR]);
    // A refused ID write keeps the kernel's value in force: nothing is hidden then.
    expect(new KvmPut(K61, dest).run(writes).map((r) => [r.id, r.class])).toEqual([
      [PFR2, 'id-register'],
      [MMFR3, 'id-register'],
    ]);
  });

  it('cache geometry: invariant before 6.3; then any line size at least the host\'s', () => {
    const L1D = ccsidrDemuxId(0);
    const dest61 = own([[L1D, 0x701fe01an]]);
    expect(new KvmPut(K61, dest61).run([w(L1D, 0x2n)])[0]).toMatchObject({ errno: 'EINVAL', class: 'cache-geometry', current: 0x701fe01an });
    const dest612 = own([[L1D, 0x2n]]);
    expect(new KvmPut(K612, dest612).run([w(L1D, 0x701fe01an)])).toEqual([]);
    expect(new KvmPut(K612, dest612).run([w(L1D, 0x1n)])[0]!.reason).toMatch(/line size 32 bytes is below the host's smallest, 64/);
  });

  it('CLIDR: invariant before 6.3; then checked against CTR_EL0.IDC', () => {
    expect(new KvmPut(K61, own([[CLIDR, 0x123n]])).run([w(CLIDR, 0x1000004n)])[0]).toMatchObject({ class: 'cache-geometry' });
    // 6.1's real CLIDR (LoC 0) on 6.12 with IDC = 1: accepted; with IDC = 0: refused.
    expect(new KvmPut(K612, own([[CTR, 1n << 28n], [CLIDR, 0x1000004n]])).run([w(CLIDR, 0x123n)])).toEqual([]);
    expect(new KvmPut(K612, own([[CTR, 0n], [CLIDR, 0x1000004n]])).run([w(CLIDR, 0x123n)])).toHaveLength(1);
  });

  it('PSCI_VERSION: 1.3 from 6.13 only; bitmaps: only bits the kernel offers', () => {
    expect(new KvmPut(K612, own([[PSCI, 0x10001n]])).run([w(PSCI, 0x10003n)])[0]!.reason).toBe('PSCI 1.3 is not offered by this kernel (at most 1.1)');
    expect(new KvmPut(K72, own([[PSCI, 0x10003n]])).run([w(PSCI, 0x10001n)])).toEqual([]);
    const BMAP = fwFeatBmapId(2);
    expect(new KvmPut(K612, own([[BMAP, 0x3n]])).run([w(BMAP, 0x1n)])).toEqual([]);
    expect(new KvmPut(K612, own([[BMAP, 0x3n]])).run([w(BMAP, 0x7n)])[0]).toMatchObject({ class: 'firmware-bitmap' });
  });
});

describe('which kernel a destination is', () => {
  it('a release string: uname -r or major.minor', () => {
    expect(parseKernelRelease('6.12.118+deb13-arm64')).toEqual([6, 12]);
    expect(parseKernelRelease('7.2.13+deb14-arm64')).toEqual([7, 2]);
    expect(parseKernelRelease('6.1.0-57-arm64')).toEqual([6, 1]);
    expect(parseKernelRelease('6.12')).toEqual([6, 12]);
    expect(parseKernelRelease('linux')).toBeNull();
    expect(kernelFromRelease('6.12.118+deb13-arm64', 'profile')).toMatchObject({ version: [6, 12], exact: true, from: 'profile' });
  });

  it('a list: CCSIDR selectors and PSCI_VERSION, said to be assumed', () => {
    const ccsidr = (n: number[]): bigint[] => n.map(ccsidrDemuxId);
    const k61 = kernelFromList([...ccsidr([0, 1, 2, 4]), PSCI], [...[0n, 0n, 0n, 0n], 0x10001n]);
    expect(k61).toMatchObject({ version: [6, 1], exact: false, from: 'list' });
    expect(k61.evidence).toMatch(/CCSIDR for 4 of 14 cache selectors: Linux before 6.3; assumed 6.1/);
    const all = ccsidr([...Array(14).keys()]);
    expect(kernelFromList([...all, PSCI], [...all.map(() => 2n), 0x10001n]).version).toEqual([6, 12]);
    const k72 = kernelFromList([...all, SCTLR2, PSCI], [...all.map(() => 2n), 0n, 0x10003n]);
    expect(k72.version).toEqual([7, 2]);
    expect(k72.evidence).toMatch(/PSCI_VERSION 1\.3: Linux 6\.13 or later; assumed 7\.2.*lists SCTLR2_EL1/);
  });
});
