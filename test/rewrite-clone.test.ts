/**
 * A file-to-file rewrite that clones its input: on every committed sample the output equals the
 * fully walked rewrite's byte for byte (with edits and without), the input's holes stay holes,
 * the permissions follow the input, and an input that changes between the first read and the
 * last fails the rewrite with nothing written — also when the change comes after the clone.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { appendFileSync, chmodSync, copyFileSync, existsSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, rmSync, statSync, writeSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rewriteFile } from '../src/rewrite/rewrite-file.js';
import { VmstateError } from '../src/errors.js';
import { CloneFileSink } from '../src/wire/clone.js';
import { resolveOutputTarget } from '../src/wire/output-target.js';
import { samplePaths, sampleBytes } from './helpers/samples.js';

const dir = mkdtempSync(join(tmpdir(), 'vmstate-clone-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const stripFirst = { editCpu: (c: { ids: bigint[]; values: bigint[] }) => ({ ids: c.ids.slice(1), values: c.values.slice(1) }) };

describe('cloned and fully walked rewrites write the same bytes', () => {
  for (const s of samplePaths()) {
    it(s.name, async () => {
      const a = join(dir, 'a.mig');
      const b = join(dir, 'b.mig');
      const ra = await rewriteFile(s.path, a, stripFirst);
      const rb = await rewriteFile(s.path, b, { ...stripFirst, fullWalk: true });
      expect([ra.walk.mode, rb.walk.mode]).toEqual(['tail-first', 'full']);
      expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
      expect(readFileSync(a).length).toBeLessThan(sampleBytes(s.path).length);
      await rewriteFile(s.path, a);
      expect(readFileSync(a).equals(sampleBytes(s.path))).toBe(true);
      rmSync(a);
      rmSync(b);
    });
  }
});

describe('the clone', () => {
  it('keeps holes, writes from the first changed byte on, skips gaps, and cuts the file to what was written', async () => {
    // 1 MiB of data, a 3 MiB hole, 4 KiB of data: a sparse input.
    const input = join(dir, 'sparse.in');
    const fd = openSync(input, 'w');
    writeSync(fd, Buffer.alloc(1 << 20, 1), 0, 1 << 20, 0);
    writeSync(fd, Buffer.alloc(4096, 2), 0, 4096, 4 << 20);
    closeSync(fd);
    chmodSync(input, 0o640);
    const size = statSync(input).size;
    const out = join(dir, 'sparse.out');
    const target = await resolveOutputTarget(out);
    if (target.kind !== 'file') throw new Error('not a file target');
    const inFd = openSync(input, 'r');
    const sink = CloneFileSink.open(target, { inputFd: inFd, mode: 0o640 });
    // The input's own bytes (dropped: the clone will have them), a gap, then a change 100 bytes before the end.
    await sink.writev([Buffer.alloc(1000, 0xee)]);
    await sink.skip(size - 1000 - 100);
    sink.changedAt(size - 100);
    await sink.writev([Buffer.from('the new tail')]);
    await sink.close(true);
    closeSync(inFd);
    const o = readFileSync(out);
    const want = Buffer.concat([readFileSync(input).subarray(0, size - 100), Buffer.from('the new tail')]);
    expect(o.equals(want)).toBe(true);
    expect(statSync(out).blocks).toBeLessThanOrEqual(statSync(input).blocks + 8);
    expect(statSync(out).mode & 0o777).toBe(0o640);
  });

  it('a gap after the first changed byte is a bug, not a silent hole', async () => {
    const input = join(dir, 'small.in');
    writeFileSync(input, Buffer.alloc(10000, 3));
    const target = await resolveOutputTarget(join(dir, 'small.out'));
    if (target.kind !== 'file') throw new Error('not a file target');
    const inFd = openSync(input, 'r');
    const sink = CloneFileSink.open(target, { inputFd: inFd });
    sink.changedAt(10);
    await expect(sink.skip(100)).rejects.toThrow(RangeError);
    await sink.close(false);
    closeSync(inFd);
    expect(existsSync(join(dir, 'small.out'))).toBe(false);
  });
});

describe('an input that changes while a cloned rewrite reads it: nothing written', () => {
  const S = samplePaths().find((s) => s.name === 'qemu-7.2/virt-7.2_max')!.path;

  it('changed while the device state is read', async () => {
    const input = join(dir, 'changing-1.mig');
    copyFileSync(S, input);
    const out = join(dir, 'changing-1.out');
    let changed = false;
    const e = await rewriteFile(input, out, {
      ...stripFirst,
      onProgress: (o) => {
        if (o > 467000 && !changed) {
          changed = true;
          const fd = openSync(input, 'r+');
          writeSync(fd, Buffer.from([0xff]), 0, 1, 100000);
          closeSync(fd);
        }
      },
    }).catch((x) => x);
    expect(changed).toBe(true);
    expect(e).toBeInstanceOf(VmstateError);
    expect((e as VmstateError).message).toMatch(/changed while it was read \(it was modified\): nothing written/);
    expect(existsSync(out)).toBe(false);
  });

  it('changed after the last read, before the clone: the check after the clone refuses to name it', async () => {
    const input = join(dir, 'changing-2.mig');
    copyFileSync(S, input);
    const out = join(dir, 'changing-2.out');
    const e = await rewriteFile(input, out, { ...stripFirst, beforeCommit: () => appendFileSync(input, 'x') }).catch((x) => x);
    expect(e).toBeInstanceOf(VmstateError);
    expect((e as VmstateError).message).toMatch(/^the input .* changed while it was read \(its size went from 516679 to 516680 bytes\): nothing written/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('changing-2.out'))).toEqual([]);
  });

  it('the clone sink itself: an input changed between the last byte given and the commit is refused after cloning', async () => {
    const input = join(dir, 'changing-3.in');
    writeFileSync(input, Buffer.alloc(50000, 5));
    const out = join(dir, 'changing-3.out');
    const target = await resolveOutputTarget(out);
    if (target.kind !== 'file') throw new Error('not a file target');
    const inFd = openSync(input, 'r');
    const { fileState } = await import('../src/wire/file-state.js');
    const { fstatSync } = await import('node:fs');
    const sink = CloneFileSink.open(target, { inputFd: inFd, input: fileState(fstatSync(inFd, { bigint: true })), inputName: input });
    sink.changedAt(49000);
    await sink.writev([Buffer.alloc(49000), Buffer.from('tail')]);
    appendFileSync(input, 'more');
    const e = await sink.close(true).catch((x) => x);
    closeSync(inFd);
    expect(e).toBeInstanceOf(VmstateError);
    expect((e as VmstateError).message).toMatch(/changed while it was read \(its size went from 50000 to 50004 bytes\)/);
    expect(sink.method).not.toBeNull();
    expect(existsSync(out)).toBe(false);
  });

  it('a refused rewrite makes no clone', async () => {
    const out = join(dir, 'refused.out');
    const target = await resolveOutputTarget(out);
    if (target.kind !== 'file') throw new Error('not a file target');
    const inFd = openSync(S, 'r');
    const sink = CloneFileSink.open(target, { inputFd: inFd });
    sink.changedAt(10);
    await sink.writev([Buffer.alloc(100)]);
    await sink.close(false);
    closeSync(inFd);
    expect(sink.method).toBeNull();
    expect(existsSync(out)).toBe(false);
  });
});
