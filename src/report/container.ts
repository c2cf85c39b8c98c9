/** The `container` member of `inspect --json` and its text line. */
import type { KnownContainerInfo } from '../container/registry.js';
import type { LibvirtDomain, LibvirtFormat } from '../container/libvirt.js';
import { PLAIN, type Style } from './format.js';

/** What `inspect` reports about a libvirt save image around the stream. */
export interface ContainerReport {
  kind: 'libvirt-save';
  /** False for `LibvirtQemudPart`: libvirt had not finished writing the image. */
  complete: boolean;
  version: number;
  byteOrder: 'little' | 'big';
  /** Compression of the stream. */
  format: LibvirtFormat;
  wasRunning: boolean;
  /** Bytes of the XML area (XML, cookie, padding). */
  dataLength: number;
  /** Where the stream starts in the image; offsets elsewhere in the report are inside the stream. */
  streamOffset: number;
  domainXmlLength: number;
  cookieLength: number | null;
  domain: LibvirtDomain;
}

/** The JSON member. */
export function containerReport(c: KnownContainerInfo): ContainerReport {
  const h = c.header;
  return {
    kind: c.kind,
    complete: !h.partial,
    version: h.version,
    byteOrder: h.endian,
    format: h.format,
    wasRunning: h.wasRunning,
    dataLength: h.dataLength,
    streamOffset: h.streamOffset,
    domainXmlLength: Buffer.byteLength(h.domainXml),
    cookieLength: h.cookieXml === null ? null : Buffer.byteLength(h.cookieXml),
    domain: h.domain,
  };
}

/** Text lines, aligned with `inspect`'s. */
export function renderContainer(r: ContainerReport, st: Style = PLAIN): string {
  const d = r.domain;
  const facts = [d.arch, d.type].filter(Boolean).join(', ');
  const lines = [
    `container   libvirt save image, version ${r.version}${r.byteOrder === 'big' ? ' (big-endian)' : ''}, ${r.format} stream at byte ${r.streamOffset}` +
      `${r.cookieLength !== null ? ', with cookie' : ''}${r.wasRunning ? ', domain was running' : ', domain was paused'}`,
    `domain      ${d.name ?? '(no name)'}, machine ${d.machine ?? '(not given)'}${facts ? ` (${facts})` : ''}${d.uuid ? `, uuid ${d.uuid}` : ''}`,
  ];
  if (!r.complete) lines.push(st.warn('warning: the image is marked incomplete (LibvirtQemudPart): libvirt did not finish writing it'));
  return lines.join('\n');
}
