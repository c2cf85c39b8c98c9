/**
 * JSON Schema (draft 2020-12) of a policy file, as read by `parsePolicyJson`.
 *
 * Example:
 * ```json
 * {
 *   "name": "backward-to-6.12",
 *   "rules": [
 *     { "kind": "safe-missing", "regs": ["TCR2_EL1", "PIRE0_EL1", "PIR_EL1"] },
 *     { "kind": "hidden", "reg": "0x6030000000160003", "note": "VENDOR_HYP_BMAP_2" },
 *     { "kind": "only-src-test-value", "reg": "KVM_REG_ARM_VENDOR_HYP_BMAP_2", "mask": "0xffffffffffffffff", "value": "0x0" }
 *   ]
 * }
 * ```
 * Registers are names (case-insensitive, as the `regs` command prints them) or `0x…` ids.
 * 64-bit numbers are strings (hex `0x…` or decimal) because JSON numbers lose precision above
 * 2^53; small integers are accepted as numbers. `mask` defaults to all ones.
 * @module
 */

const u64 = {
  description: 'A 64-bit unsigned value: "0x" + 1–16 hex digits, a decimal string, or a JSON integer ≤ 2^53−1.',
  oneOf: [
    { type: 'string', pattern: '^(0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})$' },
    { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
  ],
} as const;

const reg = {
  description: 'A register name (e.g. "TCR2_EL1", "KVM_REG_ARM_VENDOR_HYP_BMAP_2") or a "0x…" id.',
  type: 'string',
  minLength: 1,
} as const;

/** The policy file schema. */
export const POLICY_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'vmstate register policy',
  description: 'Rules that say which cpreg registers a destination tolerates or demands.',
  type: 'object',
  required: ['rules'],
  additionalProperties: false,
  properties: {
    $schema: { type: 'string' },
    name: { type: 'string', minLength: 1, description: 'Shown in reports; defaults to the file name.' },
    description: { type: 'string' },
    rules: { type: 'array', items: { $ref: '#/$defs/rule' } },
  },
  $defs: {
    u64,
    reg,
    rule: {
      type: 'object',
      required: ['kind'],
      additionalProperties: false,
      properties: {
        kind: { enum: ['safe-missing', 'hidden', 'require-value', 'not-on-both-ends', 'only-src-test-value'] },
        reg: { $ref: '#/$defs/reg' },
        regs: { type: 'array', minItems: 1, items: { $ref: '#/$defs/reg' } },
        mask: { $ref: '#/$defs/u64' },
        value: { $ref: '#/$defs/u64' },
        note: { type: 'string' },
      },
      oneOf: [{ required: ['reg'] }, { required: ['regs'] }],
      if: { properties: { kind: { enum: ['require-value', 'only-src-test-value'] } } },
      then: { required: ['value'] },
      else: { not: { anyOf: [{ required: ['mask'] }, { required: ['value'] }] } },
    },
  },
} as const;
