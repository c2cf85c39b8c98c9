/**
 * The `configuration` item (spec §2): be32 length + machine type, then
 * subsections found with QEMU's peek rule (§3.3).
 */
import type { Configuration } from './records.js';
import type { StreamReader } from '../wire/reader.js';
import { LimitError, StreamFormatError } from '../errors.js';

const PARENT = 'configuration';
/** Machine type names are short; a larger length is corruption. */
const MAX_MACHINE_NAME = 256;
const MAX_CAPABILITIES = 64;

/**
 * Peeks whether a subsection of `parent` starts at the read position, using
 * QEMU's rule: marker 0x05, a name length of at least parent+1, and a name
 * with the parent as prefix. Returns the name, or null.
 */
export async function peekSubsection(r: StreamReader, parent: string): Promise<string | null> {
  if (!(await r.ensure(1)) || r.peekU8() !== 0x05) return null;
  // Input that ends inside what may be a subsection header is cut short (not the parent's end).
  await r.need(2);
  const n = r.peekU8(1);
  if (n < parent.length + 1) return null;
  await r.need(2 + n);
  const name = r.peek(2 + n).subarray(2).toString('latin1');
  return name.startsWith(parent) ? name : null;
}

/** Reads the configuration item; the 0x07 type byte is at the read position. */
export async function readConfiguration(r: StreamReader): Promise<Configuration> {
  const offset = r.offset;
  r.section = 'configuration';
  await r.need(5);
  r.u8();
  const len = r.be32();
  if (len > MAX_MACHINE_NAME) throw new LimitError('machine type length', len, MAX_MACHINE_NAME, 'maxMachineName', r.place(offset + 1));
  const machine = (await r.read(len)).toString('latin1');
  const cfg: Configuration = { offset, size: 0, machine, pageBits: 10, capabilities: [], subsections: [] };
  for (let name = await peekSubsection(r, PARENT); name; name = await peekSubsection(r, PARENT)) {
    const at = r.offset;
    await r.need(2 + name.length + 4);
    r.take(2 + name.length);
    const version = r.be32();
    cfg.subsections.push({ name, version });
    switch (name) {
      case 'configuration/target-page-bits':
        await r.need(4);
        cfg.pageBits = r.be32();
        if (cfg.pageBits < 10 || cfg.pageBits > 16) throw new StreamFormatError('BAD_ITEM', `target page bits ${cfg.pageBits} out of range 10..16`, r.place(r.offset - 4));
        break;
      case 'configuration/capabilities': {
        await r.need(4);
        const n = r.be32();
        if (n > MAX_CAPABILITIES) throw new LimitError('capability count', n, MAX_CAPABILITIES, 'maxCapabilities', r.place(r.offset - 4));
        for (let i = 0; i < n; i++) cfg.capabilities.push(await r.str8());
        break;
      }
      case 'configuration/uuid':
        cfg.uuid = (await r.read(16)).toString('hex');
        break;
      default:
        throw new StreamFormatError('BAD_ITEM', `unknown configuration subsection '${name}'`, r.place(at), { actual: name });
    }
  }
  cfg.size = r.offset - offset;
  return cfg;
}
