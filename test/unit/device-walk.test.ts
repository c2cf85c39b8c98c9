import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { walkDevice, type DumpObject } from '../../src/stream/device-walk.js';
import { analyserKey, ramSectionState, stateDump, type DumpSection } from '../../src/stream/dump-format.js';
import { readConfiguration } from '../../src/stream/configuration.js';
import { decodeStream } from '../../src/stream/decode.js';
import { StreamReader } from '../../src/wire/reader.js';
import { BufferSource } from '../../src/wire/source.js';
import { analyserJson, parseJsonPreservingOrder, qemuJson } from '../../src/stream/json-writer.js';
import { locateVmdesc, parseVmdesc, type Vmdesc, type VmdescDevice } from '../../src/stream/vmdesc.js';
import { StreamFormatError, TruncatedError, VmstateError } from '../../src/errors.js';
import { sampleBytes, samplePaths } from '../helpers/samples.js';
import { thrown } from '../helpers/edit.js';

// ---------------------------------------------------------------------------
// Byte builders

const u8 = (...v: number[]) => Buffer.from(v);
const be16 = (v: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(v); return b; };
const be32 = (v: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return b; };
const be64 = (v: bigint) => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt.asUintN(64, v)); return b; };
const str8 = (s: string) => Buffer.concat([u8(s.length), Buffer.from(s, 'latin1')]);
const sub = (name: string, version: number, body: Buffer) => Buffer.concat([u8(0x05), str8(name), be32(version), body]);
const cat = (...b: Buffer[]) => Buffer.concat(b);


// ---------------------------------------------------------------------------
// Synthetic bodies

/** A device using most shapes: scalars of each kind, arrays, structs, nested subsections. */
const DEV: VmdescDevice = {
  name: 'toy',
  instance_id: 0,
  vmsd_name: 'toy',
  version: 3,
  fields: [
    { name: 'flag', type: 'bool', size: 1 },
    { name: 's8', type: 'int8', size: 1 },
    { name: 's32', type: 'int32', size: 4 },
    { name: 'le', type: 'int32 le', size: 4 },
    { name: 'u16', type: 'uint16', size: 2 },
    { name: 'u64', type: 'uint64', size: 8 },
    { name: 'eq64', type: 'int64 equal', size: 8 },
    { name: 'regs', array_len: 3, type: 'uint32', size: 4 },
    { name: 'timer', type: 'timer', size: 8 },
    { name: 'cpsr', type: 'cpsr', size: 4 },
    { name: 'blob', type: 'buffer', size: 3 },
    { name: 'gap', type: 'unused_buffer', size: 0 },
    {
      name: 'pair',
      array_len: 2,
      type: 'struct',
      struct: { vmsd_name: 'pair', version: 1, fields: [{ name: 'a', type: 'uint8', size: 1 }, { name: 'b', type: 'int16', size: 2 }] },
      size: 3,
    },
    {
      name: 'inner',
      type: 'struct',
      struct: {
        vmsd_name: 'inner',
        version: 2,
        fields: [{ name: 'x', type: 'uint32', size: 4 }],
        subsections: [{ vmsd_name: 'inner/extra', version: 1, fields: [{ name: 'y', type: 'uint8', size: 1 }] }],
      },
      size: 4 + 1 + 11 + 4 + 1,
    },
    { name: 'ptrs', index: 0, type: 'nullptr', size: 1 },
    { name: 'ptrs', index: 1, type: 'uint8', size: 1 },
    { name: 'vs', type: 'vstruct', size: 2, vmsd_name: 'vs', version: 1, fields: [{ name: 'z', type: 'uint16', size: 2 }] },
  ],
  subsections: [
    {
      vmsd_name: 'toy/a',
      version: 1,
      fields: [{ name: 'v', type: 'uint8', size: 1 }],
      subsections: [{ vmsd_name: 'toy/a/deep', version: 4, fields: [{ name: 'w', type: 'uint64', size: 8 }] }],
    },
    { vmsd_name: 'toy/b', version: 2, fields: [{ name: 'c', type: 'capability', size: 4 }] },
  ],
};

