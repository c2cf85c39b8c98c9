import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ccsidrDemuxId, idRegisterFields, sysregId } from '../src/regs/index.js';
import { ID_REGISTER_FIELDS } from '../src/regs/fields.generated.js';

const tsv = readFileSync(new URL('../src/regs/data/arm64-id-fields.tsv', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .slice(1)
  .map((l) => l.split('\t'));

describe('ID-register field table', () => {
  it('the generated table is the data file (run `node scripts/gen-names.mjs` after editing it)', () => {
    const fromTsv = new Map<number, string[]>();
    for (const [reg, op0, op1, crn, crm, op2, msb, lsb, kind, field] of tsv) {
      const key = (+op0 << 14) | (+op1 << 11) | (+crn << 7) | (+crm << 3) | +op2;
      const list = fromTsv.get(key) ?? [];
      list.push(`${reg}.${field}[${msb}:${lsb}]${kind}`);
      fromTsv.set(key, list);
    }
    const generated = new Map(
      ID_REGISTER_FIELDS.map(([key, reg, fields]) => [
        key,
        fields.map(([name, l, w, kind]) => `${reg}.${name}[${l + w - 1}:${l}]${kind}`),
      ]),
    );
    expect(generated).toEqual(fromTsv);
  });

  it('fields of one register never overlap and stay within 64 bits', () => {
    for (const [, reg, fields] of ID_REGISTER_FIELDS) {
      let mask = 0n;
      for (const [name, lsb, width] of fields) {
        const m = ((1n << BigInt(width)) - 1n) << BigInt(lsb);
        expect(mask & m, `${reg}.${name}`).toBe(0n);
        expect(lsb + width).toBeLessThanOrEqual(64);
        mask |= m;
      }
    }
  });

  it('names the registers that used to print bits[hi:lo]', () => {
    // ID_AA64FPFR0_EL1: FP8 conversions and dot products (single-bit fields).
    expect(idRegisterFields(sysregId(3, 0, 0, 4, 7), 0x0n, 0x8000_0003n)).toEqual([
      { field: 'F8E5M2', a: 0n, b: 1n },
      { field: 'F8E4M3', a: 0n, b: 1n },
      { field: 'F8CVT', a: 0n, b: 1n },
    ]);
    expect(idRegisterFields(sysregId(3, 0, 0, 6, 3), 0x0n, 0x1000_0010n)).toEqual([
      { field: 'FAMINMAX', a: 0n, b: 1n },
      { field: 'FPRCVT', a: 0n, b: 1n },
    ]);
    expect(idRegisterFields(sysregId(3, 0, 0, 7, 3), 0x1n, 0x1011n)).toEqual([
      { field: 'SCTLRX', a: 0n, b: 1n },
      { field: 'S2PIE', a: 0n, b: 1n },
    ]);
    expect(idRegisterFields(sysregId(3, 0, 0, 4, 2), 0x0n, 0x1_0000_0000n)).toEqual([{ field: 'FPMR', a: 0n, b: 1n }]);
  });

  it('keeps the Arm ARM spelling where Linux capitalises', () => {
    expect(idRegisterFields(sysregId(3, 0, 0, 6, 0), 0x200000n, 0x300000n)).toEqual([{ field: 'Atomic', a: 2n, b: 3n }]);
    expect(idRegisterFields(sysregId(3, 0, 0, 7, 0), 0x0n, 0x10000000n)).toEqual([{ field: 'TGran4', a: 0n, b: 1n }]);
  });

  it('names the cache geometry of KVM CCSIDR demux values and leaves RES0 bits as nibbles', () => {
    // L1 data cache: kernel 6.1 passes the host's geometry through, 6.12+ report a synthetic one
    // (the committed KVM samples k6.1_* and k6.12_*): 64-byte lines in both, 256 sets × 4 ways vs 1 × 1.
    // Bits 31:28 are UNKNOWN in the layout without FEAT_CCIDX, so they stay a nibble.
    expect(idRegisterFields(ccsidrDemuxId(0), 0x701fe01an, 0x2n)).toEqual([
      { field: 'Associativity', a: 3n, b: 0n },
      { field: 'NumSets', a: 255n, b: 0n },
      { field: 'bits[31:28]', a: 7n, b: 0n },
    ]);
  });
});
