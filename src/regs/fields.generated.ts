// GENERATED FILE — do not edit. Re-create with `node scripts/gen-names.mjs`.
// Source: src/regs/data/arm64-id-fields.tsv (433 rows; see src/regs/data/README.md).

/**
 * How a field's values compare, as Linux's sysreg file declares it: `U` unsigned (a higher value
 * adds to a lower one), `S` signed (0b1111 = not implemented), `E` an enumeration without an
 * order, `F` a plain value (counts, sizes, IMPLEMENTATION DEFINED).
 */
export type FieldKind = 'U' | 'S' | 'E' | 'F';

/** A named field: name, lowest bit, width in bits, kind. */
export type FieldRow = readonly [name: string, lsb: number, width: number, kind: FieldKind];

/**
 * Field layouts of the identification registers, keyed like the AArch64 sysreg names
 * (op0<<14 | op1<<11 | CRn<<7 | CRm<<3 | op2), highest field first.
 */
export const ID_REGISTER_FIELDS: readonly (readonly [key: number, register: string, fields: readonly FieldRow[]])[] = [
  [0xc000, "MIDR_EL1", [["Implementer", 24, 8, "F"], ["Variant", 20, 4, "F"], ["Architecture", 16, 4, "F"], ["PartNum", 4, 12, "F"], ["Revision", 0, 4, "F"]]],
  [0xc005, "MPIDR_EL1", [["Aff3", 32, 8, "F"], ["U", 30, 1, "F"], ["MT", 24, 1, "F"], ["Aff2", 16, 8, "F"], ["Aff1", 8, 8, "F"], ["Aff0", 0, 8, "F"]]],
  [0xc008, "ID_PFR0_EL1", [["RAS", 28, 4, "U"], ["DIT", 24, 4, "U"], ["AMU", 20, 4, "U"], ["CSV2", 16, 4, "U"], ["State3", 12, 4, "U"], ["State2", 8, 4, "E"], ["State1", 4, 4, "U"], ["State0", 0, 4, "U"]]],
  [0xc009, "ID_PFR1_EL1", [["GIC", 28, 4, "U"], ["Virt_frac", 24, 4, "U"], ["Sec_frac", 20, 4, "E"], ["GenTimer", 16, 4, "U"], ["Virtualization", 12, 4, "U"], ["MProgMod", 8, 4, "U"], ["Security", 4, 4, "E"], ["ProgMod", 0, 4, "U"]]],
  [0xc00a, "ID_DFR0_EL1", [["TraceFilt", 28, 4, "U"], ["PerfMon", 24, 4, "U"], ["MProfDbg", 20, 4, "E"], ["MMapTrc", 16, 4, "E"], ["CopTrc", 12, 4, "E"], ["MMapDbg", 8, 4, "E"], ["CopSDbg", 4, 4, "F"], ["CopDbg", 0, 4, "E"]]],
  [0xc00b, "ID_AFR0_EL1", [["IMPDEF3", 12, 4, "F"], ["IMPDEF2", 8, 4, "F"], ["IMPDEF1", 4, 4, "F"], ["IMPDEF0", 0, 4, "F"]]],
  [0xc00c, "ID_MMFR0_EL1", [["InnerShr", 28, 4, "E"], ["FCSE", 24, 4, "U"], ["AuxReg", 20, 4, "E"], ["TCM", 16, 4, "E"], ["ShareLvl", 12, 4, "E"], ["OuterShr", 8, 4, "E"], ["PMSA", 4, 4, "E"], ["VMSA", 0, 4, "E"]]],
  [0xc00d, "ID_MMFR1_EL1", [["BPred", 28, 4, "E"], ["L1TstCln", 24, 4, "E"], ["L1Uni", 20, 4, "E"], ["L1Hvd", 16, 4, "E"], ["L1UniSW", 12, 4, "E"], ["L1HvdSW", 8, 4, "E"], ["L1UniVA", 4, 4, "E"], ["L1HvdVA", 0, 4, "E"]]],
  [0xc00e, "ID_MMFR2_EL1", [["HWAccFlg", 28, 4, "E"], ["WFIStall", 24, 4, "E"], ["MemBarr", 20, 4, "E"], ["UniTLB", 16, 4, "E"], ["HvdTLB", 12, 4, "E"], ["L1HvdRng", 8, 4, "E"], ["L1HvdBG", 4, 4, "E"], ["L1HvdFG", 0, 4, "E"]]],
  [0xc00f, "ID_MMFR3_EL1", [["Supersec", 28, 4, "E"], ["CMemSz", 24, 4, "E"], ["CohWalk", 20, 4, "E"], ["PAN", 16, 4, "E"], ["MaintBcst", 12, 4, "E"], ["BPMaint", 8, 4, "E"], ["CMaintSW", 4, 4, "E"], ["CMaintVA", 0, 4, "E"]]],
  [0xc010, "ID_ISAR0_EL1", [["Divide", 24, 4, "E"], ["Debug", 20, 4, "U"], ["Coproc", 16, 4, "E"], ["CmpBranch", 12, 4, "U"], ["BitField", 8, 4, "U"], ["BitCount", 4, 4, "U"], ["Swap", 0, 4, "U"]]],
  [0xc011, "ID_ISAR1_EL1", [["Jazelle", 28, 4, "E"], ["Interwork", 24, 4, "E"], ["Immediate", 20, 4, "E"], ["IfThen", 16, 4, "E"], ["Extend", 12, 4, "E"], ["Except_AR", 8, 4, "E"], ["Except", 4, 4, "E"], ["Endian", 0, 4, "E"]]],
  [0xc012, "ID_ISAR2_EL1", [["Reversal", 28, 4, "E"], ["PSR_AR", 24, 4, "E"], ["MultU", 20, 4, "E"], ["MultS", 16, 4, "E"], ["Mult", 12, 4, "E"], ["MultiAccessInt", 8, 4, "E"], ["MemHint", 4, 4, "E"], ["LoadStore", 0, 4, "E"]]],
  [0xc013, "ID_ISAR3_EL1", [["T32EE", 28, 4, "E"], ["TrueNOP", 24, 4, "E"], ["T32Copy", 20, 4, "E"], ["TabBranch", 16, 4, "E"], ["SynchPrim", 12, 4, "E"], ["SVC", 8, 4, "E"], ["SIMD", 4, 4, "E"], ["Saturate", 0, 4, "E"]]],
  [0xc014, "ID_ISAR4_EL1", [["SWP_frac", 28, 4, "E"], ["PSR_M", 24, 4, "E"], ["SynchPrim_frac", 20, 4, "E"], ["Barrier", 16, 4, "E"], ["SMC", 12, 4, "E"], ["Writeback", 8, 4, "E"], ["WithShifts", 4, 4, "E"], ["Unpriv", 0, 4, "E"]]],
  [0xc015, "ID_ISAR5_EL1", [["VCMA", 28, 4, "U"], ["RDM", 24, 4, "U"], ["CRC32", 16, 4, "U"], ["SHA2", 12, 4, "U"], ["SHA1", 8, 4, "U"], ["AES", 4, 4, "U"], ["SEVL", 0, 4, "U"]]],
  [0xc016, "ID_MMFR4_EL1", [["EVT", 28, 4, "U"], ["CCIDX", 24, 4, "U"], ["LSM", 20, 4, "U"], ["HPDS", 16, 4, "U"], ["CnP", 12, 4, "U"], ["XNX", 8, 4, "U"], ["AC2", 4, 4, "U"], ["SpecSEI", 0, 4, "U"]]],
  [0xc017, "ID_ISAR6_EL1", [["I8MM", 24, 4, "U"], ["BF16", 20, 4, "U"], ["SPECRES", 16, 4, "U"], ["SB", 12, 4, "U"], ["FHM", 8, 4, "U"], ["DP", 4, 4, "U"], ["JSCVT", 0, 4, "U"]]],
  [0xc018, "MVFR0_EL1", [["FPRound", 28, 4, "U"], ["FPShVec", 24, 4, "U"], ["FPSqrt", 20, 4, "U"], ["FPDivide", 16, 4, "U"], ["FPTrap", 12, 4, "U"], ["FPDP", 8, 4, "U"], ["FPSP", 4, 4, "U"], ["SIMDReg", 0, 4, "E"]]],
  [0xc019, "MVFR1_EL1", [["SIMDFMAC", 28, 4, "U"], ["FPHP", 24, 4, "U"], ["SIMDHP", 20, 4, "U"], ["SIMDSP", 16, 4, "U"], ["SIMDInt", 12, 4, "U"], ["SIMDLS", 8, 4, "U"], ["FPDNaN", 4, 4, "U"], ["FPFtZ", 0, 4, "U"]]],
  [0xc01a, "MVFR2_EL1", [["FPMisc", 4, 4, "E"], ["SIMDMisc", 0, 4, "E"]]],
  [0xc01c, "ID_PFR2_EL1", [["RAS_frac", 8, 4, "U"], ["SSBS", 4, 4, "U"], ["CSV3", 0, 4, "U"]]],
  [0xc01d, "ID_DFR1_EL1", [["HPMN0", 4, 4, "U"], ["MTPMU", 0, 4, "E"]]],
  [0xc01e, "ID_MMFR5_EL1", [["nTLBPA", 4, 4, "U"], ["ETS", 0, 4, "U"]]],
  [0xc020, "ID_AA64PFR0_EL1", [["CSV3", 60, 4, "U"], ["CSV2", 56, 4, "U"], ["RME", 52, 4, "U"], ["DIT", 48, 4, "U"], ["AMU", 44, 4, "U"], ["MPAM", 40, 4, "U"], ["SEL2", 36, 4, "U"], ["SVE", 32, 4, "U"], ["RAS", 28, 4, "U"], ["GIC", 24, 4, "U"], ["AdvSIMD", 20, 4, "S"], ["FP", 16, 4, "S"], ["EL3", 12, 4, "U"], ["EL2", 8, 4, "U"], ["EL1", 4, 4, "U"], ["EL0", 0, 4, "U"]]],
  [0xc021, "ID_AA64PFR1_EL1", [["PFAR", 60, 4, "U"], ["DF2", 56, 4, "U"], ["MTEX", 52, 4, "U"], ["THE", 48, 4, "U"], ["GCS", 44, 4, "U"], ["MTE_frac", 40, 4, "E"], ["NMI", 36, 4, "U"], ["CSV2_frac", 32, 4, "U"], ["RNDR_trap", 28, 4, "U"], ["SME", 24, 4, "U"], ["MPAM_frac", 16, 4, "U"], ["RAS_frac", 12, 4, "U"], ["MTE", 8, 4, "U"], ["SSBS", 4, 4, "U"], ["BT", 0, 4, "U"]]],
  [0xc022, "ID_AA64PFR2_EL1", [["FPMR", 32, 4, "U"], ["UINJ", 16, 4, "U"], ["GCIE", 12, 4, "U"], ["MTEFAR", 8, 4, "U"], ["MTESTOREONLY", 4, 4, "U"], ["MTEPERM", 0, 4, "U"]]],
  [0xc024, "ID_AA64ZFR0_EL1", [["F64MM", 56, 4, "U"], ["F32MM", 52, 4, "U"], ["F16MM", 48, 4, "U"], ["I8MM", 44, 4, "U"], ["SM4", 40, 4, "U"], ["SHA3", 32, 4, "U"], ["B16B16", 24, 4, "U"], ["BF16", 20, 4, "U"], ["BitPerm", 16, 4, "U"], ["EltPerm", 12, 4, "U"], ["AES", 4, 4, "U"], ["SVEver", 0, 4, "U"]]],
  [0xc025, "ID_AA64SMFR0_EL1", [["FA64", 63, 1, "U"], ["LUTv2", 60, 1, "U"], ["SMEver", 56, 4, "U"], ["I16I64", 52, 4, "U"], ["F64F64", 48, 1, "U"], ["I16I32", 44, 4, "U"], ["B16B16", 43, 1, "U"], ["F16F16", 42, 1, "U"], ["F8F16", 41, 1, "U"], ["F8F32", 40, 1, "U"], ["I8I32", 36, 4, "U"], ["F16F32", 35, 1, "U"], ["B16F32", 34, 1, "U"], ["BI32I32", 33, 1, "U"], ["F32F32", 32, 1, "U"], ["SF8FMA", 30, 1, "U"], ["SF8DP4", 29, 1, "U"], ["SF8DP2", 28, 1, "U"], ["SBitPerm", 25, 1, "U"], ["AES", 24, 1, "U"], ["SFEXPA", 23, 1, "U"], ["STMOP", 16, 1, "U"], ["SMOP4", 0, 1, "U"]]],
  [0xc027, "ID_AA64FPFR0_EL1", [["F8CVT", 31, 1, "U"], ["F8FMA", 30, 1, "U"], ["F8DP4", 29, 1, "U"], ["F8DP2", 28, 1, "U"], ["F8MM8", 27, 1, "U"], ["F8MM4", 26, 1, "U"], ["F8E4M3", 1, 1, "U"], ["F8E5M2", 0, 1, "U"]]],
  [0xc028, "ID_AA64DFR0_EL1", [["HPMN0", 60, 4, "E"], ["ExtTrcBuff", 56, 4, "U"], ["BRBE", 52, 4, "U"], ["MTPMU", 48, 4, "S"], ["TraceBuffer", 44, 4, "U"], ["TraceFilt", 40, 4, "U"], ["DoubleLock", 36, 4, "S"], ["PMSVer", 32, 4, "U"], ["CTX_CMPs", 28, 4, "F"], ["SEBEP", 24, 4, "U"], ["WRPs", 20, 4, "F"], ["PMSS", 16, 4, "U"], ["BRPs", 12, 4, "F"], ["PMUVer", 8, 4, "U"], ["TraceVer", 4, 4, "U"], ["DebugVer", 0, 4, "U"]]],
  [0xc029, "ID_AA64DFR1_EL1", [["ABL_CMPs", 56, 8, "F"], ["DPFZS", 52, 4, "U"], ["EBEP", 48, 4, "U"], ["ITE", 44, 4, "U"], ["ABLE", 40, 4, "U"], ["PMICNTR", 36, 4, "U"], ["SPMU", 32, 4, "U"], ["CTX_CMPs", 24, 8, "F"], ["WRPs", 16, 8, "F"], ["BRPs", 8, 8, "F"], ["SYSPMUID", 0, 8, "F"]]],
  [0xc02a, "ID_AA64DFR2_EL1", [["TRBE_EXC", 24, 4, "U"], ["SPE_nVM", 20, 4, "U"], ["SPE_EXC", 16, 4, "U"], ["BWE", 4, 4, "U"], ["STEP", 0, 4, "U"]]],
  [0xc02c, "ID_AA64AFR0_EL1", [["IMPDEF7", 28, 4, "F"], ["IMPDEF6", 24, 4, "F"], ["IMPDEF5", 20, 4, "F"], ["IMPDEF4", 16, 4, "F"], ["IMPDEF3", 12, 4, "F"], ["IMPDEF2", 8, 4, "F"], ["IMPDEF1", 4, 4, "F"], ["IMPDEF0", 0, 4, "F"]]],
  [0xc030, "ID_AA64ISAR0_EL1", [["RNDR", 60, 4, "U"], ["TLB", 56, 4, "U"], ["TS", 52, 4, "U"], ["FHM", 48, 4, "U"], ["DP", 44, 4, "U"], ["SM4", 40, 4, "U"], ["SM3", 36, 4, "U"], ["SHA3", 32, 4, "U"], ["RDM", 28, 4, "U"], ["TME", 24, 4, "U"], ["Atomic", 20, 4, "U"], ["CRC32", 16, 4, "U"], ["SHA2", 12, 4, "U"], ["SHA1", 8, 4, "U"], ["AES", 4, 4, "U"]]],
  [0xc031, "ID_AA64ISAR1_EL1", [["LS64", 60, 4, "U"], ["XS", 56, 4, "U"], ["I8MM", 52, 4, "U"], ["DGH", 48, 4, "U"], ["BF16", 44, 4, "U"], ["SPECRES", 40, 4, "U"], ["SB", 36, 4, "U"], ["FRINTTS", 32, 4, "U"], ["GPI", 28, 4, "U"], ["GPA", 24, 4, "U"], ["LRCPC", 20, 4, "U"], ["FCMA", 16, 4, "U"], ["JSCVT", 12, 4, "U"], ["API", 8, 4, "U"], ["APA", 4, 4, "U"], ["DPB", 0, 4, "U"]]],
  [0xc032, "ID_AA64ISAR2_EL1", [["ATS1A", 60, 4, "U"], ["LUT", 56, 4, "U"], ["CSSC", 52, 4, "U"], ["RPRFM", 48, 4, "U"], ["PCDPHINT", 44, 4, "U"], ["PRFMSLC", 40, 4, "U"], ["SYSINSTR_128", 36, 4, "U"], ["SYSREG_128", 32, 4, "U"], ["CLRBHB", 28, 4, "U"], ["PAC_frac", 24, 4, "U"], ["BC", 20, 4, "U"], ["MOPS", 16, 4, "U"], ["APA3", 12, 4, "U"], ["GPA3", 8, 4, "U"], ["RPRES", 4, 4, "U"], ["WFxT", 0, 4, "U"]]],
  [0xc033, "ID_AA64ISAR3_EL1", [["FPRCVT", 28, 4, "U"], ["LSUI", 24, 4, "U"], ["OCCMO", 20, 4, "U"], ["LSFE", 16, 4, "U"], ["PACM", 12, 4, "U"], ["TLBIW", 8, 4, "U"], ["FAMINMAX", 4, 4, "U"], ["CPA", 0, 4, "U"]]],
  [0xc038, "ID_AA64MMFR0_EL1", [["ECV", 60, 4, "U"], ["FGT", 56, 4, "U"], ["ExS", 44, 4, "U"], ["TGran4_2", 40, 4, "E"], ["TGran64_2", 36, 4, "E"], ["TGran16_2", 32, 4, "E"], ["TGran4", 28, 4, "S"], ["TGran64", 24, 4, "S"], ["TGran16", 20, 4, "U"], ["BigEndEL0", 16, 4, "U"], ["SNSMem", 12, 4, "U"], ["BigEnd", 8, 4, "U"], ["ASIDBits", 4, 4, "E"], ["PARange", 0, 4, "E"]]],
  [0xc039, "ID_AA64MMFR1_EL1", [["ECBHB", 60, 4, "U"], ["CMOW", 56, 4, "U"], ["TIDCP1", 52, 4, "U"], ["nTLBPA", 48, 4, "U"], ["AFP", 44, 4, "U"], ["HCX", 40, 4, "U"], ["ETS", 36, 4, "U"], ["TWED", 32, 4, "U"], ["XNX", 28, 4, "U"], ["SpecSEI", 24, 4, "U"], ["PAN", 20, 4, "U"], ["LO", 16, 4, "U"], ["HPDS", 12, 4, "U"], ["VH", 8, 4, "U"], ["VMIDBits", 4, 4, "E"], ["HAFDBS", 0, 4, "U"]]],
  [0xc03a, "ID_AA64MMFR2_EL1", [["E0PD", 60, 4, "U"], ["EVT", 56, 4, "U"], ["BBM", 52, 4, "U"], ["TTL", 48, 4, "U"], ["FWB", 40, 4, "U"], ["IDS", 36, 4, "E"], ["AT", 32, 4, "U"], ["ST", 28, 4, "E"], ["NV", 24, 4, "U"], ["CCIDX", 20, 4, "E"], ["VARange", 16, 4, "U"], ["IESB", 12, 4, "U"], ["LSM", 8, 4, "U"], ["UAO", 4, 4, "U"], ["CnP", 0, 4, "U"]]],
  [0xc03b, "ID_AA64MMFR3_EL1", [["Spec_FPACC", 60, 4, "U"], ["ADERR", 56, 4, "U"], ["SDERR", 52, 4, "U"], ["ANERR", 44, 4, "U"], ["SNERR", 40, 4, "U"], ["D128_2", 36, 4, "U"], ["D128", 32, 4, "U"], ["MEC", 28, 4, "U"], ["AIE", 24, 4, "U"], ["S2POE", 20, 4, "U"], ["S1POE", 16, 4, "U"], ["S2PIE", 12, 4, "U"], ["S1PIE", 8, 4, "U"], ["SCTLRX", 4, 4, "U"], ["TCRX", 0, 4, "U"]]],
  [0xc03c, "ID_AA64MMFR4_EL1", [["SRMASK", 44, 4, "U"], ["E3DSE", 36, 4, "U"], ["RMEGDI", 28, 4, "U"], ["E2H0", 24, 4, "S"], ["NV_frac", 20, 4, "U"], ["FGWTE3", 16, 4, "U"], ["HACDBS", 12, 4, "U"], ["ASID2", 8, 4, "U"], ["EIESB", 4, 4, "U"], ["PoPS", 0, 4, "U"]]],
  [0xc800, "CCSIDR_EL1", [["NumSets", 13, 15, "F"], ["Associativity", 3, 10, "F"], ["LineSize", 0, 3, "F"]]],
  [0xc801, "CLIDR_EL1", [["Ttypen", 33, 14, "F"], ["ICB", 30, 3, "F"], ["LoUU", 27, 3, "F"], ["LoC", 24, 3, "F"], ["LoUIS", 21, 3, "F"], ["Ctype7", 18, 3, "F"], ["Ctype6", 15, 3, "F"], ["Ctype5", 12, 3, "F"], ["Ctype4", 9, 3, "F"], ["Ctype3", 6, 3, "F"], ["Ctype2", 3, 3, "F"], ["Ctype1", 0, 3, "F"]]],
  [0xc802, "CCSIDR2_EL1", [["NumSets", 0, 24, "F"]]],
  [0xc804, "GMID_EL1", [["BS", 0, 4, "F"]]],
  [0xc806, "SMIDR_EL1", [["Implementer", 24, 8, "F"], ["Revision", 16, 8, "F"], ["SMPS", 15, 1, "F"], ["Affinity", 0, 12, "F"]]],
  [0xd801, "CTR_EL0", [["TminLine", 32, 6, "F"], ["DIC", 29, 1, "F"], ["IDC", 28, 1, "F"], ["CWG", 24, 4, "F"], ["ERG", 20, 4, "F"], ["DminLine", 16, 4, "F"], ["L1Ip", 14, 2, "E"], ["IminLine", 0, 4, "F"]]],
  [0xd807, "DCZID_EL0", [["DZP", 4, 1, "F"], ["BS", 0, 4, "F"]]],
];
