/**
 * Subsections of device sections other than `cpu`: where the walk finds them (device level,
 * inside elements of struct arrays, inside other subsections), and their removal — the bytes
 * gone, the vmdesc entry patched so that it describes exactly the bytes left (walked again, the
 * state is the old state without them; every struct record's size is its element's bytes).
 */
import { describe, expect, it } from 'vitest';
import { walkDevice, type SubsectionSpan } from '../../src/stream/device-walk.js';
import { patchDeviceVmdesc, vmdescSubsectionNames, type DeviceEditDone } from '../../src/stream/device-subsections.js';
import { cloneVmdesc, type VmdescBody, type VmdescDevice, type VmdescField } from '../../src/stream/vmdesc.js';
import { StreamFormatError, UnsupportedError } from '../../src/errors.js';
import { thrown } from '../helpers/edit.js';

const u8 = (...v: number[]) => Buffer.from(v);
const be32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };
const str8 = (s: string) => Buffer.concat([u8(s.length), Buffer.from(s, 'latin1')]);
const sub = (name: string, version: number, body: Buffer) => Buffer.concat([u8(0x05), str8(name), be32(version), body]);
const cat = (...b: Buffer[]) => Buffer.concat(b);
const hdr = (name: string) => 6 + name.length;

const CPU_FIELDS: VmdescField[] = [{ name: 'level', type: 'uint32', size: 4 }];
const SRE: VmdescBody = { vmsd_name: 'gic_cpu/sre', version: 1, fields: [{ name: 'sre', type: 'uint32', size: 4 }] };
const NMI: VmdescBody = { vmsd_name: 'gic_cpu/nmi', version: 1, fields: [{ name: 'inmir', type: 'uint32', size: 4 }] };
const elemSize = 4 + hdr('gic_cpu/sre') + 4 + hdr('gic_cpu/nmi') + 4;

/**
 * A GICv3-like device: a struct array written one record per element (QEMU: `index` on all but
 * the last), a compressed struct array (one record, `array_len` 2), subsections at the top, one
 * with a nested subsection of its own.
 */
function device(): VmdescDevice {
  const elem = (): VmdescBody => ({ vmsd_name: 'gic_cpu', version: 1, fields: CPU_FIELDS.map((f) => ({ ...f })), subsections: [{ ...SRE }, { ...NMI }] });
  return {
    name: 'gic', instance_id: 0, vmsd_name: 'gic', version: 1,
    fields: [
      { name: 'ctlr', type: 'uint32', size: 4 },
      { name: 'cpu', index: 0, type: 'struct', struct: elem(), size: elemSize },
      { name: 'cpu', type: 'struct', struct: elem(), size: elemSize },
      { name: 'lpi', array_len: 2, type: 'struct', struct: { vmsd_name: 'gic_lpi', version: 1, fields: [{ name: 'v', type: 'uint8', size: 1 }], subsections: [{ vmsd_name: 'gic_lpi/x', version: 1, fields: [{ name: 'x', type: 'uint8', size: 1 }] }] }, size: 1 + hdr('gic_lpi/x') + 1 },
    ],
    subsections: [
      { vmsd_name: 'gic/shift', version: 1, fields: [{ name: 'b', type: 'bool', size: 1 }], subsections: [{ vmsd_name: 'gic/shift/deep', version: 2, fields: [{ name: 'd', type: 'uint8', size: 1 }] }] },
      { vmsd_name: 'gic/nmi', version: 1, fields: [{ name: 'nmi', array_len: 2, type: 'uint32', size: 4 }] },
    ],
  };
}

const element = (level: number) => cat(be32(level), sub('gic_cpu/sre', 1, be32(7)), sub('gic_cpu/nmi', 1, be32(0)));
const BODY = cat(
  be32(0x11),
  element(1),
  element(2),
  u8(9), sub('gic_lpi/x', 1, u8(3)),
  u8(8), sub('gic_lpi/x', 1, u8(4)),
  sub('gic/shift', 1, cat(u8(1), sub('gic/shift/deep', 2, u8(5)))),
  sub('gic/nmi', 1, cat(be32(0), be32(0))),
);

/** Bytes one element of a body takes as its description lays it out (struct records by their size). */
function described(b: VmdescBody | VmdescDevice): number {
  let n = 0;
  for (const f of b.fields) n += (f.array_len ?? 1) * f.size;
  for (const s of b.subsections ?? []) n += hdr(s.vmsd_name) + described(s);
  return n;
}

/** Every struct record's size is the bytes its description lays out (what QEMU writes). */
function expectSizesConsistent(b: VmdescBody | VmdescDevice): void {
  for (const f of b.fields) {
    if (f.type !== 'struct' || !f.struct) continue;
    expect(f.size, `record ${f.name}`).toBe(described(f.struct));
    expectSizesConsistent(f.struct);
  }
  for (const s of b.subsections ?? []) expectSizesConsistent(s);
}

/** The body without the spans (the outermost of overlapping ones). */
function without(body: Buffer, drop: SubsectionSpan[]): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  for (const s of [...drop].sort((a, b) => a.offset - b.offset)) {
    if (s.offset < at) continue;
    parts.push(body.subarray(at, s.offset));
    at = s.offset + s.size;
  }
  parts.push(body.subarray(at));
  return cat(...parts);
}

/** A state dump without the subsections named (at any depth). */
function stateWithout(v: unknown, names: Set<string>): unknown {
  if (Array.isArray(v)) return v.map((x) => stateWithout(x, names));
  if (v instanceof Map) return new Map([...v].filter(([k]) => !names.has(k)).map(([k, x]) => [k, stateWithout(x, names)]));
  return v;
}

