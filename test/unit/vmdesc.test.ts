import { describe, expect, it } from 'vitest';
import { walkDevice } from '../../src/stream/device-walk.js';
import { qemuJson } from '../../src/stream/json-writer.js';
import {
  checkVmdescLength,
  DEFAULT_MAX_VMDESC,
  dropSubsection,
  encodeVmdesc,
  findVmdescDevice,
  locateVmdesc,
  parseVmdesc,
  patchCpuArrays,
  vmdescOffsetOf,
  type VmdescDevice,
} from '../../src/stream/vmdesc.js';
import { LimitError, StreamFormatError, VmstateError } from '../../src/errors.js';
import { sampleBytes, samplePaths } from '../helpers/samples.js';
import { thrown } from '../helpers/edit.js';

const be32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v); return b; };


/** A vmdesc item for `json`, preceded by the EOF byte. */
const item = (json: string) => Buffer.concat([Buffer.from([0x00, 0x06]), be32(Buffer.byteLength(json)), Buffer.from(json)]);

const CPU_FIELDS =
  '{"name": "env.pc", "type": "uint64", "size": 8}, {"name": "cpreg_vmstate_array_len", "type": "int32 le", "size": 4}, ' +
  '{"name": "cpreg_vmstate_indexes", "array_len": 3, "type": "uint64", "size": 8}, {"name": "cpreg_vmstate_values", "array_len": 3, "type": "uint64", "size": 8}, ' +
  '{"name": "power_state", "type": "powered_off", "size": 1}';
const SMALL =
  '{"page_size": 4096, "devices": [{"name": "timer", "instance_id": 0, "vmsd_name": "timer", "version": 2, "fields": [{"name": "t", "type": "uint64", "size": 8}]}, ' +
  `{"name": "cpu", "instance_id": 0, "vmsd_name": "cpu", "version": 22, "fields": [${CPU_FIELDS}], ` +
  '"subsections": [{"vmsd_name": "cpu/vfp", "version": 3, "fields": [], "subsections": [{"vmsd_name": "cpu/vfp/fpcr_fpsr", "version": 1, "fields": []}]}, ' +
  '{"vmsd_name": "cpu/irq-line-state", "version": 1, "fields": [{"name": "env.irq_line_state", "type": "uint32", "size": 4}]}]}, ' +
  '{"name": "old", "instance_id": 0, "size": 3, "fields": [{"name": "data", "size": 3, "type": "buffer"}]}]}';

describe('locateVmdesc', () => {
  it('finds the item from the end, in a full buffer or a tail', () => {
    const stream = Buffer.concat([Buffer.from('QEVM\0\0\0\x03'), Buffer.alloc(100, 0x06), item(SMALL)]);
    const expected = { offset: 109, length: Buffer.byteLength(SMALL) };
    expect(locateVmdesc(stream, 0, stream.length)).toEqual(expected);
    const tail = stream.subarray(50);
    expect(locateVmdesc(tail, 50, stream.length)).toEqual(expected);
    // A tail that starts inside the JSON does not contain it.
    expect(locateVmdesc(stream.subarray(120), 120, stream.length)).toBeNull();
  });

  it('returns null without a vmdesc (suppressed) and requires EOF before it', () => {
    expect(locateVmdesc(Buffer.from([1, 2, 3, 0]), 0, 4)).toBeNull();
    const noEof = item(SMALL);
    noEof[0] = 0x7e;
    expect(locateVmdesc(noEof, 0, noEof.length)).toBeNull();
  });
});

