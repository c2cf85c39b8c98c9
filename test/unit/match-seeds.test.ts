// The real cases behind the loaders and presets, each with and without the matching preset.
import { describe, expect, it } from 'vitest';
import { matchCpu, type Anomaly, type CpuVerdict, type DestinationCpu, type IncomingCpu } from '../../src/match/index.js';
import { presetPolicy, type Policy } from '../../src/policy/index.js';
import type { Accel } from '../../src/regs/index.js';

const TCR2 = 0x603000000013c103n;
const PIRE0 = 0x603000000013c512n;
const PIR = 0x603000000013c513n;
const BMAP2 = 0x6030000000160003n;
const DBGDTR = 0x40200000200e0298n;

const byId = (a: bigint, b: bigint): number => (a < b ? -1 : a > b ? 1 : 0);

// A KVM host's list: sysregs, firmware registers, bitmaps (always at the tail).
const KVM_DEST = [
  0x603000000013c000n, // MIDR_EL1
  0x603000000013c080n, // SCTLR_EL1
  0x603000000013c100n, // TTBR0_EL1
  0x603000000013c102n, // TCR_EL1
  0x603000000013de82n, // TPIDR_EL0
  0x6030000000140000n, // PSCI_VERSION
  0x6030000000160000n, // STD_BMAP
  0x6030000000160001n, // STD_HYP_BMAP
  0x6030000000160002n, // VENDOR_HYP_BMAP
];
// A TCG list without the bogus DBGDTRTX.
const TCG_DEST = [0x40200000200e0000n, 0x40200000200e0002n, 0x40200000200e0300n, 0x40200000200f0000n, 0x603000000013c080n];

const destOf = (ids: bigint[]): DestinationCpu => ({ instance: 0, ids });
const streamOf = (ids: bigint[], value = (_id: bigint): bigint => 0n): IncomingCpu => {
  const s = [...ids].sort(byId);
  return { instance: 0, ids: s, values: s.map(value) };
};
const run = (loader: string, accel: Accel, i: IncomingCpu, d: DestinationCpu, presets: string[] = []): CpuVerdict =>
  matchCpu(i, d, { loader, accel, policies: presets.map(presetPolicy) as Policy[] });
const ofKind = (v: CpuVerdict, kind: string): Anomaly[] => v.anomalies.filter((a) => a.kind === kind);