describe('subsection spans', () => {
  it('lists every subsection in stream order, with its place in the vmdesc and in the device', () => {
    const dev = device();
    const w = walkDevice(dev, BODY, 0, 100, 'gic (instance 0)', { subsections: true });
    expect(w.end).toBe(BODY.length);
    const spans = w.subsections!;
    expect(spans.map((s) => [s.name, s.within, JSON.stringify(s.path)])).toEqual([
      ['gic_cpu/sre', 'cpu[0]', '[{"field":1,"element":0},{"sub":0}]'],
      ['gic_cpu/nmi', 'cpu[0]', '[{"field":1,"element":0},{"sub":1}]'],
      ['gic_cpu/sre', 'cpu[1]', '[{"field":2,"element":0},{"sub":0}]'],
      ['gic_cpu/nmi', 'cpu[1]', '[{"field":2,"element":0},{"sub":1}]'],
      ['gic_lpi/x', 'lpi[0]', '[{"field":3,"element":0},{"sub":0}]'],
      ['gic_lpi/x', 'lpi[1]', '[{"field":3,"element":1},{"sub":0}]'],
      ['gic/shift', '', '[{"sub":0}]'],
      ['gic/shift/deep', '', '[{"sub":0},{"sub":0}]'],
      ['gic/nmi', '', '[{"sub":1}]'],
    ]);
    for (const s of spans) {
      // Offsets index the buffer: the marker and the name are there.
      expect(BODY[s.offset]).toBe(0x05);
      expect(BODY.toString('latin1', s.offset + 2, s.offset + 2 + s.name.length)).toBe(s.name);
    }
    expect(spans.find((s) => s.name === 'gic/shift')!.size).toBe(hdr('gic/shift') + 1 + hdr('gic/shift/deep') + 1);
    expect(w.subsections).toBeDefined();
    expect(walkDevice(dev, BODY, 0, 100, 'gic').subsections).toBeUndefined();
  });

  it('names every subsection a description lists, at any depth', () => {
    expect([...vmdescSubsectionNames(device())].sort()).toEqual(['gic/nmi', 'gic/shift', 'gic/shift/deep', 'gic_cpu/nmi', 'gic_cpu/sre', 'gic_lpi/x']);
  });
});

describe('removing subsections', () => {
  const names = ['gic_cpu/sre', 'gic_cpu/nmi', 'gic_lpi/x', 'gic/shift', 'gic/shift/deep', 'gic/nmi'];
  // Every non-empty set of names: what is left walks by the patched description, state and sizes agreeing.
  const sets = Array.from({ length: (1 << names.length) - 1 }, (_, m) => names.filter((_, i) => ((m + 1) >> i) & 1));
  it.each(sets.map((s) => [s.join(' ')]))('%s', (joined) => {
    const drop = new Set(joined.split(' '));
    const dev = device();
    const before = walkDevice(dev, BODY, 0, 0, 'gic', { subsections: true });
    const spans = before.subsections!.filter((s) => drop.has(s.name));
    const outer = spans.filter((s) => !spans.some((o) => o !== s && s.offset > o.offset && s.offset < o.offset + o.size));
    const done: DeviceEditDone = { dropped: outer.map((s) => ({ name: s.name, path: s.path, size: s.size })) };
    const patched = cloneVmdesc(dev);
    patchDeviceVmdesc(patched, done);
    const body = without(BODY, outer);
    expect(body.length).toBe(BODY.length - outer.reduce((n, s) => n + s.size, 0));
    const after = walkDevice(patched, body, 0, 0, 'gic', { subsections: true });
    expect(after.end).toBe(body.length);
    const gone = new Set([...drop, ...(drop.has('gic/shift') ? ['gic/shift/deep'] : [])]);
    expect(after.state).toEqual(stateWithout(before.state, gone));
    expect(after.subsections!.map((s) => s.name)).toEqual(before.subsections!.map((s) => s.name).filter((n) => !gone.has(n)));
    expectSizesConsistent(patched);
    // No empty list is left behind (QEMU writes no "subsections" key then), and the original is untouched.
    const lists: unknown[] = [];
    const visit = (b: VmdescBody | VmdescDevice) => {
      if (b.subsections) lists.push(b.subsections);
      for (const f of b.fields) if (f.struct) visit(f.struct);
      for (const s of b.subsections ?? []) visit(s);
    };
    visit(patched);
    expect(lists.every((l) => (l as unknown[]).length > 0)).toBe(true);
    expect(dev).toEqual(device());
  });

  it('refuses a compressed struct array whose elements lost different bytes', () => {
    const dev = device();
    const spans = walkDevice(dev, BODY, 0, 0, 'gic', { subsections: true }).subsections!;
    const one = spans.filter((s) => s.name === 'gic_lpi/x').slice(0, 1);
    const e = thrown(() => patchDeviceVmdesc(cloneVmdesc(dev), { dropped: one.map((s) => ({ name: s.name, path: s.path, size: s.size })) }));
    expect(e).toBeInstanceOf(UnsupportedError);
    expect(e.message).toMatch(/'lpi' describes 2 elements/);
  });

  it('refuses a path that does not lead to the subsection', () => {
    const e = thrown(() => patchDeviceVmdesc(device(), { dropped: [{ name: 'gic/nmi', path: [{ sub: 0 }], size: 10 }] }));
    expect(e).toBeInstanceOf(StreamFormatError);
    expect((e as StreamFormatError).code).toBe('BAD_VMDESC');
    const e2 = thrown(() => patchDeviceVmdesc(device(), { dropped: [{ name: 'gic_cpu/nmi', path: [{ field: 0, element: 0 }, { sub: 1 }], size: 10 }] }));
    expect(e2.message).toMatch(/not a struct/);
  });
});