const BODY = cat(
  u8(2), // bool: any non-zero is true
  u8(0xfe), // int8 -2
  be32(0x7fffffff),
  be32(0xffffffff), // int32 le -1
  be16(0xabcd),
  be64(0xffffffffffffffffn), // uint64 stays unsigned
  be64(0x8000000000000000n), // int64 equal: signed in the analyser
  be32(1), be32(2), be32(3),
  be64(-1n),
  u8(0x40, 0x00, 0x03, 0xc5),
  u8(0x61, 0x62, 0x63),
  u8(1, 0xff, 0xfe), u8(2, 0x00, 0x05), // pair[0], pair[1]
  be32(9), sub('inner/extra', 1, u8(7)),
  u8(0x30), u8(0x11),
  be16(0x1234),
  sub('toy/a', 1, cat(u8(5), sub('toy/a/deep', 4, be64(0x0102030405060708n)))),
  sub('toy/b', 2, str8('xyz')),
);
const FOOTER = cat(u8(0x7e), be32(42));

describe('walkDevice on a synthetic body', () => {
  it('walks every shape and stops before the footer', () => {
    const buf = cat(u8(0xaa, 0xbb), BODY, FOOTER);
    const { end, state } = walkDevice(DEV, buf, 2, 1000, 'toy (instance 0)');
    expect(end).toBe(2 + BODY.length);
    expect(buf[end]).toBe(0x7e);
    expect(qemuJson(state)).toBe(qemuJson(new Map<string, unknown>([
      ['flag', true],
      ['s8', '0xfe (-2)'],
      ['s32', '0x7fffffff'],
      ['le', '0xffffffff (-1)'],
      ['u16', '0xabcd'],
      ['u64', '0xffffffffffffffff'],
      ['eq64', '0x8000000000000000 (-9223372036854775808)'],
      ['regs', ['0x00000001', '0x00000002', '0x00000003']],
      ['timer', 'ff ff ff ff ff ff ff ff'],
      ['cpsr', '40 00 03 c5'],
      ['blob', '61 62 63'],
      ['gap', ''],
      ['pair', [new Map([['a', '0x01'], ['b', '0xfffe (-2)']]), new Map([['a', '0x02'], ['b', '0x0005']])]],
      ['inner', new Map<string, unknown>([['x', '0x00000009'], ['inner/extra', new Map([['y', '0x07']])]])],
      ['ptrs', ['nullptr', '0x11']],
      ['vs', '12 34'],
      ['toy/a', new Map<string, unknown>([['v', '0x05'], ['toy/a/deep', new Map([['w', '0x0102030405060708']])]])],
      ['toy/b', new Map([['c', 'xyz']])],
    ])));
  });

  it('throws only TruncatedError, with the absolute offset, when cut at any byte', () => {
    for (let cut = 0; cut < BODY.length; cut++) {
      const e = thrown(() => walkDevice(DEV, BODY.subarray(0, cut), 0, 5000, 'toy (instance 0)'));
      expect(e, `cut at ${cut}`).toBeInstanceOf(TruncatedError);
      expect(e.place?.section).toBe('toy (instance 0)');
      expect(e.place!.offset).toBeGreaterThanOrEqual(5000);
      expect(e.place!.offset).toBeLessThanOrEqual(5000 + cut);
      // Reading more and retrying then succeeds.
      expect(walkDevice(DEV, BODY, 0, 5000, 'toy (instance 0)').end).toBe(BODY.length);
    }
  });

  it('honours a non-zero byteOffset of the buffer', () => {
    const big = cat(Buffer.alloc(13, 0xee), BODY, FOOTER);
    const view = big.subarray(13);
    expect(walkDevice(DEV, view, 0, 0, 'toy').end).toBe(BODY.length);
  });

  it('reports a subsection that differs from the vmdesc', () => {
    const wrong = Buffer.from(BODY);
    const at = wrong.indexOf('toy/b', 0, 'latin1');
    wrong.write('toy/c', at, 'latin1');
    const e = thrown(() => walkDevice(DEV, wrong, 0, 100, 'toy (instance 0)'));
    expect(e).toBeInstanceOf(StreamFormatError);
    expect(e.code).toBe('BAD_SECTION');
    expect(e.place).toEqual({ offset: 100 + at - 2, section: 'toy (instance 0)' });
    expect(e.message).toContain("'toy/c'");
  });

  it('reports a missing subsection marker and a wrong subsection version', () => {
    const noSub = cat(BODY.subarray(0, BODY.indexOf('toy/a', 0, 'latin1') - 2), u8(0x7e));
    const e = thrown(() => walkDevice(DEV, noSub, 0, 0, 'toy'));
    expect(e).toBeInstanceOf(StreamFormatError);
    expect(e.place?.offset).toBe(noSub.length - 1);

    const badVer = Buffer.from(BODY);
    const at = badVer.indexOf('toy/b', 0, 'latin1') + 5;
    badVer.writeUInt32BE(3, at);
    expect(thrown(() => walkDevice(DEV, badVer, 0, 0, 'toy'))).toBeInstanceOf(StreamFormatError);
  });

  it('reports a bad NULL marker and an inconsistent vmdesc', () => {
    const badNull = Buffer.from(BODY);
    const nullAt = BODY.indexOf(u8(0x30, 0x11, 0x12, 0x34));
    expect(badNull[nullAt]).toBe(0x30);
    badNull[nullAt] = 0x31;
    const e = thrown(() => walkDevice(DEV, badNull, 0, 7, 'toy'));
    expect(e).toBeInstanceOf(StreamFormatError);
    expect(e.place?.offset).toBe(7 + nullAt);

    const wrongSize: VmdescDevice = { ...DEV, fields: [{ name: 'n', type: 'uint32', size: 2 }] };
    expect(thrown(() => walkDevice(wrongSize, BODY, 0, 0, 'toy')).code).toBe('BAD_VMDESC');
    const noStruct: VmdescDevice = { ...DEV, fields: [{ name: 'n', type: 'struct', size: 2 }] };
    expect(thrown(() => walkDevice(noStruct, BODY, 0, 0, 'toy')).code).toBe('BAD_VMDESC');
  });
});

