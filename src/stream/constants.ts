/** Stream-level constants of the QEMU migration format (spec §1, §4). */

/** "QEVM" */
export const MAGIC = 0x5145564d;
export const STREAM_VERSION = 3;

/** Top-level item type bytes. */
export const enum Item {
  EOF = 0x00,
  SECTION_START = 0x01,
  SECTION_PART = 0x02,
  SECTION_END = 0x03,
  SECTION_FULL = 0x04,
  SUBSECTION = 0x05,
  VMDESCRIPTION = 0x06,
  CONFIGURATION = 0x07,
  COMMAND = 0x08,
  SECTION_FOOTER = 0x7e,
}

/** RAM record flags (low bits of the be64 record word). */
export const enum RamFlag {
  FULL = 0x001,
  ZERO = 0x002,
  MEM_SIZE = 0x004,
  PAGE = 0x008,
  EOS = 0x010,
  CONTINUE = 0x020,
  XBZRLE = 0x040,
  HOOK = 0x080,
  COMPRESS_PAGE = 0x100,
  MULTIFD_FLUSH = 0x200,
}

/** COMMAND numbers and their fixed payload lengths (-1 = variable). */
export const COMMANDS: Record<number, { name: string; len: number }> = {
  1: { name: 'OPEN_RETURN_PATH', len: 0 },
  2: { name: 'PING', len: 4 },
  3: { name: 'POSTCOPY_ADVISE', len: -1 },
  4: { name: 'POSTCOPY_LISTEN', len: 0 },
  5: { name: 'POSTCOPY_RUN', len: 0 },
  6: { name: 'POSTCOPY_RAM_DISCARD', len: -1 },
  7: { name: 'PACKAGED', len: 4 },
  8: { name: 'ENABLE_COLO', len: 0 },
  9: { name: 'POSTCOPY_RESUME', len: 0 },
  10: { name: 'RECV_BITMAP', len: -1 },
  11: { name: 'SWITCHOVER_START', len: 0 },
};

/** The RAM record kinds counted, by the names `inspect` shows, in its order. */
export const RAM_KINDS = ['page', 'zero', 'xbzrle', 'compressed', 'multifd-flush'] as const;
export type RamKind = (typeof RAM_KINDS)[number];
