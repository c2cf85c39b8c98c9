import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { minimalCpregs } from '../helpers/minimal-cpregs.js';
import { hex64, idRegisterFields, inferAccel, regFieldText, regName } from '../../src/regs/index.js';

// Streams saved by real QEMU builds (samples/qemu-<version>/*.mig).
const SAMPLES = fileURLToPath(new URL('../../samples/', import.meta.url));
const files = existsSync(SAMPLES)
  ? readdirSync(SAMPLES, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.mig'))
      .sort()
  : [];

/** Unnamed AArch32 ids → the samples they occur in (reported after the run). */
const unnamedA32 = new Map<bigint, Set<string>>();
const coverage: string[] = [];

afterAll(() => {
  if (coverage.length) console.log(`cpreg naming coverage:\n${coverage.join('\n')}`);
  const lines = [...unnamedA32].map(([id, where]) => `  ${hex64(id)}  ${regFieldText(id)}  (${[...where].join(', ')})`);
  console.log(`unnamed AArch32 ids: ${lines.length ? `\n${lines.join('\n')}` : 'none'}`);
});

it('finds sample streams', () => {
  expect(files.length).toBeGreaterThan(0);
});

describe.each(files)('%s', (file) => {
  const sections = minimalCpregs(readFileSync(join(SAMPLES, file)));

  it('has cpu sections with strictly ascending, identical cpreg lists', () => {
    expect(sections.length).toBeGreaterThan(0);
    expect(sections.map((s) => s.instance)).toEqual(sections.map((_, i) => i));
    for (const s of sections) {
      expect(s.ids.length).toBe(s.count);
      for (let i = 1; i < s.ids.length; i++) expect(s.ids[i]! > s.ids[i - 1]!).toBe(true);
      expect(s.ids).toEqual(sections[0]!.ids);
    }
  });

  it('names every AArch64 id and at least 98 % of the AArch32 ids', () => {
    const ids = sections[0]!.ids;
    const accel = inferAccel(ids);
    const a64 = ids.filter((id) => id >> 56n === 0x60n);
    const a32 = ids.filter((id) => id >> 56n === 0x40n);
    expect(a64.filter((id) => regName(id, accel) === null).map(hex64)).toEqual([]);
    const missing = a32.filter((id) => regName(id, accel) === null);
    for (const id of missing) {
      if (!unnamedA32.has(id)) unnamedA32.set(id, new Set());
      unnamedA32.get(id)!.add(file);
    }
    const named = a32.length - missing.length;
    coverage.push(
      `  ${file}: ${accel}, ${ids.length} ids; AArch64 ${a64.length}/${a64.length}; AArch32 ${named}/${a32.length}`,
    );
    expect(named).toBeGreaterThanOrEqual(Math.ceil(0.98 * a32.length));
  });
});

describe('cross-checks against the stream format notes', () => {
  const load = (f: string) => minimalCpregs(readFileSync(join(SAMPLES, f)))[0]!;
  const have = (...f: string[]) => f.every((x) => existsSync(join(SAMPLES, x)));

  // Counts QEMU 7.2 saves per CPU model (§5.2).
  it.each([
    ['qemu-7.2/virt-7.2_cortex-a15.mig', 197],
    ['qemu-7.2/virt-7.2_cortex-a53.mig', 258],
    ['qemu-7.2/virt-7.2_cortex-a57.mig', 258],
    ['qemu-7.2/virt-7.2_cortex-a72.mig', 258],
    ['qemu-7.2/virt-7.2_max.mig', 304],
  ])('%s has %i cpregs', (f, n) => {
    if (!have(f)) return;
    expect(load(f).count).toBe(n);
  });

  it('ID_DFR0 of cortex-a57 differs in MMapTrc between 10.0 and 7.2 (§6.7)', () => {
    const a = 'qemu-10.0/virt-7.2_cortex-a57.mig';
    const b = 'qemu-7.2/virt-7.2_cortex-a57.mig';
    if (!have(a, b)) return;
    const value = (f: string, id: bigint) => {
      const s = load(f);
      return s.values[s.ids.indexOf(id)]!;
    };
    for (const id of [0x40200000200f0082n, 0x603000000013c00an]) {
      expect(regName(id)).toMatch(/^ID_DFR0/);
      expect(idRegisterFields(id, value(a, id), value(b, id))).toEqual([{ field: 'MMapTrc', a: 0n, b: 1n }]);
    }
  });
});
