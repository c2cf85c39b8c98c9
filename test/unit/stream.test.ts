import { describe, expect, it } from 'vitest';
import { Readable } from 'node:stream';
import { decodeStream, type DecodedStream } from '../../src/stream/decode.js';
import { BufferSource, FileSource, IterableSource } from '../../src/wire/source.js';
import { MemorySink, StreamWriter } from '../../src/wire/writer.js';
import { VmstateError } from '../../src/errors.js';
import { samplePaths, sampleBytes } from '../helpers/samples.js';
import { minimalCpregs } from '../helpers/minimal-cpregs.js';

const samples = samplePaths();

function cpuLists(s: DecodedStream) {
  return s.cpus.map((c) => ({ instance: c.instance, count: c.count, ids: c.ids, values: c.values }));
}

async function copy(data: Buffer, chunks: number[], edit?: Parameters<typeof decodeStream>[1]['editCpu']) {
  const sink = new MemorySink();
  const w = new StreamWriter(sink);
  const res = await decodeStream(new BufferSource(data, chunks), { output: w, editCpu: edit });
  await w.end();
  return { res, out: sink.bytes() };
}

describe('real samples', () => {
  it('has samples from QEMU 7.2, 10.0 and 11.1', () => {
    const versions = new Set(samples.map((s) => s.name.split('/')[0]));
    expect([...versions].sort()).toEqual(['qemu-10.0', 'qemu-11.1', 'qemu-7.2']);
  });

  for (const s of samples) {
    describe(s.name, () => {
      const data = sampleBytes(s.path);

      it('decodes from a file to the end, and its cpreg arrays equal an independent decode', async () => {
        const src = await FileSource.open(s.path);
        const res = await decodeStream(src);
        await src.close();
        expect(res.size).toBe(data.length);
        expect(res.vmdesc).not.toBeNull();
        expect(res.warnings).toEqual([]);
        expect(res.configuration?.machine).toMatch(/^virt/);
        expect(res.cpus.length).toBe(2);
        const ref = minimalCpregs(data);
        expect(cpuLists(res)).toEqual(ref.map((c) => ({ instance: c.instance, count: c.count, ids: c.ids, values: c.values })));
        // The arrays are the registers QEMU keeps sorted and unique.
        for (const c of res.cpus) for (let i = 1; i < c.ids.length; i++) expect(c.ids[i]! > c.ids[i - 1]!).toBe(true);
      });

      it('decodes the same from a pipe, in odd chunk sizes and with a non-zero byteOffset', async () => {
        const file = await decodeStream(new BufferSource(data, [data.length], true), { fullWalk: true });
        const pipe = await decodeStream(new IterableSource(Readable.from([data.subarray(0, 1000), data.subarray(1000)])));
        expect(cpuLists(pipe)).toEqual(cpuLists(file));
        const shifted = Buffer.alloc(data.length + 3);
        data.copy(shifted, 3);
        const odd = await decodeStream(new BufferSource(shifted.subarray(3), [7, 4093, 1, 65537, 13]));
        expect(cpuLists(odd)).toEqual(cpuLists(file));
        expect(odd.sections).toEqual(file.sections);
        expect(odd.ram).toEqual(file.ram);
      });

      it('rewrites without edits byte for byte (whole, pipe-sized and odd chunks)', async () => {
        for (const chunks of [[data.length], [65536], [3, 1021, 8191]]) {
          const { out } = await copy(data, chunks);
          expect(out.equals(data)).toBe(true);
        }
      });
    });
  }

  it('decodes one byte at a time', async () => {
    const s = samples.find((x) => x.name === 'qemu-7.2/virt-7.2_cortex-a15')!;
    const data = sampleBytes(s.path);
    const res = await decodeStream(new BufferSource(data, [1]));
    const { out } = await copy(data, [1]);
    expect(out.equals(data)).toBe(true);
    expect(res.cpus.map((c) => c.count)).toEqual(minimalCpregs(data).map((c) => c.count));
  });
});

