/**
 * Tail-first reading of seekable streams: on every committed sample (TCG streams of QEMU 7.2, 10.0
 * and 11.1, and the real KVM streams) the device state is found from the vmdesc without reading
 * the RAM, and everything decoded equals a walk of the whole stream; the bytes read stay within a
 * few hundred KiB whatever the RAM holds. Streams crafted to mislead the locator (a stale vmdesc,
 * the RAM's end and a section header planted inside a RAM page where that vmdesc points) are read
 * whole instead, with a note, and give the whole walk's result.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeStream, type DecodedStream } from '../src/stream/decode.js';
import { BufferSource } from '../src/wire/source.js';
import { MemorySink, StreamWriter } from '../src/wire/writer.js';
import { stateReport } from '../src/report/dump.js';
import { analyserJson } from '../src/stream/json-writer.js';
import { withInputObserver } from '../src/container/observer.js';
import { samplePaths, SAMPLES_DIR, sampleBytes } from './helpers/samples.js';
import { countingFileSource, expectSameAsWhole } from './helpers/tail.js';
import { vmstate } from './helpers/cli.js';

const seekable = (b: Buffer) => new BufferSource(b, [128 << 10], true);

describe('every committed TCG sample: tail-first equals the whole walk', () => {
  for (const s of samplePaths()) {
    it(s.name, async () => {
      const tail = await decodeStream(s.path, { collectState: true });
      const whole = await decodeStream(s.path, { collectState: true, fullWalk: true });
      expectSameAsWhole(tail, whole, s.name);
      // What the analyser's dump shows is the same too (RAM block sizes come from the head).
      expect(analyserJson(stateReport(tail))).toBe(analyserJson(stateReport(whole)));
      // The RAM block list is known without the walk; the record counts are not.
      expect(tail.ram!.walked).toBe(false);
      expect(tail.ram!.blocks.map((b) => [b.name, b.length])).toEqual(whole.ram!.blocks.map((b) => [b.name, b.length]));
    });
  }
});

describe('every real KVM sample: tail-first equals the whole walk', () => {
  const dir = join(SAMPLES_DIR, 'kvm');
  const files: string[] = [];
  for (const l0 of readdirSync(dir).filter((d) => d.startsWith('l0-'))) {
    for (const c of readdirSync(join(dir, l0))) for (const f of readdirSync(join(dir, l0, c)).filter((x) => x.endsWith('.mig.xz'))) files.push(join(dir, l0, c, f));
  }
  it(`finds the ${files.length} streams`, () => expect(files.length).toBeGreaterThanOrEqual(30));
  for (const f of files) {
    const name = f.slice(dir.length + 1);
    it(name, async () => {
      const b = execFileSync('xz', ['-dc', f], { maxBuffer: 1 << 30 });
      const tail = await decodeStream(seekable(b), { collectState: true });
      const whole = await decodeStream(seekable(b), { collectState: true, fullWalk: true });
      expectSameAsWhole(tail, whole, name);
    });
  }
});

describe('bytes read', () => {
  it('tail-first reads the head, the last 256 KiB and the device state: never the RAM', async () => {
    for (const s of samplePaths()) {
      const src = await countingFileSource(s.path);
      const d = await decodeStream(src);
      await src.close();
      const w = d.walk as { from: number; to: number };
      expect(d.walk.mode).toBe('tail-first');
      // A small first read for the head, the tail read that finds the vmdesc (and holds the device
      // state for its proof), and the device state again for the decode (a small read, then chunks).
      expect(src.bytesRead(), s.name).toBeLessThanOrEqual((16 << 10) + (256 << 10) + (d.size - w.to) + (128 << 10));
      expect(src.bytesRead()).toBeLessThan(512 << 10);
    }
  });
});

describe('the commands read files tail-first and pipes whole, with the same output', () => {
  const picks = ['qemu-7.2/virt-7.2_max', 'qemu-10.0/virt-7.2_cortex-a57', 'qemu-11.1/virt-11.1_max'];
  for (const name of picks) {
    it(name, () => {
      const path = samplePaths().find((s) => s.name === name)!.path;
      const dest = join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_cortex-a57.mig');
      for (const args of [['regs'], ['dump'], ['profile'], ['check', '--dest', dest]]) {
        const file = vmstate([args[0]!, path, ...args.slice(1)]);
        const pipe = vmstate([args[0]!, '-', ...args.slice(1)], sampleBytes(path));
        expect(file.code, `${args[0]}: ${file.stderr}`).toBe(pipe.code);
        // check's next step names its output after the input file, `rewritten.mig` for a pipe.
        const named = path.replace(/\.mig$/, '-rewritten.mig');
        expect(file.stdout.replaceAll(named, 'rewritten.mig').replaceAll(path, '-')).toBe(pipe.stdout);
        expect(file.stderr).toBe('');
      }
    });
  }
});

/** The sample the crafted streams are made from, and its landmarks (found by `pages.py`-like walking below). */
const BASE = join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_max.mig');

