/**
 * A file-to-file rewrite that clones its input: on every committed sample the output equals the
 * fully walked rewrite's byte for byte (with edits and without, cpu registers and subsections of
 * other devices removed, from the library and from the CLI), the input's holes stay holes,
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
import { decodeStream } from '../src/stream/decode.js';
import type { DeviceSubsections } from '../src/stream/device-subsections.js';
import { vmstate } from './helpers/cli.js';

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

/** Drops `pl011/clock` and `fw_cfg/dma` (every committed sample has both): device edits that change the vmdesc. */
const dropDeviceSubsections = {
  deviceSubsections: true,
  editDevice: (d: DeviceSubsections) => {
    const drop = d.subsections.filter((x) => x.name === 'pl011/clock' || x.name === 'fw_cfg/dma');
    return drop.length ? { drop } : null;
  },
};

describe('subsections of devices other than cpu removed: cloned and fully walked rewrites write the same bytes', () => {
  for (const s of samplePaths()) {
    it(s.name, async () => {
      const a = join(dir, 'sa.mig');
      const b = join(dir, 'sb.mig');
      const ra = await rewriteFile(s.path, a, { ...stripFirst, ...dropDeviceSubsections });
      const rb = await rewriteFile(s.path, b, { ...stripFirst, ...dropDeviceSubsections, fullWalk: true });
      expect([ra.walk.mode, rb.walk.mode]).toEqual(['tail-first', 'full']);
      const bytes = readFileSync(a);
      expect(bytes.equals(readFileSync(b))).toBe(true);
      // The output decodes tail-first too (its vmdesc patched), without the two subsections.
      const after = await decodeStream(a, { deviceSubsections: true });
      expect(after.walk.mode).toBe('tail-first');
      const names = after.deviceSubsections!.flatMap((d) => d.subsections.map((x) => x.name));
      expect(names).toContain('pl031/tick-offset');
      expect(names).not.toContain('pl011/clock');
      expect(names).not.toContain('fw_cfg/dma');
      expect(JSON.stringify(after.vmdesc!.json)).not.toMatch(/pl011\/clock|fw_cfg\/dma/);
      rmSync(a);
      rmSync(b);
    });
  }

  it('the CLI: --strip-subsection of a device, cloned, fully walked and to standard output, the same bytes', () => {
    const S = samplePaths().find((s) => s.name === 'qemu-10.0/virt-10.0_max')!.path;
    const a = join(dir, 'cli-a.mig');
    const b = join(dir, 'cli-b.mig');
    const edits = ['--strip', 'TPIDR_EL0', '--strip-subsection', 'pl011/clock'];
    const ra = vmstate(['rewrite', S, '-o', a, ...edits]);
    expect(ra.code, ra.stderr).toBe(0);
    const rb = vmstate(['rewrite', S, '-o', b, ...edits, '--full-walk']);
    expect(rb.code, rb.stderr).toBe(0);
    const rc = vmstate(['rewrite', S, '-o', '-', ...edits, '-q']);
    expect(rc.code, rc.stderr).toBe(0);
    const bytes = readFileSync(a);
    expect(bytes.equals(readFileSync(b))).toBe(true);
    expect(bytes.equals(rc.out)).toBe(true);
    expect(bytes.length).toBeLessThan(sampleBytes(S).length);
    rmSync(a);
    rmSync(b);
  });
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
