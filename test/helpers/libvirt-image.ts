/**
 * Builds libvirt save images the way libvirt's QEMU driver lays them out
 * (virQEMUSaveHeader + virQEMUSaveDataWrite), around a given migration stream.
 * Written independently of src/container so that the two check each other.
 */
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';

export const FORMAT_CODES = { raw: 0, gzip: 1, bzip2: 2, xz: 3, lzop: 4, zstd: 5, sparse: 6 } as const;
export type ImageFormat = keyof typeof FORMAT_CODES;

export interface ImageOptions {
  format?: ImageFormat;
  name?: string;
  machine?: string;
  cookie?: string | null;
  partial?: boolean;
  bigEndian?: boolean;
  version?: number;
  wasRunning?: boolean;
  /** Padding after XML and cookie (libvirt: 64 KiB). */
  padding?: number;
  /** Already compressed payload to use instead of compressing `stream`. */
  payload?: Buffer;
}

export function domainXml(name: string, machine: string): string {
  return `<domain type='kvm'>
  <name>${name}</name>
  <uuid>6f1d2c4e-1b7a-4c55-9a0e-2f4d7c1e9b30</uuid>
  <metadata><app:info xmlns:app="urn:example"><name>not-the-domain</name></app:info></metadata>
  <memory unit='KiB'>131072</memory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='aarch64' machine='${machine}'>hvm</type>
  </os>
  <cpu mode='host-passthrough'/>
</domain>
`;
}

export function saveCookie(): string {
  return `<cookie>
  <cpu mode='custom' match='exact' check='full'>
    <model fallback='forbid'>cortex-a57</model>
  </cpu>
</cookie>
`;
}

export function compress(stream: Buffer, format: ImageFormat): Buffer {
  // A sparse image holds the stream as QEMU wrote it (with mapped-ram, at absolute offsets).
  if (format === 'raw' || format === 'sparse') return stream;
  if (format === 'gzip') return gzipSync(stream);
  if (format === 'xz') return execFileSync('xz', ['-zc'], { input: stream, maxBuffer: 1 << 30 });
  // Formats vmstate refuses: the payload does not matter.
  return Buffer.from(`${format} payload`);
}

/** The image bytes: 92-byte header, XML area (XML\0 cookie\0 zeros), stream (compressed per format). */
export function libvirtImage(stream: Buffer, o: ImageOptions = {}): Buffer {
  const format = o.format ?? 'raw';
  const xml = Buffer.from(domainXml(o.name ?? 'guest-one', o.machine ?? 'virt-7.2') + '\0', 'utf8');
  const cookie = o.cookie === null ? null : Buffer.from((o.cookie ?? saveCookie()) + '\0', 'utf8');
  const padding = Buffer.alloc(o.padding ?? 64 * 1024);
  const area = Buffer.concat([xml, ...(cookie ? [cookie] : []), padding]);
  const h = Buffer.alloc(92);
  h.write(o.partial ? 'LibvirtQemudPart' : 'LibvirtQemudSave', 0, 'latin1');
  const words = [o.version ?? 2, area.length, o.wasRunning === false ? 0 : 1, FORMAT_CODES[format], cookie ? xml.length : 0];
  words.forEach((w, i) => (o.bigEndian ? h.writeUInt32BE(w, 16 + 4 * i) : h.writeUInt32LE(w, 16 + 4 * i)));
  return Buffer.concat([h, area, o.payload ?? compress(stream, format)]);
}

/** Where the stream starts in an image built by {@link libvirtImage}. */
export function streamOffsetOf(image: Buffer): number {
  return 92 + image.readUInt32LE(20);
}
