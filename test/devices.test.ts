/**
 * Streams of guests that ran, with devices (samples/devices/, unpacked from its xz archives into a
 * scratch directory): every stream decodes, read tail-first as walked whole, its state dump is
 * byte for byte what QEMU's analyser printed for it (where the analyser reads it), it round-trips
 * unchanged through rewrite, and its cpreg arrays are those the independent byte-pattern reader
 * finds. The mapped-ram streams and the libvirt sparse image decode to the layout the manifest
 * records (block headers, bitmaps, pages present), their dumps equal the analyser's, and their
 * rewrites keep the holes. The load table is checked for consistency with the samples (its
 * outcomes are real QEMU's).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeStream as decodeFile } from '../src/stream/decode.js';
import { rewriteFile } from '../src/rewrite/rewrite-file.js';
import { inspectReport } from '../src/report/inspect.js';
import { regsReport } from '../src/report/regs.js';
import { stateReport } from '../src/report/dump.js';
import { analyserJson } from '../src/stream/json-writer.js';
import { vmstate } from './helpers/cli.js';
import { SAMPLES_DIR } from './helpers/samples.js';
import { minimalCpregs } from './helpers/minimal-cpregs.js';
import { countingFileSource, expectSameAsWhole } from './helpers/tail.js';

const DEVICES = join(SAMPLES_DIR, 'devices');
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

interface Sample {
  file: string;
  qemu: string;
  machineType: string;
  config: string | null;
  kind: string;
  archive: string;
  bytes: number;
  sha256: string;
}
const manifest: Sample[] = readJson(join(DEVICES, 'manifest.json')).samples;
const configs: { id: string; smp: number; cpu: string }[] = readJson(join(DEVICES, 'configs.json')).configs;
const analyser: Map<string, { analyser: string; analyserSha256: string | null; analyserError: string | null }> = new Map(
  readJson(join(DEVICES, 'analyser.json')).samples.map((d: { file: string }) => [d.file, d]),
);
const streams = manifest.filter((s) => s.kind === 'stream');
const mappedRam = manifest.filter((s) => s.kind !== 'stream');

let root = '';
/** Where a manifest file is once unpacked (`devices/qemu-7.2/x.mig` → `<scratch>/qemu-7.2/x.mig`). */
const unpacked = (file: string) => join(root, file.slice('devices/'.length));

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (d) => h.update(d))
      .on('end', () => resolve(h.digest('hex')))
      .on('error', reject);
  });
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'vmstate-devices-'));
  // GNU tar restores the holes of the sparse mapped-ram members; xz does the decompression.
  for (const a of new Set(manifest.map((s) => s.archive))) execFileSync('tar', ['-xJf', join(DEVICES, `${a}.tar.xz`), '-C', root]);
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

