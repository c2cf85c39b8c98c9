/**
 * Matching an incoming cpreg list against a destination: loader semantics as data, the
 * streaming matcher, destination models and the checks around the cpu section.
 * @module
 */
export { anomalyToJson, countByKind } from './anomalies.js';
export type { Anomaly, AnomalyJson, AnomalyKind, PolicyRef } from './anomalies.js';
export { LOADERS, countBound, generationOfLoader, qemu111RegisterText, resolveLoader } from './loaders.js';
export type { CountCheck, FailureStage, LoaderSpec, LoaderText } from './loaders.js';
export { LOADER_CHOICES, LOADER_FAMILIES, lookupLoader } from './loader-names.js';
export type { LoaderAlias, LoaderName } from './loader-names.js';
export { CRASHING_CPU_SUBSECTIONS, GENERATION_VERSIONS } from './generations.js';
export type { CrashingSubsection, QemuGeneration } from './generations.js';
export {
  compareIds,
  destinationCpuFor,
  destinationFromList,
  normaliseDestinationCpu,
  parseRegisterList,
  unionSubsections,
} from './destination.js';
export type { CpuSubsection, DestinationCpu, DestinationModel, DestinationOrigin } from './destination.js';
export { compareCapabilities, compareMachineType } from './compare.js';
export { deviceSections, subsectionPlace } from './device-sections.js';
export type { DeviceSection, EnclosingField, SubsectionRef } from './device-sections.js';
export { compareDevice, onlyOnDestination } from './devices.js';
export type { DeviceComparison, DeviceCompareOptions, KnownVmsd, KnownVmsds } from './devices.js';
export { capabilityLines, machineTypeLines, messageStyle } from './load-messages.js';
export type { MessageStyle } from './load-messages.js';
export { isNarrow, rawWriteKind, readsBack } from './raw-access.js';
export type { RawWriteKind, SlotContent } from './raw-access.js';
export { idListDigest, measuredSlots } from './cpreg-slots.js';
export type { MeasuredSlots } from './cpreg-slots.js';
export { matchCpregs, matchCpu, matchResultToJson } from './matcher.js';
export { prepareContext } from './context.js';
export {
  DEFAULT_KERNEL,
  KERNEL_CHANGES,
  OBSERVED_KERNELS,
  atLeast,
  kernelFromList,
  kernelFromRelease,
  kernelRules,
  parseKernelRelease,
  versionText,
} from './kvm-kernel.js';
export type { KernelSource, KernelVersion, KvmKernel, KvmKernelRules } from './kvm-kernel.js';
export { KvmPut, psciText } from './kvm-put.js';
export type { KvmRefusal, KvmValueClass, KvmWrite } from './kvm-put.js';
export { couldNotSetText, kvmLoad } from './kvm-load.js';
export type { KvmLoadResult, MergedList } from './kvm-load.js';
export { idRegisterRefusals, isKvmIdRegister } from './kvm-idregs.js';
export type { IdFieldRefusal } from './kvm-idregs.js';
export type { MatchContext } from './context.js';
export type { CpuVerdict, IncomingCpu, MatchOptions, MatchResult, MatchResultJson } from './matcher.js';