describe('parseVmdesc / encodeVmdesc', () => {
  it('round-trips byte for byte and keeps offsets of nodes', () => {
    const bytes = item(SMALL).subarray(1);
    const v = parseVmdesc(bytes.subarray(5), 1005);
    expect(encodeVmdesc(v).equals(bytes)).toBe(true);
    expect(vmdescOffsetOf(v)).toBe(1005);
    expect(vmdescOffsetOf(v.devices[1]!)).toBe(1005 + SMALL.indexOf('{"name": "cpu"'));
    expect(findVmdescDevice(v, 'cpu', 0)).toBe(v.devices[1]);
    expect(findVmdescDevice(v, 'cpu', 1)).toBeUndefined();
  });

  it('rejects what is not a vmdesc with BAD_VMDESC at the offending offset', () => {
    const bad = (json: string, offset = 500) => thrown(() => parseVmdesc(Buffer.from(json), offset));
    let e = bad('{"page_size": 4096, "devices": [}');
    expect(e).toBeInstanceOf(StreamFormatError);
    expect(e.code).toBe('BAD_VMDESC');
    expect(e.place).toEqual({ offset: 500 + 32, section: 'vmdesc' });
    e = bad('[]');
    expect(e.code).toBe('BAD_VMDESC');
    expect(bad('{"page_size": 4096}').message).toContain('"devices"');
    expect(bad('{"page_size": "4k", "devices": []}').message).toContain('"page_size"');
    const noSize = '{"page_size": 4096, "devices": [{"name": "d", "instance_id": 0, "vmsd_name": "d", "version": 1, "fields": [{"name": "f", "type": "uint8"}]}]}';
    e = bad(noSize);
    expect(e.message).toContain('"size"');
    expect(e.place?.offset).toBe(500 + noSize.indexOf('{"name": "f"'));
    expect(bad('{"page_size": 4096, "devices": [{"name": "d", "instance_id": 0, "vmsd_name": "d", "version": 1, "fields": [{"name": "f", "type": "struct", "size": 1}]}]}').message).toContain('struct');
    expect(thrown(() => parseVmdesc(Buffer.from([0x7b, 0xff, 0x7d]), 0)).message).toContain('UTF-8');
  });

  it('caps the JSON length, naming the cap', () => {
    const e = thrown(() => parseVmdesc(Buffer.from(SMALL), 40, { maxVmdesc: 100 }));
    expect(e).toBeInstanceOf(LimitError);
    // The cap is named by the option that sets it (`--max-vmdesc`, `limits.maxVmdesc`).
    expect(e.message).toContain('(maxVmdesc)');
    expect(e.place?.offset).toBe(40);
    expect(() => checkVmdescLength(DEFAULT_MAX_VMDESC, 0)).not.toThrow();
    expect(() => checkVmdescLength(DEFAULT_MAX_VMDESC + 1, 7)).toThrow(LimitError);
  });
});

describe('patchCpuArrays', () => {
  const fresh = () => parseVmdesc(Buffer.from(SMALL), 0);
  const cpuFields = (d: VmdescDevice) => qemuJson(d.fields.filter((f) => f.name.startsWith('cpreg')));

  it('writes the N, 1 and 0 forms QEMU writes, right after the count', () => {
    const v = fresh();
    const cpu = v.devices[1]!;
    patchCpuArrays(cpu, 300);
    expect(cpuFields(cpu)).toBe(
      '[{"name": "cpreg_vmstate_array_len", "type": "int32 le", "size": 4}, {"name": "cpreg_vmstate_indexes", "array_len": 300, "type": "uint64", "size": 8}, ' +
        '{"name": "cpreg_vmstate_values", "array_len": 300, "type": "uint64", "size": 8}]',
    );
    patchCpuArrays(cpu, 1);
    expect(cpuFields(cpu)).toBe(
      '[{"name": "cpreg_vmstate_array_len", "type": "int32 le", "size": 4}, {"name": "cpreg_vmstate_indexes", "type": "uint64", "size": 8}, ' +
        '{"name": "cpreg_vmstate_values", "type": "uint64", "size": 8}]',
    );
    patchCpuArrays(cpu, 0);
    expect(cpuFields(cpu)).toBe('[{"name": "cpreg_vmstate_array_len", "type": "int32 le", "size": 4}]');
    expect(cpu.fields.map((f) => f.name)).toEqual(['env.pc', 'cpreg_vmstate_array_len', 'power_state']);
    patchCpuArrays(cpu, 3); // grows back from nothing, in place
    expect(qemuJson(v)).toBe(SMALL);
  });

  it('rejects a device without the count record, and bad counts', () => {
    const v = fresh();
    const e = thrown(() => patchCpuArrays(v.devices[0]!, 2));
    expect(e.code).toBe('BAD_VMDESC');
    expect(e.place?.offset).toBe(SMALL.indexOf('{"name": "timer"'));
    expect(() => patchCpuArrays(v.devices[1]!, -1)).toThrow(RangeError);
    expect(() => patchCpuArrays(v.devices[1]!, 2 ** 31)).toThrow(RangeError);
  });
});

describe('dropSubsection', () => {
  it('drops top-level and nested entries and removes an emptied list', () => {
    const v = parseVmdesc(Buffer.from(SMALL), 0);
    const cpu = v.devices[1]!;
    expect(dropSubsection(cpu, 'cpu/vfp/fpcr_fpsr')).toBe(true);
    expect('subsections' in cpu.subsections![0]!).toBe(false);
    expect(dropSubsection(cpu, 'cpu/nope')).toBe(false);
    expect(dropSubsection(cpu, 'cpu/vfp')).toBe(true);
    expect(dropSubsection(cpu, 'cpu/irq-line-state')).toBe(true);
    expect('subsections' in cpu).toBe(false);
    expect(qemuJson(cpu)).not.toContain('subsections');
  });
});

