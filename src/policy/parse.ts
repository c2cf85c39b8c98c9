/**
 * Reading policies from a JSON policy file (schema: {@link POLICY_SCHEMA}) and from QEMU CPU
 * property strings (`x-mig-hidden-regs=…`, `x-mig-safe-missing-regs=…`).
 * @module
 */
import { policyError } from './errors.js';
import { POLICY_KINDS, isMaskedKind, type Policy, type PolicyKind, type PolicyRule, type RegRef } from './policy.js';

const U64 = (1n << 64n) - 1n;
const RULE_KEYS = new Set(['kind', 'reg', 'regs', 'mask', 'value', 'note']);
const TOP_KEYS = new Set(['$schema', 'name', 'description', 'rules']);

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

function fail(source: string, path: string, message: string): never {
  throw policyError('schema', `${source}: ${path}: ${message}`, { source, path });
}

/** A 64-bit value from a JSON string (`0x…` or decimal) or a safe JSON integer. */
function u64(x: unknown, source: string, path: string): bigint {
  if (typeof x === 'number') {
    if (!Number.isSafeInteger(x) || x < 0) {
      fail(source, path, 'numbers must be integers 0…2^53−1; write larger values as "0x…" strings');
    }
    return BigInt(x);
  }
  if (typeof x === 'string' && /^(0[xX][0-9a-fA-F]{1,16}|[0-9]{1,20})$/.test(x)) {
    const v = BigInt(x);
    if (v <= U64) return v;
  }
  fail(source, path, `expected a 64-bit value ("0x" + up to 16 hex digits, or decimal), got ${JSON.stringify(x)}`);
}

function regRef(x: unknown, source: string, path: string): RegRef {
  if (typeof x !== 'string' || x.trim() === '') fail(source, path, 'expected a register name or "0x…" id');
  return x.trim();
}

function parseRule(x: unknown, source: string, path: string): PolicyRule[] {
  if (!isObject(x)) fail(source, path, 'expected an object');
  for (const k of Object.keys(x)) if (!RULE_KEYS.has(k)) fail(source, `${path}.${k}`, 'unknown key');
  const kind = x.kind;
  if (typeof kind !== 'string' || !(POLICY_KINDS as readonly string[]).includes(kind)) {
    fail(source, `${path}.kind`, `expected one of ${POLICY_KINDS.join(', ')}`);
  }
  const k = kind as PolicyKind;
  if ((x.reg === undefined) === (x.regs === undefined)) fail(source, path, 'give exactly one of "reg" and "regs"');
  let regs: RegRef[];
  if (x.reg !== undefined) regs = [regRef(x.reg, source, `${path}.reg`)];
  else {
    if (!Array.isArray(x.regs) || x.regs.length === 0) fail(source, `${path}.regs`, 'expected a non-empty array');
    regs = x.regs.map((r, i) => regRef(r, source, `${path}.regs[${i}]`));
  }
  if (x.note !== undefined && typeof x.note !== 'string') fail(source, `${path}.note`, 'expected a string');
  const note = x.note as string | undefined;
  if (isMaskedKind(k)) {
    if (x.value === undefined) fail(source, path, `"${k}" needs "value"`);
    const mask = x.mask === undefined ? U64 : u64(x.mask, source, `${path}.mask`);
    const value = u64(x.value, source, `${path}.value`);
    return regs.map((reg) => ({ kind: k, reg, mask, value, ...(note !== undefined ? { note } : {}) }));
  }
  if (x.mask !== undefined || x.value !== undefined) fail(source, path, `"${k}" takes no "mask"/"value"`);
  return regs.map((reg) => ({ kind: k, reg, ...(note !== undefined ? { note } : {}) }) as PolicyRule);
}

/**
 * A policy from an already parsed JSON value (see {@link POLICY_SCHEMA}).
 * @param source - used in error messages and as the default policy name.
 * @throws UsageError (`data.reason` `schema`)
 */
export function policyFromJson(json: unknown, source: string): Policy {
  if (!isObject(json)) fail(source, '$', 'expected an object with "rules"');
  for (const k of Object.keys(json)) if (!TOP_KEYS.has(k)) fail(source, `$.${k}`, 'unknown key');
  if (!Array.isArray(json.rules)) fail(source, '$.rules', 'expected an array');
  if (json.name !== undefined && (typeof json.name !== 'string' || json.name === '')) {
    fail(source, '$.name', 'expected a non-empty string');
  }
  if (json.description !== undefined && typeof json.description !== 'string') {
    fail(source, '$.description', 'expected a string');
  }
  const rules = json.rules.flatMap((r, i) => parseRule(r, source, `$.rules[${i}]`));
  const policy: Policy = { name: (json.name as string | undefined) ?? source, rules };
  if (json.description !== undefined) policy.description = json.description as string;
  return policy;
}

/**
 * A policy from the text of a JSON policy file. Register names are resolved later, when
 * policies are combined.
 * @throws UsageError (`data.reason` `json` for unparsable text, `schema` for a wrong shape)
 */
export function parsePolicyJson(text: string, source: string): Policy {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw policyError('json', `${source}: not valid JSON: ${(e as Error).message}`, { source });
  }
  return policyFromJson(json, source);
}

/** The QEMU CPU properties of the January 2026 series, and the policy kind each sets. */
export const QEMU_POLICY_PROPERTIES: Readonly<Record<string, PolicyKind>> = {
  'x-mig-hidden-regs': 'hidden',
  'x-mig-safe-missing-regs': 'safe-missing',
};

/**
 * Rules from one QEMU property string, e.g.
 * `x-mig-safe-missing-regs=0x603000000013c103, 0x603000000013c512, 0x603000000013c513`.
 * A leading `-global` and a driver prefix (`arm-cpu.`, `host-arm-cpu.`, …) are allowed, as in
 * a `-global` option. Items are comma-separated with optional spaces; each is a `0x…` id or a
 * register name.
 * @throws UsageError (`data.reason` `property`)
 */
export function parseQemuProperty(text: string): PolicyRule[] {
  const m = /^\s*(?:-global\s+)?(?:[A-Za-z0-9_-]+\.)?(x-mig-[a-z-]+)\s*=(.*)$/s.exec(text);
  const kind = m ? QEMU_POLICY_PROPERTIES[m[1]!] : undefined;
  if (!m || !kind) {
    const known = Object.keys(QEMU_POLICY_PROPERTIES).join(' or ');
    throw policyError('property', `'${text.trim()}': expected ${known}=<id or name>[, …]`, { text });
  }
  const items = m[2]!.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) {
    throw policyError('property', `'${text.trim()}': empty item in the comma list`, { text });
  }
  return items.map((reg) => ({ kind, reg }) as PolicyRule);
}

/**
 * One policy from several property strings (the option is repeatable; the lists add up).
 * @param name - the policy name shown in reports.
 * @throws UsageError (`data.reason` `property`)
 */
export function parseQemuProperties(texts: readonly string[], name = 'qemu-properties'): Policy {
  return { name, rules: texts.flatMap(parseQemuProperty) };
}
