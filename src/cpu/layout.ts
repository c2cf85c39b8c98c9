/**
 * Built-in layout of the aarch64 `cpu` section, version 22 (spec §5). It is
 * the same in QEMU 7.2 through 11.1, so the cpreg arrays can be found without
 * any vmdesc: the count follows the fixed main fields, the fixed tail follows
 * the two arrays. The fields are described with binary-parser; their sizes are
 * where the offsets come from.
 * @module
 */
import { Parser } from 'binary-parser';

/** The only `cpu` section version this layout describes. */
export const CPU_SECTION_VERSION = 22;

/** Fixed fields before the count (#1..#12). */
const mainFieldsParser = new Parser()
  .array('regs', { type: 'uint32be', length: 16 })
  .array('xregs', { type: 'uint64be', length: 32 })
  .uint64be('pc')
  .uint32be('cpsr')
  .uint32be('spsr')
  .array('banked_spsr', { type: 'uint64be', length: 8 })
  .array('banked_r13', { type: 'uint32be', length: 8 })
  .array('banked_r14', { type: 'uint32be', length: 8 })
  .array('usr_regs', { type: 'uint32be', length: 5 })
  .array('fiq_regs', { type: 'uint32be', length: 5 })
  .array('elr_el', { type: 'uint64be', length: 4 })
  .array('sp_el', { type: 'uint64be', length: 4 });

/** Fixed fields after the arrays (#16..#25). */
const tailFieldsParser = new Parser()
  .uint64be('exclusive_addr')
  .uint64be('exclusive_val')
  .uint64be('exclusive_high')
  .buffer('unused', { length: 8 })
  .uint32be('syndrome')
  .uint32be('fsr')
  .uint64be('vaddress')
  .uint64be('gt_timer_phys')
  .uint64be('gt_timer_virt')
  .uint8('power_state');

/** Body offset of `cpreg_vmstate_array_len`: the main fields' size (568). */
export const COUNT_OFFSET: number = mainFieldsParser.sizeOf();
/** Bytes of the fixed fields after the two arrays (65). */
export const TAIL_SIZE: number = tailFieldsParser.sizeOf();