/** Each `cpu` FULL section of a sample: header offset, body start, footer offset. */
function cpuSections(data: Buffer, dev: (i: number) => VmdescDevice, from: number) {
  const out: { instance: number; bodyStart: number; end: number }[] = [];
  const pat = Buffer.from([0x03, 0x63, 0x70, 0x75]);
  for (let at = data.indexOf(pat, from); at >= 0; at = data.indexOf(pat, at + 1)) {
    if (data[at - 5] !== 0x04 || data.readUInt32BE(at + 8) !== 22) continue;
    const instance = data.readUInt32BE(at + 4);
    const sid = data.readUInt32BE(at - 4);
    const bodyStart = at + 12;
    try {
      const { end } = walkDevice(dev(instance), data, bodyStart, 0, `cpu (instance ${instance})`);
      if (data[end] === 0x7e && data.readUInt32BE(end + 1) === sid) out.push({ instance, bodyStart, end });
    } catch (e) {
      if (!(e instanceof VmstateError)) throw e;
    }
  }
  return out;
}

describe.each(samplePaths())('sample $name', ({ path }) => {
  const data = sampleBytes(path);
  const loc = locateVmdesc(data, 0, data.length)!;

  it('locates the vmdesc at EOF + 1, also from a short tail', () => {
    expect(loc).not.toBeNull();
    expect(data[loc.offset - 1]).toBe(0x00);
    expect(loc.offset + 5 + loc.length).toBe(data.length);
    const tailStart = loc.offset - 1000;
    expect(locateVmdesc(data.subarray(tailStart), tailStart, data.length)).toEqual(loc);
  });

  it('re-encodes the vmdesc byte for byte', () => {
    const v = parseVmdesc(data.subarray(loc.offset + 5), loc.offset + 5);
    expect(encodeVmdesc(v).equals(data.subarray(loc.offset))).toBe(true);
  });

  it('patchCpuArrays keeps the encoding for the same count and after a round trip through 0 and 1', () => {
    const v = parseVmdesc(data.subarray(loc.offset + 5), loc.offset + 5);
    for (const cpu of v.devices.filter((d) => d.name === 'cpu')) {
      const n = cpu.fields.find((f) => f.name === 'cpreg_vmstate_indexes')!.array_len!;
      expect(n).toBeGreaterThan(1);
      patchCpuArrays(cpu, n);
      expect(encodeVmdesc(v).equals(data.subarray(loc.offset))).toBe(true);
      patchCpuArrays(cpu, 0);
      patchCpuArrays(cpu, 1);
      patchCpuArrays(cpu, n);
    }
    expect(encodeVmdesc(v).equals(data.subarray(loc.offset))).toBe(true);
  });

  it('a cpu body with fewer registers walks exactly with the patched vmdesc', () => {
    const v = parseVmdesc(data.subarray(loc.offset + 5), loc.offset + 5);
    const dev = (i: number) => findVmdescDevice(v, 'cpu', i)!;
    const cpus = cpuSections(data, dev, data.length - 200_000);
    expect(cpus.map((c) => c.instance)).toEqual([0, 1]);
    for (const c of cpus) {
      const body = data.subarray(c.bodyStart, c.end);
      const n = body.readInt32BE(568);
      for (const k of [0, 1, 2, n - 1]) {
        const edited = Buffer.concat([
          body.subarray(0, 568),
          be32(k),
          body.subarray(572, 572 + 8 * k),
          body.subarray(572 + 8 * n, 572 + 8 * n + 8 * k),
          body.subarray(572 + 16 * n),
          Buffer.from([0x7e]),
        ]);
        // A fresh parse is the copy to patch, as the decoder makes it.
        const patched = findVmdescDevice(parseVmdesc(data.subarray(loc.offset + 5), loc.offset + 5), 'cpu', c.instance)!;
        patchCpuArrays(patched, k);
        const r = walkDevice(patched, edited, 0, 0, `cpu (instance ${c.instance})`);
        expect(r.end).toBe(edited.length - 1);
        const idx = r.state.get('cpreg_vmstate_indexes');
        expect(k === 0 ? idx === undefined : k === 1 ? typeof idx === 'string' : (idx as string[]).length === k).toBe(true);
        // A stale vmdesc mis-walks (QEMU itself ignores the vmdesc; other readers do not).
        let staleEnd = -1;
        try {
          staleEnd = walkDevice(dev(c.instance), edited, 0, 0, 'cpu').end;
        } catch (e) {
          expect(e).toBeInstanceOf(VmstateError);
        }
        expect(staleEnd).not.toBe(edited.length - 1);
      }
    }
  });
});
