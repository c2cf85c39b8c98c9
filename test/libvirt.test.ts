/**
 * libvirt save images (virsh save / managedsave) around real sample streams: every command
 * reads them transparently, and rewrite writes them back with the same header, XML and
 * cookie bytes and the stream compressed the same way.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execFileSync, spawnSync } from 'node:child_process';
import { vmstate } from './helpers/cli.js';
import { SAMPLES_DIR, sampleBytes } from './helpers/samples.js';
import { minimalCpregs } from './helpers/minimal-cpregs.js';
import { domainXml, libvirtImage, streamOffsetOf, type ImageFormat } from './helpers/libvirt-image.js';
import { decodeStream } from '../src/stream/decode.js';
import { domainFacts, parseLibvirtHeader, parseLibvirtFixedHeader, LIBVIRT_FORMATS } from '../src/container/libvirt.js';
import { openInput } from '../src/container/open.js';

const A57 = join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_cortex-a57.mig');
const MAX11 = join(SAMPLES_DIR, 'qemu-11.1', 'virt-11.1_max.mig');
const dir = mkdtempSync(join(tmpdir(), 'vmstate-libvirt-'));
const hasXz = spawnSync('xz', ['--version']).status === 0;
const hex = (v: bigint) => '0x' + v.toString(16).padStart(16, '0');

function image(name: string, stream: string, o: Parameters<typeof libvirtImage>[1] = {}): string {
  const p = join(dir, name);
  writeFileSync(p, libvirtImage(sampleBytes(stream), o));
  return p;
}

describe('header', () => {
  const stream = sampleBytes(A57);
  it('reads libvirt\'s layout: magic, version 2, XML length, was-running, format, cookie offset', () => {
    const img = libvirtImage(stream, { format: 'gzip', name: 'web-1', machine: 'virt-7.2', wasRunning: false });
    const h = parseLibvirtHeader(img.subarray(0, streamOffsetOf(img)));
    expect(h).toMatchObject({ partial: false, version: 2, endian: 'little', wasRunning: false, formatCode: 1, format: 'gzip', streamOffset: streamOffsetOf(img) });
    expect(h.domain).toEqual({ name: 'web-1', uuid: '6f1d2c4e-1b7a-4c55-9a0e-2f4d7c1e9b30', type: 'kvm', arch: 'aarch64', machine: 'virt-7.2' });
    expect(h.domainXml).toBe(domainXml('web-1', 'virt-7.2'));
    expect(h.cookieXml).toMatch(/^<cookie>[\s\S]*<\/cookie>\n$/);
    expect(h.cookieOffset).toBe(Buffer.byteLength(h.domainXml) + 1);
  });

  it('libvirt\'s format numbering', () => {
    expect(LIBVIRT_FORMATS).toEqual(['raw', 'gzip', 'bzip2', 'xz', 'lzop', 'zstd', 'sparse']);
  });

  it('big-endian headers, version 1 (never compressed), partial images, no cookie', () => {
    const be = libvirtImage(stream, { bigEndian: true, format: 'xz', payload: Buffer.alloc(0) });
    expect(parseLibvirtFixedHeader(be)).toMatchObject({ endian: 'big', version: 2, format: 'xz' });
    const v1 = libvirtImage(stream, { version: 1, format: 'gzip', payload: Buffer.alloc(0) });
    expect(parseLibvirtFixedHeader(v1)).toMatchObject({ version: 1, formatCode: 1, format: 'raw' });
    const part = libvirtImage(stream, { partial: true, cookie: null, payload: Buffer.alloc(0) });
    const h = parseLibvirtHeader(part);
    expect(h.partial).toBe(true);
    expect(h.cookieOffset).toBe(0);
    expect(h.cookieXml).toBe(null);
  });

  it('refuses what libvirt refuses, with typed errors', () => {
    const img = libvirtImage(stream, { payload: Buffer.alloc(0) });
    const bad = (patch: (b: Buffer) => void) => {
      const b = Buffer.from(img);
      patch(b);
      return () => parseLibvirtHeader(b);
    };
    expect(bad((b) => b.writeUInt32LE(3, 16))).toThrow(/version .* not supported/);
    expect(bad((b) => b.writeUInt32LE(9, 28))).toThrow(/unknown format 9/);
    expect(bad((b) => b.writeUInt32LE(0, 20))).toThrow(/invalid XML area length 0/);
    expect(bad((b) => b.writeUInt32LE(0xfffff, 32))).toThrow(/cookie offset .* past the XML area/);
    expect(() => parseLibvirtHeader(img.subarray(0, 50))).toThrow(/ends inside its 92-byte header/);
    expect(() => parseLibvirtHeader(img.subarray(0, 200))).toThrow(/ends inside its XML area/);
  });

  it('domain facts come from the domain\'s own elements (not metadata or comments), entities decoded', () => {
    const xml = `<domain type="kvm" id="3"><!-- <name>old</name> --><metadata><x:n xmlns:x="u"><name>meta</name></x:n></metadata>
      <name>a &amp; b</name><os><type arch="aarch64" machine="virt-10.0">hvm</type><loader type='pflash'/></os></domain>`;
    expect(domainFacts(xml)).toEqual({ name: 'a & b', uuid: null, type: 'kvm', arch: 'aarch64', machine: 'virt-10.0' });
  });
});

describe('every command reads images transparently', () => {
  const formats: ImageFormat[] = hasXz ? ['raw', 'gzip', 'xz'] : ['raw', 'gzip'];
  for (const f of formats) {
    it(`regs on a ${f} image gives exactly the stream's registers (file and pipe)`, () => {
      const img = image(`regs.${f}.save`, MAX11, { format: f });
      const bare = vmstate(['regs', MAX11, '--json']);
      const r = vmstate(['regs', img, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(bare.stdout);
      const pipe = vmstate(['regs', '-', '--json'], readFileSync(img));
      expect(pipe.code, pipe.stderr).toBe(0);
      expect(pipe.stdout).toBe(bare.stdout);
      // And against an independent reader of the bare stream.
      const ref = minimalCpregs(sampleBytes(MAX11));
      const rep = JSON.parse(r.stdout);
      expect(rep.cpus.map((c: { registers: { id: string }[] }) => c.registers.map((x) => x.id))).toEqual(ref.map((c) => c.ids.map(hex)));
      expect(rep.cpus.map((c: { registers: { value: string }[] }) => c.registers.map((x) => x.value))).toEqual(ref.map((c) => c.values.map(hex)));
    });
  }

  it('inspect shows the domain name and machine, then the stream (offsets inside it)', () => {
    const img = image('inspect.save', A57, { format: 'gzip', name: 'db-7', machine: 'virt-7.2' });
    const t = vmstate(['inspect', img]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^container +libvirt save image, version 2, gzip stream at byte \d+, with cookie, domain was running\n/);
    expect(t.stdout).toMatch(/\ndomain +db-7, machine virt-7\.2 \(aarch64, kvm\)/);
    const j = JSON.parse(vmstate(['inspect', img, '--json']).stdout);
    // A gzip stream is read whole (it cannot be read from its tail): like the bare stream with --ram.
    const bare = JSON.parse(vmstate(['inspect', A57, '--ram', '--json']).stdout);
    expect(j.container).toMatchObject({ kind: 'libvirt-save', complete: true, format: 'gzip', domain: { name: 'db-7', machine: 'virt-7.2' } });
    expect(j.walk).toEqual({ mode: 'full', reason: 'the input is not seekable', doubt: false });
    const { container: _c, file: _f, walk: _w, ...rest } = j;
    const { file: _g, walk: _v, ...bareRest } = bare;
    expect(rest).toEqual(bareRest);
  });

  it('inspect warns about an image libvirt did not finish (LibvirtQemudPart)', () => {
    const img = image('partial.save', A57, { partial: true });
    const t = vmstate(['inspect', img]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toContain('warning: the image is marked incomplete');
    expect(JSON.parse(vmstate(['inspect', img, '--json']).stdout).container.complete).toBe(false);
  });

  it('dump and check give what they give on the bare stream', () => {
    const img = image('dump.save', A57, { format: 'gzip' });
    expect(vmstate(['dump', img]).stdout).toBe(vmstate(['dump', A57]).stdout);
    const c = vmstate(['check', img, '--dest', A57, '--json']);
    expect(c.code, c.stderr).toBe(0);
    expect({ ...JSON.parse(c.stdout), stream: '' }).toEqual({ ...JSON.parse(vmstate(['check', A57, '--dest', A57, '--json']).stdout), stream: '' });
    const r = vmstate(['check', image('max11.save', MAX11, { format: 'gzip' }), '--dest', A57]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^REJECT/);
  });

  it('the library: decodeStream and openInput', async () => {
    const img = image('lib.save', MAX11, { format: 'gzip', name: 'lib' });
    const [s, bare] = [await decodeStream(img), await decodeStream(MAX11)];
    expect(s.cpus.map((c) => c.ids)).toEqual(bare.cpus.map((c) => c.ids));
    expect(s.size).toBe(bare.size);
    const src = await openInput(img);
    expect(src.container?.header.domain.name).toBe('lib');
    await src.close();
  });
});

describe('rewrite keeps the container', () => {
  const stream = sampleBytes(A57);

  it('raw: without edits the image is copied byte for byte (file and pipe)', () => {
    const img = image('rw.raw.save', A57);
    const out = join(dir, 'rw.raw.out');
    const r = vmstate(['rewrite', img, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out).equals(readFileSync(img))).toBe(true);
    const p = vmstate(['rewrite', '-', '-o', '-'], readFileSync(img));
    expect(p.code, p.stderr).toBe(0);
    expect(p.out.equals(readFileSync(img))).toBe(true);
  });

  it('raw with an edit: header and XML byte-identical, stream as the bare rewrite', () => {
    const img = image('edit.raw.save', A57);
    const out = join(dir, 'edit.raw.out');
    const bareOut = join(dir, 'edit.bare.out');
    expect(vmstate(['rewrite', img, '-o', out, '--strip', 'TPIDR_EL0']).code).toBe(0);
    expect(vmstate(['rewrite', A57, '-o', bareOut, '--strip', 'TPIDR_EL0']).code).toBe(0);
    const o = readFileSync(out);
    const at = streamOffsetOf(readFileSync(img));
    expect(o.subarray(0, at).equals(readFileSync(img).subarray(0, at))).toBe(true);
    expect(o.subarray(at).equals(readFileSync(bareOut))).toBe(true);
  });

  it('gzip: header, XML and cookie identical; the stream re-compressed with gzip decodes to the same stream', () => {
    const img = image('rw.gz.save', A57, { format: 'gzip' });
    const out = join(dir, 'rw.gz.out');
    const r = vmstate(['rewrite', img, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    const o = readFileSync(out);
    const at = streamOffsetOf(readFileSync(img));
    expect(o.subarray(0, at).equals(readFileSync(img).subarray(0, at))).toBe(true);
    expect(o[at]).toBe(0x1f);
    expect(o[at + 1]).toBe(0x8b);
    expect(gunzipSync(o.subarray(at)).equals(stream)).toBe(true);
    // With an edit: the decompressed stream is the bare rewrite's output.
    const edited = join(dir, 'rw.gz.edit');
    const bareOut = join(dir, 'rw.gz.bare');
    expect(vmstate(['rewrite', img, '-o', edited, '--strip', 'TPIDR_EL0']).code).toBe(0);
    expect(vmstate(['rewrite', A57, '-o', bareOut, '--strip', 'TPIDR_EL0']).code).toBe(0);
    expect(gunzipSync(readFileSync(edited).subarray(at)).equals(readFileSync(bareOut))).toBe(true);
    expect(JSON.parse(vmstate(['regs', edited, '--json']).stdout)).toEqual(JSON.parse(vmstate(['regs', bareOut, '--json']).stdout));
  });

  it.skipIf(!hasXz)('xz: re-compressed with xz, decodes to the same stream', () => {
    const img = image('rw.xz.save', A57, { format: 'xz' });
    const out = join(dir, 'rw.xz.out');
    const r = vmstate(['rewrite', img, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    const o = readFileSync(out);
    const at = streamOffsetOf(readFileSync(img));
    expect(o.subarray(0, at).equals(readFileSync(img).subarray(0, at))).toBe(true);
    expect(execFileSync('xz', ['-dc'], { input: o.subarray(at), maxBuffer: 1 << 30 }).equals(stream)).toBe(true);
  });
});

describe('sparse images (mapped-ram streams in the file itself)', () => {
  it('an image whose stream does not use mapped-ram decodes, with the warning of the restore QEMU would refuse', () => {
    const img = image('plain.sparse.save', A57, { format: 'sparse' });
    const t = vmstate(['inspect', img]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/^container +libvirt save image, version 2, sparse stream at byte \d+/);
    expect(t.stdout).toContain(
      'warning: libvirt sparse image whose stream does not use mapped-ram: libvirt restores sparse images with the mapped-ram capability, and QEMU refuses the stream (Capability mapped-ram is on, but received capability is off)',
    );
    // Not compressed: read tail-first like a bare stream, and rewritten by a clone.
    expect(JSON.parse(vmstate(['inspect', img, '--json']).stdout).walk.mode).toBe('tail-first');
    const out = join(dir, 'plain.sparse.out');
    expect(vmstate(['rewrite', img, '-o', out]).code).toBe(0);
    expect(readFileSync(out).equals(readFileSync(img))).toBe(true);
  });
});

describe('what vmstate cannot read: exit 2, typed error, nothing written', () => {
  for (const f of ['bzip2', 'lzop', 'zstd'] as const) {
    it(f, () => {
      const img = image(`unsupported.${f}.save`, A57, { format: f });
      const cmds = f === 'bzip2' ? [['inspect', img], ['regs', '-'], ['check', img, '--dest', A57]] : [['regs', img]];
      for (const cmd of cmds) {
        const r = vmstate(cmd, cmd[1] === '-' ? readFileSync(img) : undefined);
        expect(r.code, cmd.join(' ')).toBe(2);
        expect(r.stderr).toMatch(new RegExp(`libvirt save image with a ${f} stream is not supported`));
      }
      const out = join(dir, `unsupported.${f}.out`);
      expect(vmstate(['rewrite', img, '-o', out]).code).toBe(2);
      expect(existsSync(out)).toBe(false);
    });
  }

  it('corrupt and truncated gzip streams', () => {
    const good = libvirtImage(sampleBytes(A57), { format: 'gzip' });
    const at = streamOffsetOf(good);
    const corrupt = Buffer.from(good);
    corrupt.fill(0x55, at + 100, at + 400);
    const p1 = join(dir, 'corrupt.gz.save');
    writeFileSync(p1, corrupt);
    const r1 = vmstate(['regs', p1]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/gzip stream of the libvirt save image: corrupt gzip data/);
    const p2 = join(dir, 'short.gz.save');
    writeFileSync(p2, good.subarray(0, good.length - 5000));
    const r2 = vmstate(['regs', p2]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/ends early/);
    const out = join(dir, 'short.out');
    expect(vmstate(['rewrite', p2, '-o', out]).code).toBe(2);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('an image cut inside its XML area', () => {
    const good = libvirtImage(sampleBytes(A57));
    const p = join(dir, 'cut.save');
    writeFileSync(p, good.subarray(0, 1000));
    for (const input of [[p], ['-']]) {
      const r = vmstate(['inspect', ...input], input[0] === '-' ? good.subarray(0, 1000) : undefined);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/more byte\(s\) needed.*libvirt domain XML/);
    }
  });
});
