/**
 * Register ids of the `cpu` section's cpreg arrays: decoding, encoding, formatting and naming.
 * @module
 */
export {
  KVM_REG_ARM,
  KVM_REG_ARM64,
  KVM_REG_SIZE_U8,
  KVM_REG_SIZE_U16,
  KVM_REG_SIZE_U32,
  KVM_REG_SIZE_U64,
  KVM_REG_SIZE_U128,
  KVM_REG_SIZE_U256,
  KVM_REG_SIZE_U512,
  KVM_REG_SIZE_U2048,
  QEMU_NS_BIT,
  RegGroup,
  SVE_VLS_ID,
  decodeRegId,
  coreRegName,
  sizeField,
  sysregId,
  cp32Id,
  cp64Id,
  coreId,
  ccsidrDemuxId,
  fwRegId,
  fwFeatBmapId,
  sveZregId,
  svePregId,
  sveFfrId,
  idToCpregKey,
  cpregKeyToId,
} from './kvm-id.js';
export type {
  RegArch,
  RegGroupName,
  RegIdBase,
  SysregId,
  CpregId,
  CoreRegId,
  DemuxRegId,
  FwRegId,
  SveRegId,
  VfpRegId,
  OtherRegId,
  DecodedRegId,
  Cp32Fields,
  Cp64Fields,
} from './kvm-id.js';
export { hex64, qemuFieldText, cpFieldText, regFieldText } from './format.js';
export { regName, regNames, regAliases, regLabel, lookupRegs, inferAccel } from './names.js';
export { ACCELS, type Accel } from './accel.js';
export { isIdRegister, idRegisterFields } from './id-regs.js';
export type { FieldDiff } from './id-regs.js';
export { ID_REGISTER_FIELDS } from './fields.generated.js';
export type { FieldKind, FieldRow } from './fields.generated.js';