describe('cpu-like arrays of 0, 1 and N elements', () => {
  const cpuDev = (n: number): VmdescDevice => ({
    name: 'cpu',
    instance_id: 1,
    vmsd_name: 'cpu',
    version: 22,
    fields: [
      { name: 'cpreg_vmstate_array_len', type: 'int32 le', size: 4 },
      ...(n === 0 ? [] : n === 1
        ? [{ name: 'cpreg_vmstate_indexes', type: 'uint64', size: 8 }, { name: 'cpreg_vmstate_values', type: 'uint64', size: 8 }]
        : [{ name: 'cpreg_vmstate_indexes', array_len: n, type: 'uint64', size: 8 }, { name: 'cpreg_vmstate_values', array_len: n, type: 'uint64', size: 8 }]),
      { name: 'power_state', type: 'powered_off', size: 1 },
    ],
  });
  const body = (n: number) => {
    const ids = Array.from({ length: n }, (_, i) => be64(0x6030000000130000n + BigInt(i)));
    const vals = Array.from({ length: n }, (_, i) => be64(BigInt(i * 3)));
    return cat(be32(n), ...ids, ...vals, u8(1));
  };
  for (const n of [0, 1, 2, 5]) {
    it(`walks ${n} register(s)`, () => {
      const b = body(n);
      const { end, state } = walkDevice(cpuDev(n), b, 0, 0, 'cpu (instance 1)');
      expect(end).toBe(b.length);
      const idx = state.get('cpreg_vmstate_indexes');
      if (n === 0) expect(idx).toBeUndefined();
      else if (n === 1) expect(idx).toBe('0x6030000000130000');
      else expect(idx).toHaveLength(n);
      expect(state.get('power_state')).toBe('01');
    });
  }
});

