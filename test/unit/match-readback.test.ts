/**
 * TCG's migration read-back (write_list_to_cpustate): which registers keep a written value, what
 * a missing register's value slot holds per QEMU generation, and the crash on a subsection a
 * 10.x destination has no object for.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  idListDigest,
  isNarrow,
  matchCpu,
  measuredSlots,
  rawWriteKind,
  readsBack,
  type CpuVerdict,
  type DestinationCpu,
  type IncomingCpu,
} from '../../src/match/index.js';
import { SLOT_IMAGES } from '../../src/match/cpreg-slots.generated.js';
import { decodeStream } from '../../src/stream/decode.js';
import { loadDestination } from '../../src/destination/load.js';
import { checkStream } from '../../src/check/check.js';
import { SAMPLES_DIR } from '../helpers/samples.js';

const MIDR = 0x40200000200f0000n;
const ISAR1 = 0x603000000013c031n;
const RVBAR = 0x40200000200f6001n; // AArch32 RVBAR (RVBAR_EL1's 32-bit view)
const RMR_EL1 = 0x603000000013c602n;
const DBGDCCINT = 0x40200000200e0100n;
const MDCCINT_EL1 = 0x6030000000138010n;
const DBGCLAIMCLR_EL1 = 0x60300000001383cen;
const TPIDR_EL0 = 0x603000000013de82n;
const TCR2_EL1 = 0x603000000013c103n;
const MECID_P1_EL2 = 0x603000000013e542n;
const GCSPR_EL1 = 0x603000000013c129n;
const L2CTLR_EL1 = 0x603000000013cd82n;

const kinds = (v: CpuVerdict): string[] => v.anomalies.map((a) => a.kind);

describe('raw write kinds from QEMU’s definitions', () => {
  it('ARM_CP_CONST registers, per generation', () => {
    for (const gen of ['7.2', '10.x', '11.1', null] as const) expect(rawWriteKind(ISAR1, gen)).toBe('const');
    // RVBAR_EL1 is a read-only field, not a constant: AArch64 only in 7.2, STATE_BOTH in 10.x
    // (whose 32-bit view shares the encoding of the EL3-only MVBAR)
    expect(rawWriteKind(0x603000000013c601n, '7.2')).toBe('plain');
    expect(rawWriteKind(0x603000000013c601n, '10.x')).toBe('plain');
    expect(rawWriteKind(RVBAR, '10.x')).not.toBe('const');
    // RMR_EL1 and the dummy MDCCINT_EL1 are ARM_CP_CONST in 10.x (debug_helper.c, helper.c)
    expect(rawWriteKind(RMR_EL1, '10.x')).toBe('const');
    expect(rawWriteKind(MDCCINT_EL1, '10.x')).toBe('const');
    expect(rawWriteKind(DBGDCCINT, '10.x')).toBe('const');
  });

  it('raw-writable registers, write-ignored and guest write functions', () => {
    // MIDR: .raw_writefn = raw_write into cp15.c0_cpuid
    for (const gen of ['7.2', '10.x', null] as const) expect(rawWriteKind(MIDR, gen)).toBe('plain');
    expect(rawWriteKind(TPIDR_EL0, '10.x')).toBe('plain');
    expect(rawWriteKind(DBGCLAIMCLR_EL1, '10.x')).toBe('plain');
    expect(rawWriteKind(TCR2_EL1, '10.x')).toBe('writefn');
    expect(rawWriteKind(L2CTLR_EL1, '10.x')).toBe('ignore');
    // not QEMU system registers
    expect(rawWriteKind(0x6030000000160003n, '10.x')).toBe('plain');
  });

  it('what reads back', () => {
    expect(isNarrow(MIDR)).toBe(true);
    expect(isNarrow(ISAR1)).toBe(false);
    expect(readsBack(ISAR1, 0x11120n, 'const', 0x11120n)).toBe(true);
    expect(readsBack(ISAR1, 0n, 'const', 0x11120n)).toBe(false);
    expect(readsBack(ISAR1, 'wide', 'const', 0n)).toBe(false);
    expect(readsBack(ISAR1, 'unknown', 'const', 0n)).toBeNull();
    expect(readsBack(MIDR, 0x123n, 'plain', 0x414fc0f0n)).toBe(true);
    expect(readsBack(MIDR, 1n << 40n, 'plain', 0n)).toBe(false);
    expect(readsBack(MIDR, 'wide', 'plain', 0n)).toBe(false);
    expect(readsBack(TPIDR_EL0, 'wide', 'plain', 0n)).toBe(true);
    expect(readsBack(TCR2_EL1, 0n, 'writefn', 0n)).toBe(true);
    // tcr2_el1_write keeps valid bits only, all below 2^32: a wider value never reads back,
    // a narrower one may (the mask depends on the CPU's features)
    expect(readsBack(TCR2_EL1, 'wide', 'writefn', 0n)).toBe(false);
    expect(readsBack(TCR2_EL1, 0x20n, 'writefn', 0n)).toBeNull();
    // mecid_write keeps exactly 16 bits
    expect(readsBack(MECID_P1_EL2, 0x19e0n, 'writefn', 0n)).toBe(true);
    expect(readsBack(MECID_P1_EL2, 0x1_0000n, 'writefn', 0n)).toBe(false);
    expect(readsBack(MECID_P1_EL2, 'wide', 'writefn', 0n)).toBe(false);
    // a write function the tool has no mask for stays open
    expect(readsBack(GCSPR_EL1, 'wide', 'writefn', 0n)).toBeNull();
  });
});

describe('value read-back on TCG', () => {
  const dest: DestinationCpu = { instance: 0, ids: [MIDR, ISAR1, TPIDR_EL0], values: [0x412fc0f1n, 0x11120n, 0n] };
  const with_ = (over: Record<string, bigint>): IncomingCpu => ({
    instance: 0,
    ids: dest.ids,
    values: dest.ids.map((id, k) => over[id.toString()] ?? dest.values![k]!),
  });

  it('a raw-writable ID register (MIDR) may differ; a constant one may not', () => {
    for (const loader of ['legacy', 'qemu-7.2', 'qemu-10.0', 'qemu-11.1']) {
      const midr = matchCpu(with_({ [MIDR.toString()]: 0x412fc0f0n }), dest, { loader, accel: 'tcg' });
      expect(midr.ok, loader).toBe(true);
      expect(midr.anomalies).toEqual([]);
      const isar = matchCpu(with_({ [ISAR1.toString()]: 0x11130n }), dest, { loader, accel: 'tcg' });
      expect(kinds(isar)).toEqual(['value-mismatch']);
    }
  });

  it('a 32-bit register cannot take a value of 2^32 or more', () => {
    const v = matchCpu(with_({ [MIDR.toString()]: 0x1412fc0f1n }), dest, { loader: 'legacy', accel: 'tcg' });
    expect(kinds(v)).toEqual(['value-mismatch']);
    expect(v.anomalies[0]!.message).toMatch(/32-bit/);
  });

  it('under KVM there is no read-back: the kernel decides (MIDR_EL1 is invariant)', () => {
    const MIDR_EL1 = 0x603000000013c000n;
    const kvm: DestinationCpu = { instance: 0, ids: [MIDR_EL1, TPIDR_EL0], values: [0x412fc0f1n, 0n] };
    const v = matchCpu({ instance: 0, ids: kvm.ids, values: [0x412fc0f0n, 5n] }, kvm, { loader: 'legacy', accel: 'kvm' });
    expect(kinds(v)).toEqual(['kvm-refused']);
    expect(v.anomalies[0]!.detail).toMatchObject({ errno: 'EINVAL', class: 'implementation-id', valueFrom: 'stream' });
  });
});

describe('missing registers: the value slot', () => {
  const dest: DestinationCpu = {
    instance: 0,
    ids: [RVBAR, MDCCINT_EL1, DBGCLAIMCLR_EL1, RMR_EL1, TPIDR_EL0],
    values: [0n, 0n, 0n, 1n, 0n],
  };
  const without = (id: bigint): IncomingCpu => {
    const k = dest.ids.indexOf(id);
    return { instance: 0, ids: dest.ids.filter((_, j) => j !== k), values: dest.values!.filter((_, j) => j !== k) as bigint[] };
  };

  it('7.2 … 10.2: the slot reads 0, so only a non-zero constant fails', () => {
    for (const loader of ['qemu-10.0', 'legacy']) {
      for (const id of [RVBAR, MDCCINT_EL1, DBGCLAIMCLR_EL1, TPIDR_EL0]) {
        expect(matchCpu(without(id), dest, { loader, accel: 'tcg' }).ok, `${loader} ${id.toString(16)}`).toBe(true);
      }
      const rmr = matchCpu(without(RMR_EL1), dest, { loader, accel: 'tcg' });
      expect(kinds(rmr)).toEqual(['missing-const']);
      expect(rmr.anomalies[0]!.note).toMatch(/reads 0/);
    }
  });

  it('11.1, unmeasured list: stale data, so a non-zero constant fails and what a zero slot would pass is open', () => {
    const q = (id: bigint) => matchCpu(without(id), dest, { loader: 'qemu-11.1', accel: 'tcg' });
    // a 32-bit register and a constant 0 read back only if their slot holds a fitting value: QEMU may load or refuse
    for (const id of [RVBAR, MDCCINT_EL1]) {
      const v = q(id);
      expect(kinds(v)).toEqual(['missing-stale']);
      expect([v.ok, v.qemuRejects, v.qemuDepends]).toEqual([true, false, true]);
    }
    expect(q(RVBAR).anomalies[0]!.message).toMatch(/a value below 2\^32/);
    // RMR_EL1 reads as 1: stale data is that constant only by coincidence
    const rmr = q(RMR_EL1);
    expect(kinds(rmr)).toEqual(['missing-const']);
    expect(rmr.anomalies[0]!.message).toMatch(/only by coincidence/);
    expect(q(DBGCLAIMCLR_EL1).ok).toBe(true);
    expect(q(TPIDR_EL0).ok).toBe(true);
  });

  it('11.1, measured list: the slot’s measured content decides (cortex-a57)', async () => {
    const s = await decodeStream(join(SAMPLES_DIR, 'qemu-11.1/virt-7.2_cortex-a57.mig'));
    const c = s.cpus[0]!;
    const d: DestinationCpu = { instance: 0, ids: c.ids, values: c.values };
    const m = measuredSlots(c.ids, 'version 11.1.');
    expect(m?.image.runs.some((r) => r.includes('cortex-a57'))).toBe(true);
    const drop = (id: bigint): IncomingCpu => {
      const k = c.ids.indexOf(id);
      expect(k).toBeGreaterThanOrEqual(0);
      return { instance: 0, ids: c.ids.filter((_, j) => j !== k), values: c.values.filter((_, j) => j !== k) };
    };
    const q = (id: bigint) => matchCpu(drop(id), d, { loader: 'qemu-11.1', accel: 'tcg' });
    // DBGDCCINT (const 0): its slot holds 0 → loads; MDCCINT_EL1 (const 0): stale text → fails
    expect(m!.cells[c.ids.indexOf(DBGDCCINT)]).toBe(0n);
    expect(q(DBGDCCINT).ok).toBe(true);
    const md = q(MDCCINT_EL1);
    expect(kinds(md)).toEqual(['missing-const']);
    expect(md.anomalies[0]!.note).toMatch(/measured on QEMU 11\.1\.3/);
    expect(q(RVBAR).ok).toBe(false);
    expect(q(ISAR1).ok).toBe(false);
    expect(q(DBGCLAIMCLR_EL1).ok).toBe(true);
  });

  it('slot images are keyed by the digest of the id list', () => {
    const json = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'src/match/cpreg-slots.json'), 'utf8')) as { digest: string; slots: string }[];
    expect(SLOT_IMAGES.map((i) => i.digest)).toEqual(json.map((e) => e.digest));
    for (const [k, img] of SLOT_IMAGES.entries()) {
      expect(img.slots).toBe(json[k]!.slots);
      expect(img.slots.split(',')).toHaveLength(img.count);
    }
    // SHA-256 of "0x0000000000000001\n0x0000000000000002\n"
    expect(idListDigest([1n, 2n])).toBe('d8eb01e8004ff36462de2b5297750791fe0999a8e844368bfc95991b962e2198');
    expect(measuredSlots([1n, 2n], 'version 11.1.')).toBeNull();
  });
});

describe('a subsection a 10.x destination has no object for', () => {
  it('check: 11.1’s cortex-a15 stream into 10.0 aborts QEMU; without the subsection it loads', async () => {
    const dest = await loadDestination(join(SAMPLES_DIR, 'qemu-10.0/virt-7.2_cortex-a15.mig'));
    const path = join(SAMPLES_DIR, 'qemu-11.1/virt-7.2_cortex-a15.mig');
    const r = await checkStream(await decodeStream(path), dest, { loader: 'legacy', name: path });
    expect(r.verdict).toBe('reject');
    expect(r.qemuError).toMatch(/Assertion `first_elem \|\| !n_elems \|\| !size' failed/);
    expect(r.warnings).toHaveLength(1);
    expect(r.warnings[0]).toMatch(/aborts/);
    // the same destination model under 11.1 has the timer for every CPU: no crash rule
    const r11 = await checkStream(await decodeStream(path), dest, { loader: 'qemu-11.1', name: path });
    expect(r11.warnings).toEqual([]);
  });
});