describe('VENDOR_HYP_BMAP_2 only in the stream (newer kernel → older kernel)', () => {
  const stream = (value = 0n): IncomingCpu => streamOf([...KVM_DEST, BMAP2], (id) => (id === BMAP2 ? value : 1n));
  const d = destOf(KVM_DEST);

  it('legacy: the count bound refuses it', () => {
    const v = run('qemu-10.2', 'kvm', stream(), d);
    expect(v.ok).toBe(false);
    expect(v.qemuError).toMatch(/^Invalid value 10 expecting positive value <= 9\nFailed to load cpu:cpreg_vmstate_array_len/);
    expect(ofKind(v, 'ignored-tail')).toHaveLength(1);
  });

  it('series-v6 without a preset: unexpected, printed with the KVM printer', () => {
    const v = run('series-v6', 'kvm', stream(), d);
    expect(v.ok).toBe(false);
    expect(ofKind(v, 'unexpected')[0]!.qemuText).toBe(
      'kvm_arm_cpu_post_load Unexpected register in input stream: 0 0x6030000000160003 fw feat reg 3\n' +
        "error while loading state for instance 0x0 of device 'cpu'\nload of migration failed: Operation not permitted",
    );
  });

  it('series-v6 with kernel-compat-10.1: hiding it on the destination does not admit it in the stream', () => {
    const v = run('series-v6', 'kvm', stream(), d, ['kernel-compat-10.1']);
    expect(v.ok).toBe(false);
    expect(ofKind(v, 'unexpected').map((a) => a.id)).toEqual(['0x6030000000160003']);
    // On a destination that has it, it is hidden (and the stream's copy is still unexpected).
    const v2 = run('series-v6', 'kvm', stream(), destOf([...KVM_DEST, BMAP2]), ['kernel-compat-10.1']);
    expect(ofKind(v2, 'tolerated').map((a) => a.message)).toEqual([
      'hidden on the destination by kernel-compat-10.1: neither expected nor accepted',
    ]);
    expect(ofKind(v2, 'unexpected')).toHaveLength(1);
    // A source with the same compat did not send it: then it loads.
    const v3 = run('series-v6', 'kvm', streamOf(KVM_DEST), destOf([...KVM_DEST, BMAP2]), ['kernel-compat-10.1']);
    expect(v3.ok).toBe(true);
  });

  it('qemu-11.1 under KVM tolerates it at 0 by itself (no preset), and refuses any other value', () => {
    // Real 11.1 KVM loads of 7.2-kernel streams into 6.1/6.12 hosts do not name it (kvm-table.json).
    const ok = run('qemu-11.1', 'kvm', stream(0n), d);
    expect(ok.ok).toBe(true);
    expect(ofKind(ok, 'tolerated')[0]).toMatchObject({
      id: '0x6030000000160003',
      policy: { source: 'qemu-11.1 (built-in, KVM)', kind: 'only-src-test-value', mask: (1n << 64n) - 1n, value: 0n },
    });
    const bad = run('qemu-11.1', 'kvm', stream(1n), d);
    expect(bad.ok).toBe(false);
    expect(ofKind(bad, 'policy-violation')[0]).toMatchObject({ fatal: true, value: 1n });
    expect(bad.qemuLines![0]).toBe(
      'handle_cpreg_only_in_incoming_stream: fw feat reg 3 in the incoming stream but unknown on the destination: fail migration',
    );
  });

  it('qemu-11.1 with qemu-11.1-host under KVM: the same (the preset adds nothing)', () => {
    const ok = run('qemu-11.1', 'kvm', stream(0n), d, ['qemu-11.1-host']);
    expect(ok.ok).toBe(true);
    expect(run('qemu-11.1', 'kvm', stream(1n), d, ['qemu-11.1-host']).ok).toBe(false);
  });

  it('qemu-11.1 under TCG has no such tolerance: the id fails unless the preset is given', () => {
    const v = run('qemu-11.1', 'tcg', stream(0n), d);
    expect(v.ok).toBe(false);
    expect(run('qemu-11.1', 'tcg', stream(0n), d, ['qemu-11.1-host']).ok).toBe(true);
  });
});

