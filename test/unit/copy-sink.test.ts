/**
 * A file-to-file rewrite copies the input with the kernel and writes only from its first
 * change on (CopyFileSink): the result must be exactly what writing every byte gives.
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { rewriteFile } from '../../src/rewrite/rewrite-file.js';
import { decodeStream, type CpuEdit } from '../../src/stream/decode.js';
import type { CpuSection } from '../../src/stream/records.js';
import { BufferSource } from '../../src/wire/source.js';
import { MemorySink, StreamWriter } from '../../src/wire/writer.js';
import { CopyFileSink } from '../../src/wire/copy-sink.js';
import { UsageError, VmstateError } from '../../src/errors.js';
import { samplePaths, sampleBytes } from '../helpers/samples.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmstate-copy-sink-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The same edits, written byte by byte through a MemorySink: the reference. */
async function reference(data: Buffer, editCpu?: (c: CpuSection) => CpuEdit | null): Promise<Buffer> {
  const sink = new MemorySink();
  const w = new StreamWriter(sink);
  await decodeStream(new BufferSource(data, [4093]), { output: w, editCpu });
  await w.end();
  return sink.bytes();
}

/** Drops each vCPU's first register and its last subsection. */
const dropFirst = (c: CpuSection): CpuEdit => ({
  ids: c.ids.slice(1),
  values: c.values.slice(1),
  dropSubsections: c.subsections.length ? [c.subsections[c.subsections.length - 1]!.name] : [],
});

const files = () => readdirSync(dir).sort();

describe('file to file rewrite of real samples', () => {
  for (const s of samplePaths()) {
    it(`${s.name}: unedited it is the input; edited it equals the byte-by-byte rewrite`, async () => {
      const data = sampleBytes(s.path);
      const same = join(dir, 'same.mig');
      await rewriteFile(s.path, same);
      expect(readFileSync(same).equals(data)).toBe(true);
      const edited = join(dir, 'edited.mig');
      const res = await rewriteFile(s.path, edited, { editCpu: dropFirst });
      expect(res.edited.length).toBe(res.cpus.length);
      const out = readFileSync(edited);
      expect(out.length).toBeLessThan(data.length);
      expect(out.equals(await reference(data, dropFirst))).toBe(true);
      expect(files()).toEqual(['edited.mig', 'same.mig']);
      rmSync(same);
      rmSync(edited);
    });
  }
});

describe('CopyFileSink', () => {
  const input = () => join(dir, 'input.bin');

  it('keeps the copy up to the first change, then writes at the offset, and cuts the file to length', async () => {
    const data = randomBytes(300_000);
    writeFileSync(input(), data);
    const target = join(dir, 'out.bin');
    const sink = await CopyFileSink.create(input(), target);
    const w = new StreamWriter(sink);
    w.write(data.subarray(0, 200_000));
    await w.flush();
    w.write(data.subarray(200_000, 200_010));
    w.insert(Buffer.from('new bytes'));
    await w.end();
    const out = readFileSync(target);
    expect(out.equals(Buffer.concat([data.subarray(0, 200_010), Buffer.from('new bytes')]))).toBe(true);
    expect(files()).toEqual(['input.bin', 'out.bin']);
    rmSync(target);
  });

  it("gives the output a new file's permissions, not a read-only input's", async () => {
    const data = randomBytes(10_000);
    writeFileSync(input(), data);
    chmodSync(input(), 0o444);
    const target = join(dir, 'out.bin');
    const sink = await CopyFileSink.create(input(), target);
    const w = new StreamWriter(sink);
    w.write(data.subarray(0, 5000));
    w.insert(Buffer.from([1, 2, 3]));
    await w.end();
    const mask = process.umask();
    expect(statSync(target).mode & 0o777).toBe(0o666 & ~mask);
    expect(readFileSync(target).length).toBe(5003);
    chmodSync(input(), 0o644);
    rmSync(target);
  });

  it('refuses a copy shorter than the bytes it stands for (the input shrank), leaving nothing', async () => {
    const data = randomBytes(200_000);
    writeFileSync(input(), data);
    const target = join(dir, 'out.bin');
    const sink = await CopyFileSink.create(input(), target);
    truncateSync(input(), 1000);
    const w = new StreamWriter(sink);
    w.write(data);
    await expect(w.end()).rejects.toThrow(/input changed while it was copied/);
    expect(files()).toEqual(['input.bin']);
  });

  it('removes the copy when the output is abandoned', async () => {
    writeFileSync(input(), randomBytes(400_000));
    const target = join(dir, 'out.bin');
    const sink = await CopyFileSink.create(input(), target);
    const w = new StreamWriter(sink);
    w.write(readFileSync(input()));
    await w.drain();
    await w.abort();
    expect(files()).toEqual(['input.bin']);
  });

  it('fails up front, typed, on an output directory that does not exist', async () => {
    const target = join(dir, 'missing', 'out.bin');
    await expect(CopyFileSink.create(input(), target)).rejects.toThrow(new UsageError(`cannot write ${target}: ENOENT`, { errno: 'ENOENT' }, 'IO'));
  });

  it('a target it cannot rename onto: typed error, the copy removed', async () => {
    writeFileSync(input(), randomBytes(1000));
    mkdirSync(join(dir, 'a-dir'));
    const sink = await CopyFileSink.create(input(), join(dir, 'a-dir'));
    const w = new StreamWriter(sink);
    w.write(readFileSync(input()));
    await expect(w.end()).rejects.toMatchObject({ code: 'IO', message: expect.stringContaining('EISDIR') });
    expect(files()).toEqual(['a-dir', 'input.bin']);
    rmSync(join(dir, 'a-dir'), { recursive: true });
  });

  it('a truncated stream: typed error, and no output or temporary file', async () => {
    const s = samplePaths()[0]!;
    const data = sampleBytes(s.path);
    writeFileSync(input(), data.subarray(0, data.length - 100));
    const err = await rewriteFile(input(), join(dir, 'out.mig')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(VmstateError);
    expect(files()).toEqual(['input.bin']);
  });
});
