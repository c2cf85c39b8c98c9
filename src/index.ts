/**
 * vmstate — decode, inspect, check and rewrite QEMU live-migration streams,
 * centred on the aarch64 `cpu` section's cpreg arrays.
 *
 * @example
 * ```ts
 * import { decodeFile, regName } from 'vmstate';
 * const s = await decodeFile('guest.mig');
 * for (const [i, id] of s.cpus[0].ids.entries()) console.log(regName(id), s.cpus[0].values[i]);
 * ```
 * @module
 */
export { decodeFile, decodeSource, rewriteFile, type RewriteFileOptions, type CommitContext } from './api.js';
export { decodeStream, DEFAULT_LIMITS, resolveLimits } from './stream/decode.js';
export { EditError } from './cpu/edit-check.js';
export { removePendingTemps } from './wire/atomic-file.js';
export type { CpuEdit, DecodeLimits, DecodeOptions, DecodedStream, DeviceState } from './stream/decode.js';
export type {
  CommandRecord,
  Configuration,
  CpuSection,
  IterativeSection,
  RamBlock,
  RamSummary,
  SectionRecord,
  SubsectionRecord,
  VmdescRecord,
} from './stream/records.js';
export type { Vmdesc, VmdescDevice, VmdescBody, VmdescField } from './stream/vmdesc.js';
export { encodeCpregArrays } from './cpu/cpregs-encode.js';
export { decodeCpregArrays } from './cpu/cpregs-decode.js';
export { BufferSource, FileSource, IterableSource, openSource, allowBlockingReads, type ByteSource } from './wire/source.js';
export { StreamWriter, FileSink, MemorySink, WritableSink, type ByteSink } from './wire/writer.js';
export {
  VmstateError,
  StreamFormatError,
  TruncatedError,
  LimitError,
  UnsupportedError,
  UsageError,
  isVmstateError,
  type ErrorCode,
  type ErrorPlace,
} from './wire/errors.js';
export {
  regName,
  regAliases,
  lookupRegs,
  inferAccel,
  qemuFieldText,
  regFieldText,
  hex64,
  decodeRegId,
  isIdRegister,
  idRegisterFields,
  type Accel,
} from './regs/index.js';
export * from './match/index.js';
export * from './policy/index.js';
export * from './container/index.js';