/** Offset of the last PAGE record's payload of a stream walked whole (the RAM's last guest data). */
function lastPagePayload(b: Buffer): number {
  // The stream's RAM bodies: record words; a PAGE record (flag 0x08) has its block name unless CONTINUE (0x20).
  let last = -1;
  let p = 8;
  const str8 = () => {
    const n = b[p]!;
    p += 1 + n;
  };
  const ids = new Map<number, string>();
  for (;;) {
    const t = b[p++]!;
    if (t === 0x07) {
      p += 4 + b.readUInt32BE(p);
      while (b[p] === 0x05) {
        p++;
        const name = b.toString('latin1', p + 1, p + 1 + b[p]!);
        str8();
        p += 4;
        if (name.endsWith('target-page-bits')) p += 4;
        else if (name.endsWith('capabilities')) {
          const n = b.readUInt32BE(p);
          p += 4;
          for (let i = 0; i < n; i++) str8();
        }
      }
      continue;
    }
    let sid: number;
    if (t === 0x01 || t === 0x04) {
      sid = b.readUInt32BE(p);
      p += 4;
      const name = b.toString('latin1', p + 1, p + 1 + b[p]!);
      str8();
      p += 8;
      ids.set(sid, name);
      if (t === 0x04) return last;
    } else if (t === 0x02 || t === 0x03) {
      sid = b.readUInt32BE(p);
      p += 4;
    } else if (t === 0x08) {
      p += 4 + b.readUInt16BE(p + 2);
      continue;
    } else {
      return last;
    }
    for (;;) {
      const lo = b.readUInt32BE(p + 4);
      const flags = lo & 0xfff;
      p += 8;
      if (flags & 0x04) {
        let total = b.readUInt32BE(p - 8) * 2 ** 32 + (lo - flags);
        while (total > 0) {
          str8();
          total -= Number(b.readBigUInt64BE(p));
          p += 8;
        }
      }
      if (flags & 0x02) {
        if (!(flags & 0x20)) str8();
        p += 1;
      } else if (flags & 0x08) {
        if (!(flags & 0x20)) str8();
        last = p;
        p += 4096;
      }
      if (flags & 0x10) break;
    }
    p += 5;
  }
}

/**
 * The base stream with `k` registers removed from cpu 0 (the library's own rewrite) but the
 * original vmdesc kept: a stale vmdesc, whose sizes put the device state `16 k` bytes early.
 */
async function staleVmdesc(k: number): Promise<Buffer> {
  const orig = sampleBytes(BASE);
  const sink = new MemorySink();
  const out = new StreamWriter(sink);
  const d = await decodeStream(new BufferSource(orig), {
    output: out,
    editCpu: (c) => (c.instance === 0 ? { ids: c.ids.slice(k), values: c.values.slice(k) } : null),
  });
  await out.end();
  const edited = sink.bytes();
  const origDesc = (await decodeStream(seekable(orig))).vmdesc!;
  const eof = edited.length - (5 + d.vmdesc!.length);
  expect(edited[eof - 1]).toBe(0x00);
  return Buffer.concat([edited.subarray(0, eof), orig.subarray(origDesc.offset)]);
}

/**
 * Decodes `b` tail-first (noting what the observer is told) and whole; both results, or the
 * errors. (The state of a cpu section whose vmdesc is stale cannot be rendered: `collectState` off.)
 */
async function both(b: Buffer, collectState = true): Promise<{ tail: DecodedStream | Error; whole: DecodedStream | Error; notes: string[] }> {
  const notes: string[] = [];
  const observer = { opened: () => null, noted: (m: string) => void notes.push(m) };
  const tail = await withInputObserver(observer, () => decodeStream(seekable(b), { collectState })).catch((e: Error) => e);
  const whole = await decodeStream(seekable(b), { collectState, fullWalk: true }).catch((e: Error) => e);
  return { tail, whole, notes };
}

