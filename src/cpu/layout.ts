/**
 * Built-in layout of the aarch64 `cpu` section, version 22 (spec §5). It is
 * the same in QEMU 7.2 through 11.1, so the cpreg arrays can be found without
 * any vmdesc: the count is always 568 bytes into the body.
 */
import { Parser } from 'binary-parser';

/** The only `cpu` section version this layout describes. */
export const CPU_SECTION_VERSION = 22;
/** Bytes of the section header: type, be32 id, str8 "cpu", be32 instance, be32 version. */
export const CPU_HEADER_SIZE = 17;
/** Body offset of `cpreg_vmstate_array_len`. */
export const COUNT_OFFSET = 568;
/** Bytes of the fixed fields after the two arrays (#16..#25). */
export const TAIL_SIZE = 65;

/** Fixed fields before the count (#1..#12), decoded for `profile`/`inspect`. */
export const mainFieldsParser = new Parser()
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
export const tailFieldsParser = new Parser()
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

/** Decoded main fields (subset used by callers). */
export interface CpuMainFields {
  pc: bigint;
  cpsr: number;
  xregs: bigint[];
}

/**
 * Body sizes of the `cpu` subsections QEMU 7.2–11.1 can write (`cpu/fpmr` since 11.x) for A-profile
 * CPUs, so they can be stepped over without a vmdesc. M/R-profile ones are
 * absent on purpose: the `virt` board cannot run those CPUs.
 */
export const CPU_SUBSECTION_SIZES: Readonly<Record<string, number>> = {
  'cpu/vfp': 576,
  'cpu/vfp/fpcr_fpsr': 16,
  'cpu/iwmmxt': 192,
  'cpu/thumb2ee': 8,
  'cpu/sve': 4128,
  'cpu/sme': 65536,
  'cpu/zt0': 64,
  'cpu/serror': 10,
  'cpu/irq-line-state': 4,
  'cpu/wfxt-timer': 8,
  'cpu/syndrome64': 8,
  'cpu/pstate64': 8,
  'cpu/fpmr': 8,
};