describe('configuration', () => {
  const machine = 'virt-7.2';
  const pageBits = sub('configuration/target-page-bits', 1, be32(12));
  const caps = sub('configuration/capabilities', 1, cat(be32(2), str8('x-ignore-shared'), str8('mapped-ram')));
  const uuid = sub('configuration/uuid', 1, Buffer.from('00112233445566778899aabbccddeeff', 'hex'));
  const item = cat(be32(machine.length), Buffer.from(machine), pageBits, caps, uuid);
  const next = u8(0x01); // RAM START follows

  /** The configuration item read from `bytes` (which start with its 0x07). */
  const read = (bytes: Buffer) => readConfiguration(new StreamReader(new BufferSource(bytes, [3, 1, 7])));
  const header = cat(be32(0x5145564d), be32(3));

  it('decodes a 7.2-style item with the peek rule', async () => {
    const c = await read(cat(u8(0x07), item, next));
    expect(c).toEqual({
      offset: 0,
      size: 1 + item.length,
      machine: 'virt-7.2',
      pageBits: 12,
      capabilities: ['x-ignore-shared', 'mapped-ram'],
      uuid: '00112233445566778899aabbccddeeff',
      subsections: ['target-page-bits', 'capabilities', 'uuid'].map((n) => ({ name: `configuration/${n}`, version: 1 })),
    });
  });

  it('is truncation-safe at every cut (in the item, or at the next item)', async () => {
    for (let cut = 0; cut <= item.length; cut++) {
      const data = cat(header, u8(0x07), item.subarray(0, cut));
      const e = await decodeStream(data).catch((x: unknown) => x);
      expect(e, `cut ${cut}`).toBeInstanceOf(TruncatedError);
      expect((e as TruncatedError).place?.offset, `cut ${cut}`).toBe(data.length);
    }
  });

  it('stops at a byte that is not a configuration subsection (peek rule)', async () => {
    const short = cat(u8(0x07), be32(4), Buffer.from('virt'), u8(0x05, 3), Buffer.from('abc'));
    expect((await read(short)).size).toBe(9);
    const other = cat(u8(0x07), be32(4), Buffer.from('virt'), sub('something/else/here', 1, u8()));
    expect((await read(other)).size).toBe(9);
    const unknown = cat(u8(0x07), be32(4), Buffer.from('virt'), sub('configuration/new-thing', 1, be32(0)));
    const e = await read(unknown).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(StreamFormatError);
    expect((e as StreamFormatError).place).toEqual({ offset: 9, section: 'configuration' });
  });
});

// ---------------------------------------------------------------------------
// Real samples

interface Found {
  offset: number;
  sectionId: number;
  name: string;
  bodyStart: number;
  end: number;
  state: DumpObject;
}

/**
 * Finds each vmdesc device's FULL section by searching for its header after
 * the previous one, accepting a candidate only if the vmdesc walk of its body
 * ends on `7e <section id>`. Good enough for tests; the real decoder parses
 * sequentially.
 */
function findDeviceSections(data: Buffer, v: Vmdesc, from: number): Found[] {
  const out: Found[] = [];
  let pos = from;
  for (const d of v.devices) {
    const tail = cat(str8(d.name), be32(d.instance_id), ...(d.version !== undefined ? [be32(d.version)] : []));
    let hit: Found | null = null;
    for (let at = data.indexOf(tail, pos); at >= 0 && !hit; at = data.indexOf(tail, at + 1)) {
      const start = at - 5;
      if (start < 0 || data[start] !== 0x04) continue;
      const sectionId = data.readUInt32BE(start + 1);
      const bodyStart = at + 1 + d.name.length + 8;
      try {
        const label = `${d.name} (instance ${d.instance_id})`;
        const r = walkDevice(d, data, bodyStart, 0, label);
        if (data[r.end] === 0x7e && data.readUInt32BE(r.end + 1) === sectionId) {
          hit = { offset: start, sectionId, name: d.name, bodyStart, end: r.end, state: r.state };
        }
      } catch (e) {
        if (!(e instanceof VmstateError)) throw e;
      }
    }
    if (!hit) throw new Error(`section '${d.name}' instance ${d.instance_id} not found after ${pos}`);
    out.push(hit);
    pos = hit.end + 5;
  }
  return out;
}