describe('streams crafted to mislead the locator are read whole', () => {
  const orig = sampleBytes(BASE);
  const page = lastPagePayload(orig);
  const deviceState = 467735; // where the timer section starts (regressions.test.ts's landmark)
  // 100 registers of 16 bytes: the stale vmdesc places the device state inside the last RAM page.
  const k = 100;
  const wrong = deviceState - 16 * k;

  it('the landmarks: the last RAM page ends 31 bytes before the device state, which a stale vmdesc puts inside it', async () => {
    expect(page + 4096 + 31).toBe(deviceState);
    expect(wrong - 13 > page && wrong + 100 < page + 4096).toBe(true);
    const d = await decodeStream(seekable(orig));
    expect(d.sections[0]).toMatchObject({ name: 'timer', offset: deviceState });
  });

  it('a stale vmdesc (registers removed, the vmdesc not patched): no RAM end where it points, read whole, same result', async () => {
    const b = await staleVmdesc(k);
    const { tail, whole, notes } = await both(b, false);
    expect(whole).not.toBeInstanceOf(Error);
    const t = tail as DecodedStream;
    expect(t.walk).toMatchObject({ mode: 'full', doubt: true });
    expect((t.walk as { reason: string }).reason).toMatch(/^no RAM end \(EOS record and footer of section 2\) before 466135/);
    expect({ ...t, walk: null }).toEqual({ ...(whole as DecodedStream), walk: null });
    expect((whole as DecodedStream).warnings).toEqual(['vmdesc describes 304 cpregs for cpu instance 0, the section holds 204 (stale vmdesc)']);
    expect(notes).toEqual([`the input: read the whole stream, not only its tail: ${(t.walk as { reason: string }).reason}`]);
  });

  it("the RAM's end and the first section's header planted in the RAM page where the stale vmdesc points: the proof fails, read whole", async () => {
    const b = await staleVmdesc(k);
    // EOS, the RAM section's footer, then a FULL header of 'timer' instance 0 version 2, as the vmdesc lists it.
    const fake = Buffer.from('00000000000000107e00000002' + '04' + '00000000' + '05' + Buffer.from('timer').toString('hex') + '00000000' + '00000002', 'hex');
    fake.copy(b, wrong - 13);
    const { tail, whole, notes } = await both(b, false);
    expect(whole).not.toBeInstanceOf(Error);
    const t = tail as DecodedStream;
    expect(t.walk).toMatchObject({ mode: 'full', doubt: true });
    expect((t.walk as { reason: string }).reason).toMatch(/^the device state from 466135 does not decode: /);
    expect({ ...t, walk: null }).toEqual({ ...(whole as DecodedStream), walk: null });
    expect(notes.length).toBe(1);
  });

  it('the same planted bytes with a truthful vmdesc change nothing: the vmdesc places the device state, not a search', async () => {
    const b = Buffer.from(orig);
    const fake = Buffer.from('00000000000000107e00000002' + '04' + '00000000' + '05' + Buffer.from('timer').toString('hex') + '00000000' + '00000002', 'hex');
    fake.copy(b, page + 100);
    const { tail, whole } = await both(b);
    expectSameAsWhole(tail as DecodedStream, whole as DecodedStream, 'planted');
    expect((tail as DecodedStream).walk).toMatchObject({ to: deviceState });
  });

  it('a vmdesc that lies about a device (larger than written): read whole, which fails where the section does', async () => {
    // globalstate's runstate buffer is 100 bytes; the vmdesc now says 4196: the sizes put the device state 4096 bytes early.
    const text = orig.toString('latin1');
    const at = text.lastIndexOf('"name": "runstate", "type": "buffer", "size": 100');
    expect(at).toBeGreaterThan(0);
    const lying = Buffer.from(text.slice(0, at) + text.slice(at).replace('"size": 100', '"size": 4196'), 'latin1');
    lying.writeUInt32BE(lying.length - (text.lastIndexOf('\u0006{') + 5), text.lastIndexOf('\u0006{') + 1);
    const { tail, whole } = await both(lying);
    expect(whole).toBeInstanceOf(Error);
    expect(tail).toBeInstanceOf(Error);
    expect((tail as Error).message).toBe((whole as Error).message);
  });
});

describe('inspect says how it read', () => {
  it('tail-first by default, the whole stream with --ram', () => {
    const a = vmstate(['inspect', BASE]);
    expect(a.stdout).toContain('read        tail-first: bytes 247 to 467735 not read (RAM; inspect --ram reads them)');
    expect(a.stdout).toContain('RAM         6 blocks, 201,465,856 bytes; records not read');
    const b = vmstate(['inspect', BASE, '--ram']);
    expect(b.stdout).toContain('read        whole stream');
    expect(b.stdout).toContain('RAM         6 blocks, 201,465,856 bytes; records: page 6, zero 49,180');
    expect(JSON.parse(vmstate(['inspect', BASE, '--json']).stdout).walk).toEqual({ mode: 'tail-first', from: 247, to: 467735 });
    expect(readFileSync(BASE).length).toBe(516679);
  });
});