describe('the archives', () => {
  it('hold every sample of the manifest, byte for byte, and nothing else', async () => {
    for (const s of manifest) expect(await sha256File(unpacked(s.file)), s.file).toBe(s.sha256);
    const files = readdirSync(root, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
    const known = new Set(manifest.map((s) => unpacked(s.file)));
    const extra = files.map((d) => join(d.parentPath, d.name)).filter((p) => !known.has(p) && !/\.(console\.txt|json)$/.test(p));
    expect(extra).toEqual([]);
  });

  it('cover each guest configuration on QEMU 7.2, 10.0 and 11.1 with machine type virt-7.2', () => {
    for (const c of configs) {
      for (const q of ['7.2', '10.0', '11.1']) {
        expect(streams.some((s) => s.config === c.id && s.qemu === q && s.machineType === 'virt-7.2'), `${c.id} on ${q}`).toBe(true);
      }
    }
  });
});

describe('every device stream decodes like QEMU reads it', () => {
  for (const s of streams) {
    it(`${s.file}: inspect, regs and dump; the dump equals QEMU's analyser`, async () => {
      const path = unpacked(s.file);
      const d = await decodeFile(path, { collectState: true });
      expectSameAsWhole(d, await decodeFile(path, { collectState: true, fullWalk: true }), s.file);
      const smp = configs.find((c) => c.id === s.config)!.smp;
      expect(d.cpus.length).toBe(smp);
      // The independent reader finds the same cpreg arrays in the bytes.
      const minimal = minimalCpregs(readFileSync(path));
      expect(minimal.map((m) => m.ids)).toEqual(d.cpus.map((c) => c.ids));
      expect(minimal.map((m) => m.values)).toEqual(d.cpus.map((c) => c.values));
      const ins = inspectReport(path, d);
      expect(ins.machine).toBe(s.machineType);
      expect(ins.cpus.map((c) => c.cpregs)).toEqual(d.cpus.map((c) => c.count));
      const regs = regsReport(d.cpus);
      expect(regs.cpus.map((c) => c.registers.length)).toEqual(d.cpus.map((c) => c.count));
      // Every id is named (the secure-only EL2 TLBI nXS of 10.0 and 11.1 included).
      expect(regs.cpus.flatMap((c) => c.registers.filter((r) => r.name === null).map((r) => r.id))).toEqual([]);
      const dump = analyserJson(stateReport(d)) + '\n';
      const a = analyser.get(s.file)!;
      if (a.analyser === 'ok') {
        expect(createHash('sha256').update(dump).digest('hex')).toBe(a.analyserSha256);
      } else {
        // QEMU's analyser cannot read 7.2 aarch64 streams (test/golden/ANALYSER.md).
        expect(s.qemu).toBe('7.2');
        expect(a.analyserError).toBe('Exception: Unknown section type: 5');
        expect(Object.keys(JSON.parse(dump)).filter((k) => k.startsWith('cpu (')).length).toBe(smp);
      }
    });

    it(`${s.file}: rewrite without edits writes the same bytes`, async () => {
      const out = join(root, 'roundtrip.mig');
      await rewriteFile(unpacked(s.file), out);
      expect(await sha256File(out)).toBe(s.sha256);
      rmSync(out);
    });
  }

  // The commands themselves on one stream per QEMU version and firmware.
  const picks = ['qemu-7.2/virt-7.2_a57-virtio-mmio', 'qemu-10.0/virt-7.2_max-virtio-pci', 'qemu-11.1/virt-7.2_max-edk2-virtio-pci'];
  for (const name of picks) {
    it(`vmstate inspect, regs, dump and rewrite on ${name}`, async () => {
      const path = unpacked(`devices/${name}.mig`);
      for (const cmd of ['inspect', 'regs', 'dump']) {
        const r = vmstate([cmd, path, '--json']);
        expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
        expect(() => JSON.parse(r.stdout)).not.toThrow();
      }
      const out = join(root, 'cli-roundtrip.mig');
      const r = vmstate(['rewrite', path, '-o', out]);
      expect(r.code, r.stderr).toBe(0);
      expect(await sha256File(out)).toBe(manifest.find((s) => s.file === `devices/${name}.mig`)!.sha256);
      rmSync(out);
    });
  }
});

interface MappedRamFacts {
  streamOffset: number;
  capabilities: string[];
  ramSectionOffset: number;
  blocks: { block: string; usedLength: number; headerOffset: number; version: number; bitmapOffset: number; pagesOffset: number; pagesPresent: number }[];
}

describe('mapped-ram streams and the libvirt sparse image decode as the manifest records them', () => {
  for (const s of mappedRam) {
    const facts = (s as Sample & { mappedRam: MappedRamFacts }).mappedRam;
    it(`${s.file}: tail-first equals the whole walk; the whole walk reads every block's bitmap`, async () => {
      const path = unpacked(s.file);
      const tail = await decodeFile(path, { collectState: true });
      const whole = await decodeFile(path, { collectState: true, fullWalk: true });
      expectSameAsWhole(tail, whole, s.file);
      expect(whole.configuration!.capabilities).toEqual(facts.capabilities);
      expect((whole.container?.streamOffset ?? 0) + whole.iterative[0]!.offset).toBe(facts.ramSectionOffset);
      const blocks = whole.ram!.blocks.map((b) => ({ block: b.name, usedLength: b.length, headerOffset: b.mappedRam!.headerOffset, version: b.mappedRam!.version, bitmapOffset: b.mappedRam!.bitmapOffset, pagesOffset: b.mappedRam!.pagesOffset, pagesPresent: b.mappedRam!.pagesPresent }));
      expect(blocks).toEqual(facts.blocks.map((b) => ({ block: b.block, usedLength: b.usedLength, headerOffset: b.headerOffset, version: b.version, bitmapOffset: b.bitmapOffset, pagesOffset: b.pagesOffset, pagesPresent: b.pagesPresent })));
      // No RAM record in the stream itself: the pages are in the file at their offsets.
      expect(Object.values(whole.ram!.records).every((n) => n === 0)).toBe(true);
      expect(whole.ram!.payloadBytes).toBe(facts.blocks.reduce((n, b) => n + b.pagesPresent * 4096, 0));
      // Read tail-first, no bitmap was read.
      expect(tail.ram!.blocks.every((b) => b.mappedRam!.pagesPresent === null)).toBe(true);
      expect(s.kind === 'libvirt-sparse' ? tail.container?.header.format : null).toBe(s.kind === 'libvirt-sparse' ? 'sparse' : null);
    });

    it(`${s.file}: rewrite keeps every byte and every hole; an edit changes the tail only, the same cloned or walked whole`, async () => {
      const path = unpacked(s.file);
      const same = join(root, 'mapped-same.out');
      await rewriteFile(path, same);
      expect(await sha256File(same)).toBe(s.sha256);
      expect(statSync(same).blocks).toBeLessThanOrEqual(statSync(path).blocks);
      const cloned = join(root, 'mapped-clone.out');
      const walked = join(root, 'mapped-walked.out');
      const edit = { editCpu: (c: { ids: bigint[]; values: bigint[] }) => ({ ids: c.ids.slice(1), values: c.values.slice(1) }) };
      const r1 = await rewriteFile(path, cloned, edit);
      const r2 = await rewriteFile(path, walked, { ...edit, fullWalk: true });
      expect(r1.walk.mode).toBe('tail-first');
      expect(r2.walk.mode).toBe('full');
      expect(readFileSync(cloned).equals(readFileSync(walked))).toBe(true);
      // Holes kept either way (the walked copy leaves whole pages of zeros unwritten).
      for (const o of [cloned, walked]) expect(statSync(o).blocks, o).toBeLessThanOrEqual(statSync(path).blocks);
      // The output is the input up to the first cpu section, then the edited tail, decodable and intact.
      const first = (await decodeFile(path)).cpus[0]!;
      const base = (await decodeFile(path)).container?.streamOffset ?? 0;
      const a = readFileSync(path);
      const b = readFileSync(cloned);
      expect(a.subarray(0, base + first.countOffset).equals(b.subarray(0, base + first.countOffset))).toBe(true);
      const d = await decodeFile(cloned, { fullWalk: true });
      expect(d.cpus.map((c) => c.count)).toEqual(r1.cpus.map((c) => c.count - 1));
      for (const f of [same, cloned, walked]) rmSync(f);
    });
  }

  it('the CLI: inspect, regs, dump, check, verify, rewrite', async () => {
    const path = unpacked('devices/qemu-11.1/libvirt-12.8.0_virt-7.2_max-gicv3.sparse.save');
    const ins = vmstate(['inspect', path]);
    expect(ins.code, ins.stderr).toBe(0);
    expect(ins.stdout).toMatch(/^container   libvirt save image, version 2, sparse stream at byte 67000/);
    expect(ins.stdout).toContain('RAM         3 blocks, 201,326,592 bytes; mapped-ram, bitmaps not read');
    const ram = vmstate(['inspect', path, '--ram']);
    expect(ram.stdout).toContain('RAM         3 blocks, 201,326,592 bytes; mapped-ram: 569 pages present');
    for (const args of [['regs', path], ['dump', path], /* its own guest: libvirt's (acpi=off) has pl061 and gpio-key */ ['check', path, '--dest', path, '--loader', 'qemu-11.1'], ['verify', path]]) {
      const r = vmstate(args);
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(0);
      expect(r.stderr).toBe('');
    }
    const out = join(root, 'cli-sparse.save');
    const r = vmstate(['rewrite', path, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(await sha256File(out)).toBe(manifest.find((m) => m.kind === 'libvirt-sparse')!.sha256);
    expect(statSync(out).blocks).toBeLessThanOrEqual(statSync(path).blocks);
    rmSync(out);
  });
});

describe('rewrites of mapped-ram streams that real QEMU loaded (samples/truth/mapped-ram-rewrites.json)', () => {
  const table = readJson(join(SAMPLES_DIR, 'truth', 'mapped-ram-rewrites.json'));
  const rows: { id: string; kind: string; argv: string[]; refused: string | null; sha256: string; allocatedBytes: number; sourceAllocatedBytes: number; result: string; dest: { qemu: string; capabilities: string[] } }[] = table.rows;

  it('every mapped-ram sample and the libvirt image loaded after a rewrite, each into its own QEMU with its capabilities', () => {
    expect(rows.filter((r) => r.kind === 'strip').map((r) => r.result)).toEqual(['accept', 'accept', 'accept', 'accept', 'accept']);
    // The suggested rewrites across versions: refused by vmstate, and (forced) by QEMU, as the exec: rows.
    for (const r of rows.filter((x) => x.kind === 'suggested')) expect([r.refused !== null, r.result], r.id).toEqual([true, 'reject']);
    for (const r of rows) expect(r.allocatedBytes, r.id).toBeLessThanOrEqual(r.sourceAllocatedBytes);
  });

  for (const r of rows) {
    it(`${r.id}: the tool writes today the bytes QEMU loaded`, async () => {
      const out = join(root, 'mapped-rw.out');
      const args = r.argv.slice(1).map((a) => (a === 'OUT' ? out : a.startsWith('devices/') ? unpacked(a) : a));
      if (r.refused) {
        // Without --force vmstate refuses it (QEMU refused what --force wrote).
        const no = vmstate(args.filter((a) => a !== '--force'));
        expect(no.code, no.stderr).toBe(1);
        expect(no.stderr.trim().split('\n').at(-1)!.replace(out, 'OUT')).toBe(r.refused);
      }
      const res = vmstate(args);
      expect(res.code, res.stderr).toBe(0);
      expect(await sha256File(out)).toBe(r.sha256);
      const input = unpacked(r.argv[2]!);
      expect(statSync(out).blocks, "holes kept").toBeLessThanOrEqual(statSync(input).blocks);
      rmSync(out);
    });
  }
});

describe('bytes read tail-first do not grow with the RAM', () => {
  it('a guest of 128 MiB that ran EDK2 (25.6 MB stream), a 64 MiB mapped-ram file (208 MB), a 2.8 MB stream: under 512 KiB each', async () => {
    for (const f of ['devices/qemu-11.1/virt-7.2_max-edk2-virtio-pci.mig', 'devices/qemu-11.1/virt-7.2_max-gicv3-its.mapped-ram.mig', 'devices/qemu-7.2/virt-7.2_a57-gicv2.mig']) {
      const src = await countingFileSource(unpacked(f));
      const d = await decodeFile(src);
      await src.close();
      expect(d.walk.mode, f).toBe('tail-first');
      expect(src.bytesRead(), f).toBeLessThan(512 << 10);
    }
  });
});

describe("mapped-ram facts and dumps agree with QEMU's analyser", () => {
  for (const s of mappedRam.filter((m) => m.kind !== 'libvirt-sparse')) {
    it(s.file, async () => {
      const golden = join(import.meta.dirname, 'golden', 'mapped-ram', s.file.slice('devices/'.length).replace(/\.mig$/, '.state.json'));
      const text = readFileSync(golden);
      expect(createHash('sha256').update(text).digest('hex')).toBe(analyser.get(s.file)!.analyserSha256);
      // The blocks the manifest's layout lists are the RAM blocks the analyser read, with their sizes.
      const ram = JSON.parse(text.toString('utf8'))['ram (1)']['section sizes'];
      const layout = (s as Sample & { mappedRam: { blocks: { block: string; usedLength: number }[] } }).mappedRam;
      expect(layout.blocks.map((b) => [b.block, '0x' + b.usedLength.toString(16).padStart(16, '0')])).toEqual(Object.entries(ram));
      // vmstate dump is the analyser's output, byte for byte (read tail-first).
      const dump = analyserJson(stateReport(await decodeFile(unpacked(s.file), { collectState: true }))) + '\n';
      expect(dump).toBe(text.toString('utf8'));
    });
  }
});

describe('the device load table', () => {
  const table = readJson(join(SAMPLES_DIR, 'truth', 'devices-table.json'));
  const byFile = new Map(manifest.map((s) => [s.file, s]));
  const rows: {
    id: string;
    kind: string;
    config: string;
    source: string;
    dest: { qemu: string; machineType: string; incoming: string; capabilities?: string[] };
    destSample: string | null;
    result: string | null;
    stderr: string[];
    rewrite?: { of: string };
    edit?: { of: string };
    suggestion?: { of: string };
  }[] = table.rows;

  it('lists unique rows whose streams and destination samples are samples of the manifest', () => {
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
    for (const r of rows) {
      const src = byFile.get(r.source);
      expect(src, r.id).toBeDefined();
      expect(src!.config).toBe(r.config);
      if (r.destSample === null) continue;
      // The destination sample was saved by the destination itself: same QEMU, machine type, guest,
      // and stream-format capabilities (a mapped-ram file where it was started with mapped-ram).
      const dst = byFile.get(r.destSample)!;
      const caps = r.dest.capabilities ?? [];
      const kind = !caps.includes('mapped-ram') ? 'stream' : caps.includes('multifd') ? 'mapped-ram-multifd' : 'mapped-ram';
      expect([dst.qemu, dst.machineType, dst.config, dst.kind], r.id).toEqual([r.dest.qemu, r.dest.machineType, r.config, kind]);
    }
  });

  it('records real outcomes: accept without messages, reject with QEMU\'s last line, crash by a signal', () => {
    for (const r of rows) {
      if (r.result === null) {
        // nothing written even with --force, or no command suggested
        expect(['rewrite', 'suggested'], r.id).toContain(r.kind);
        continue;
      }
      expect(['accept', 'reject', 'crash']).toContain(r.result);
      const errors = r.stderr.filter((l) => !l.startsWith('warning:'));
      if (r.result === 'accept') expect(errors, r.id).toEqual([]);
      if (r.result === 'reject') expect(errors.at(-1), r.id).toMatch(/^load of migration failed: /);
      if (r.result === 'crash') expect(errors.join('\n'), r.id).toMatch(/Assertion .* failed/);
    }
  });

  it('holds at least 60 real loads of unmodified streams, every stream into its own QEMU accepted', () => {
    const loads = rows.filter((r) => r.kind === 'load');
    expect(loads.length).toBeGreaterThanOrEqual(60);
    for (const s of streams) {
      const own = loads.filter((r) => r.source === s.file && r.dest.qemu === s.qemu && r.dest.machineType === s.machineType);
      expect(own.map((r) => r.result), s.file).toEqual(['accept']);
    }
  });

  it('names the row each rewrite, edit and suggested rewrite came from', () => {
    const ids = new Set(rows.map((r) => r.id));
    for (const r of rows) {
      if (r.kind === 'rewrite') expect(ids.has(r.rewrite!.of), r.id).toBe(true);
      if (r.kind === 'edit') expect(ids.has(r.edit!.of), r.id).toBe(true);
      if (r.kind === 'suggested') expect(ids.has(r.suggestion!.of), r.id).toBe(true);
    }
  });
});
