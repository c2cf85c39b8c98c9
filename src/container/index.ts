/** Containers around migration streams: libvirt save images, plain or compressed. */
export { openInput, containerOf, outputFor, withInputObserver, MAX_XML_AREA, type ContainerInfo, type InputSource, type InputObserver } from './open.js';
export {
  parseLibvirtHeader,
  parseLibvirtFixedHeader,
  isLibvirtImage,
  domainFacts,
  assertSupportedFormat,
  LIBVIRT_HEADER_SIZE,
  LIBVIRT_MAGIC,
  LIBVIRT_PARTIAL_MAGIC,
  LIBVIRT_FORMATS,
  SUPPORTED_FORMATS,
  type LibvirtHeader,
  type LibvirtDomain,
  type LibvirtFormat,
} from './libvirt.js';
export { DecompressingSource, CompressingSink, type Compression } from './compress.js';
