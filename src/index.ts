/**
 * vmstate — decode, inspect, check and rewrite QEMU live-migration streams, centred on the
 * aarch64 `cpu` section's cpreg arrays.
 *
 * This module is the public API. Every other module of the package is internal: not exported
 * by the package, and free to change between versions.
 *
 * @example
 * ```ts
 * import { decodeStream, regName } from 'vmstate';
 * const s = await decodeStream('samples/qemu-7.2/virt-7.2_max.mig');
 * const cpu = s.cpus[0];
 * const at = cpu.ids.findIndex((id) => regName(id) === 'SCTLR_EL1');
 * console.log(`${s.cpus.length} vCPUs, ${cpu.count} cpregs; SCTLR_EL1 = 0x${cpu.values[at].toString(16)}`);
 * // prints: 2 vCPUs, 304 cpregs; SCTLR_EL1 = 0xc50838
 * ```
 * @module
 */
export { decodeStream, DEFAULT_LIMITS } from './stream/decode.js';
export type { DecodedStream } from './stream/decode.js';
export type { CpuSection } from './cpu/section.js';
export { decodeCpregArrays } from './cpu/cpregs-decode.js';
export { encodeCpregArrays } from './cpu/cpregs-encode.js';
export { loadDestination } from './destination/load.js';
export type { Destination } from './destination/load.js';
export { profileOf } from './destination/profile.js';
export { checkStream } from './check/check.js';
export type { CheckResult } from './check/check.js';
export { rewriteStream } from './rewrite/rewrite.js';
export type { RewriteResult } from './rewrite/rewrite.js';
export { regName, lookupRegs } from './regs/names.js';
export { policiesFrom } from './policy/sources.js';
export type { Policy } from './policy/policy.js';
export { VmstateError, TruncatedError, StreamFormatError, LimitError, UnsupportedError, ProfileError, UsageError, RefusalError } from './errors.js';