/** The RAM START section: `01 <sid> 03 "ram" <0> <4>`, then its MEM_SIZE block list. */
function findRam(data: Buffer, from: number): DumpSection & { offset: number } {
  const at = data.indexOf(cat(str8('ram'), be32(0), be32(4)), from) - 5;
  expect(data[at]).toBe(0x01);
  const sectionId = data.readUInt32BE(at + 1);
  let p = at + 5 + 4 + 8;
  const word = data.readBigUInt64BE(p);
  p += 8;
  expect(word & 0x4n).toBe(0x4n);
  let total = word & ~0xfffn;
  const blocks: { name: string; length: bigint }[] = [];
  while (total > 0n) {
    const n = data[p]!;
    const name = data.toString('latin1', p + 1, p + 1 + n);
    const length = data.readBigUInt64BE(p + 1 + n);
    p += 1 + n + 8;
    blocks.push({ name, length });
    total -= length;
  }
  return { offset: at, sectionId, name: 'ram', state: ramSectionState(blocks) };
}

const GOLDEN = join(import.meta.dirname, '..', 'golden');

describe.each(samplePaths())('sample $name', ({ name, path }) => {
  const data = sampleBytes(path);
  const loc = locateVmdesc(data, 0, data.length)!;
  const vmdesc = parseVmdesc(data.subarray(loc.offset + 5), loc.offset + 5);
  const [dir, base] = name.split('/') as [string, string];
  const version = dir.replace(/^qemu-/, '');

  it('decodes the configuration item to the RAM START; a vmdesc description of it walks the same bytes', async () => {
    expect(data[8]).toBe(0x07);
    const c = (await decodeStream(data)).configuration!;
    const end = c.offset + c.size;
    expect(data[end]).toBe(0x01);
    expect(c.pageBits).toBe(12);
    if (vmdesc.configuration) {
      const r = walkDevice(vmdesc.configuration, data, 9, 0, 'configuration');
      expect(r.end).toBe(end);
      expect((r.state.get('configuration/target-page-bits') as DumpObject).get('target_page_bits')).toBe('0x0000000c');
    }
  });

  it('walks every device section to its footer, and the state dump matches the analyser', () => {
    const ram = findRam(data, 9);
    const devices = findDeviceSections(data, vmdesc, ram.offset);
    expect(devices).toHaveLength(vmdesc.devices.length);
    const cpus = devices.filter((d) => d.name === 'cpu');
    expect(cpus.length).toBe(2);
    for (const c of cpus) {
      const n = Number.parseInt(c.state.get('cpreg_vmstate_array_len') as string, 16);
      expect(c.state.get('cpreg_vmstate_indexes')).toHaveLength(n);
    }
    // EOF follows the last footer, then the vmdesc.
    const last = devices[devices.length - 1]!;
    expect(data[last.end + 5]).toBe(0x00);
    expect(last.end + 6).toBe(loc.offset);

    const sections = [ram, ...devices].sort((a, b) => a.offset - b.offset);
    const dump = stateDump(sections);
    const goldenState = join(GOLDEN, version, `${base}.state.json`);
    if (existsSync(goldenState)) {
      const text = readFileSync(goldenState, 'utf8');
      // Same text as the analyser prints (so also the same parsed JSON, key order included).
      expect(analyserJson(dump) + '\n').toBe(text);
      expect(qemuJson(dump)).toBe(qemuJson(parseJsonPreservingOrder(text)));
    } else {
      // The analyser cannot read this stream (7.2 without a vmdesc configuration):
      // ours has the same form.
      expect([...dump.keys()][0]).toBe(analyserKey('ram', ram.sectionId));
      expect([...dump.keys()]).toContain(analyserKey('cpu', cpus[0]!.sectionId));
    }
  });

  it('gives the analyser -d desc output', () => {
    const goldenDesc = join(GOLDEN, version, `${base}.desc.json`);
    if (!existsSync(goldenDesc)) return;
    expect(analyserJson(vmdesc) + '\n').toBe(readFileSync(goldenDesc, 'utf8'));
  });
});