describe('streams without a vmdesc (suppress-vmdesc)', () => {
  for (const s of samples) {
    it(`${s.name}: cpu sections found by their built-in layout, from a file and a pipe`, async () => {
      const data = sampleBytes(s.path);
      const full = await decodeStream(new BufferSource(data, [data.length], true));
      const bare = data.subarray(0, full.eofOffset + 1);
      for (const seekable of [true, false]) {
        const res = await decodeStream(new BufferSource(bare, [4093], seekable));
        expect(res.vmdesc).toBeNull();
        expect(cpuLists(res)).toEqual(cpuLists(full));
        expect(res.cpus.map((c) => c.subsections)).toEqual(full.cpus.map((c) => c.subsections));
        expect(res.sections).toEqual(full.sections);
      }
    });
  }
});

describe('re-encoding the cpreg arrays', () => {
  const s = samples.find((x) => x.name === 'qemu-7.2/virt-7.2_max')!;
  const data = sampleBytes(s.path);

  for (const keep of [0, 1, 2, 100]) {
    it(`keeps the vmdesc consistent with ${keep} register(s)`, async () => {
      const { out, res } = await copy(data, [65536], (cpu) => ({ ids: cpu.ids.slice(0, keep), values: cpu.values.slice(0, keep) }));
      expect(res.edited).toEqual([0, 1]);
      const again = await decodeStream(new BufferSource(out, [out.length], true));
      expect(again.warnings).toEqual([]);
      expect(again.cpus.map((c) => c.count)).toEqual([keep, keep]);
      expect(again.cpus[0]!.ids).toEqual(res.cpus[0]!.ids.slice(0, keep));
      // Only the arrays and the vmdesc changed: the bytes before the first cpu section are identical.
      const first = res.cpus[0]!.countOffset;
      expect(out.subarray(0, first).equals(data.subarray(0, first))).toBe(true);
      const removed = 2 * 16 * (res.cpus[0]!.count - keep);
      expect(out.subarray(again.eofOffset - 100, again.eofOffset + 1).equals(data.subarray(res.eofOffset - 100, res.eofOffset + 1))).toBe(true);
      expect(again.eofOffset).toBe(res.eofOffset - removed);
    });
  }
});

describe('bad input', () => {
  const s = samples.find((x) => x.name === 'qemu-7.2/virt-7.2_max')!;
  const data = sampleBytes(s.path);

  async function fails(buf: Buffer, seekable = false): Promise<VmstateError> {
    try {
      await decodeStream(new BufferSource(buf, [4096], seekable));
    } catch (e) {
      expect(e).toBeInstanceOf(VmstateError);
      return e as VmstateError;
    }
    throw new Error('decoded without error');
  }

  it('rejects a wrong magic at offset 0', async () => {
    const b = Buffer.from(data);
    b.write('QEVN', 0, 'latin1');
    const e = await fails(b);
    expect(e.code).toBe('BAD_MAGIC');
    expect(e.place).toEqual({ offset: 0, section: 'header' });
  });

  it('names offset and section for truncation inside RAM and inside the cpu arrays', async () => {
    const ref = minimalCpregs(data);
    const e1 = await fails(data.subarray(0, 200000));
    expect(e1.code).toBe('TRUNCATED');
    expect(e1.place?.section).toMatch(/^ram/);
    expect(e1.place?.offset).toBe(200000);
    const inArrays = ref[1]!.offset + 585 + 4 + 100;
    const e2 = await fails(data.subarray(0, inArrays));
    expect(e2.code).toBe('TRUNCATED');
    expect(e2.place?.section).toBe(`cpu (instance 1, section ${data.readUInt32BE(ref[1]!.offset + 1)})`);
    expect(e2.place?.offset).toBe(inArrays);
  });

  for (const count of [-1, -(2 ** 31), 2 ** 31 - 1, 1_000_000]) {
    it(`rejects an impossible cpreg count ${count} at its offset`, async () => {
      const ref = minimalCpregs(data);
      const b = Buffer.from(data);
      const at = ref[0]!.offset + 585;
      b.writeInt32BE(count, at);
      const e = await fails(b);
      expect(['BAD_SECTION', 'LIMIT']).toContain(e.code);
      expect(e.place?.offset).toBe(at);
      expect(e.place?.section).toMatch(/^cpu \(instance 0/);
    });
  }
});