describe('TCR2_EL1 / PIRE0_EL1 / PIR_EL1 only in the stream (kernel < 6.13 → newer)', () => {
  const stream = (): IncomingCpu => streamOf([...KVM_DEST, TCR2, PIRE0, PIR]);
  const d = destOf(KVM_DEST);

  it('legacy: the count bound refuses it', () => {
    expect(run('legacy', 'kvm', stream(), d).anomalies[0]!.kind).toBe('count-bound');
  });

  it('series-v6 without a preset prints the three, as in the series’ example', () => {
    const v = run('series-v6', 'kvm', stream(), d);
    expect(ofKind(v, 'unexpected').map((a) => a.qemuText!.split('\n')[0])).toEqual([
      'kvm_arm_cpu_post_load Unexpected register in input stream: 0 0x603000000013c103 op0:3 op1:0 crn:2 crm:0 op2:3',
      'kvm_arm_cpu_post_load Unexpected register in input stream: 1 0x603000000013c512 op0:3 op1:0 crn:10 crm:2 op2:2',
      'kvm_arm_cpu_post_load Unexpected register in input stream: 2 0x603000000013c513 op0:3 op1:0 crn:10 crm:2 op2:3',
    ]);
  });

  it('series-v6 with kernel-compat-10.1 tolerates them', () => {
    const v = run('series-v6', 'kvm', stream(), d, ['kernel-compat-10.1']);
    expect(v.ok).toBe(true);
    expect(ofKind(v, 'tolerated').map((a) => a.name)).toEqual(['TCR2_EL1', 'PIRE0_EL1', 'PIR_EL1']);
  });

  it('series-v6 prints at most 10 unexpected registers under KVM; all are reported', () => {
    const extra = Array.from({ length: 10 }, (_, k) => 0x6030000000170000n + BigInt(k));
    const v = run('series-v6', 'kvm', streamOf([...KVM_DEST, TCR2, ...extra]), d);
    const lines = ofKind(v, 'unexpected').map((a) => a.qemuText!.split('\n')[0]);
    expect(lines).toHaveLength(11);
    expect(lines[9]).toMatch(/^kvm_arm_cpu_post_load Unexpected register in input stream: 9 0x6030000000170008 /);
    expect(lines[10]).toBe("error while loading state for instance 0x0 of device 'cpu'");
  });

  it('series-v6 forward migration: missing registers are printed, not fatal', () => {
    const v = run('series-v6', 'kvm', streamOf(KVM_DEST), destOf([...KVM_DEST, TCR2].sort(byId)));
    expect(v.ok).toBe(true);
    expect(ofKind(v, 'missing')[0]!.qemuText).toBe(
      'kvm_arm_cpu_post_load Missing register in input stream: 0 0x603000000013c103 op0:3 op1:0 crn:2 crm:0 op2:3',
    );
  });

  it('qemu-11.1 under KVM tolerates them by itself; under TCG only with the host tolerances', () => {
    const v = run('qemu-11.1', 'kvm', stream(), d);
    expect(v.ok).toBe(true);
    expect(ofKind(v, 'tolerated')).toHaveLength(3);
    expect(run('qemu-11.1', 'tcg', stream(), d).ok).toBe(false);
    expect(run('qemu-11.1', 'tcg', stream(), d, ['qemu-11.1-host']).ok).toBe(true);
  });

  it('the other direction (only on the destination) loads silently under KVM; under TCG with a warning unless tolerated', () => {
    const dd = destOf([...KVM_DEST, TCR2, PIRE0, PIR].sort(byId));
    const kvm = run('qemu-11.1', 'kvm', streamOf(KVM_DEST), dd);
    expect(kvm.ok).toBe(true);
    expect(ofKind(kvm, 'missing')).toEqual([]);
    expect(ofKind(kvm, 'tolerated').every((a) => a.qemuText === null)).toBe(true);
    const tcg = run('qemu-11.1', 'tcg', streamOf(KVM_DEST), dd);
    expect(ofKind(tcg, 'missing')[0]!.qemuText).toBe(
      'warning: handle_cpreg_missing_in_incoming_stream: system register 0x1013c103 expected by the destination but not in the incoming stream: skip it',
    );
    expect(ofKind(run('qemu-11.1', 'tcg', streamOf(KVM_DEST), dd, ['qemu-11.1-host']), 'missing')).toEqual([]);
  });
});

describe('AArch32 0x40200000200e0298 only in the stream (TCG, from QEMU ≤ 10.2)', () => {
  const stream = (): IncomingCpu => streamOf([...TCG_DEST, DBGDTR]);
  const d = destOf(TCG_DEST);

  it('legacy: an unknown id in the middle fails', () => {
    const v = run('legacy', 'tcg', streamOf([...TCG_DEST.filter((id) => id !== 0x603000000013c080n), DBGDTR]), d);
    expect(v.ok).toBe(false);
    expect(ofKind(v, 'unexpected')[0]).toMatchObject({ id: '0x40200000200e0298', name: 'BOGUS_DBGDTR_EL0' });
  });

  it('series-v6 fails without virt-10.2 and loads with it', () => {
    expect(run('series-v6', 'tcg', stream(), d).ok).toBe(false);
    const v = run('series-v6', 'tcg', stream(), d, ['virt-10.2']);
    expect(v.ok).toBe(true);
    expect(ofKind(v, 'tolerated')[0]!.policy).toEqual({ source: 'virt-10.2', kind: 'safe-missing' });
  });

  it('qemu-11.1 tolerates it by itself; the preset changes nothing there', () => {
    const v = run('qemu-11.1', 'tcg', stream(), d);
    expect(v.ok).toBe(true);
    expect(ofKind(v, 'tolerated')[0]!.policy?.source).toBe('qemu-11.1 (built-in)');
  });
});
