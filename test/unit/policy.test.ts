import { describe, expect, it } from 'vitest';
import {
  POLICY_KINDS,
  POLICY_SCHEMA,
  PolicySet,
  combinePolicies,
  parsePolicyJson,
  parseQemuProperties,
  parseQemuProperty,
  presetNames,
  presetPolicy,
  type Policy,
} from '../../src/policy/index.js';
import { UsageError } from '../../src/errors.js';

const TCR2 = 0x603000000013c103n;
const PIRE0 = 0x603000000013c512n;
const PIR = 0x603000000013c513n;
const BMAP2 = 0x6030000000160003n;
const ALL = (1n << 64n) - 1n;

const reasonOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as UsageError).data.reason as string;
  }
  throw new Error('no error');
};

describe('QEMU property strings', () => {
  it('reads a single id', () => {
    expect(parseQemuProperty('x-mig-hidden-regs=0x6030000000160003')).toEqual([{ kind: 'hidden', reg: '0x6030000000160003' }]);
  });

  it('reads comma lists with optional spaces, driver prefixes and names', () => {
    const rules = parseQemuProperty('x-mig-safe-missing-regs=0x603000000013c103, 0x603000000013c512,0x603000000013c513');
    expect(rules.map((r) => r.reg)).toEqual(['0x603000000013c103', '0x603000000013c512', '0x603000000013c513']);
    expect(rules.every((r) => r.kind === 'safe-missing')).toBe(true);
    const named = parseQemuProperty('-global arm-cpu.x-mig-safe-missing-regs=TCR2_EL1 , pir_el1');
    const set = combinePolicies([{ name: 'p', rules: named }]);
    expect(set.get(TCR2)?.safeMissing?.source).toBe('p');
    expect(set.get(PIR)?.safeMissing).toBeDefined();
  });

  it('is repeatable: the lists add up', () => {
    const p = parseQemuProperties(['x-mig-hidden-regs=0x6030000000160003', 'x-mig-safe-missing-regs=TCR2_EL1', 'x-mig-safe-missing-regs=PIRE0_EL1']);
    expect(p.name).toBe('qemu-properties');
    const set = combinePolicies([p]);
    expect(set.hiddenIds()).toEqual([BMAP2]);
    expect(set.count('safe-missing')).toBe(2);
  });

  it('rejects other properties and empty items', () => {
    expect(reasonOf(() => parseQemuProperty('x-mig-other=0x1'))).toBe('property');
    expect(reasonOf(() => parseQemuProperty('0x1,0x2'))).toBe('property');
    expect(reasonOf(() => parseQemuProperty('x-mig-hidden-regs=0x1,,0x2'))).toBe('property');
    expect(reasonOf(() => parseQemuProperty('x-mig-hidden-regs='))).toBe('property');
  });

  it('an unknown name fails when policies are combined', () => {
    const p = parseQemuProperties(['x-mig-hidden-regs=NOT_A_REGISTER']);
    expect(reasonOf(() => combinePolicies([p]))).toBe('unknown-register');
  });
});

describe('JSON policy files', () => {
  const text = JSON.stringify({
    name: 'backward',
    description: 'to an older kernel',
    rules: [
      { kind: 'safe-missing', regs: ['TCR2_EL1', 'PIRE0_EL1', '0x603000000013c513'] },
      { kind: 'hidden', reg: '0x6030000000160003', note: 'VENDOR_HYP_BMAP_2' },
      { kind: 'require-value', reg: 'PSCI_VERSION', mask: '0xffff0000', value: 65536 },
      { kind: 'only-src-test-value', reg: 'KVM_REG_ARM_VENDOR_HYP_BMAP_2', value: '0x0' },
    ],
  });

  it('reads every kind; mask defaults to all ones', () => {
    const p = parsePolicyJson(text, 'p.json');
    expect(p.name).toBe('backward');
    expect(p.rules).toHaveLength(6);
    const set = combinePolicies([p]);
    expect(set.get(PIRE0)?.safeMissing).toMatchObject({ kind: 'safe-missing', source: 'backward' });
    expect(set.get(BMAP2)?.hidden?.note).toBe('VENDOR_HYP_BMAP_2');
    expect(set.get(BMAP2)?.onlySrcTestValue).toMatchObject({ mask: ALL, value: 0n });
    expect(set.get(0x6030000000140000n)?.requireValue).toMatchObject({ mask: 0xffff0000n, value: 0x10000n });
  });

  it('defaults the name to the source', () => {
    expect(parsePolicyJson('{"rules": []}', 'x.json').name).toBe('x.json');
  });

  it('names the path of a schema error', () => {
    const bad = (o: unknown): string => {
      try {
        parsePolicyJson(JSON.stringify(o), 'f.json');
      } catch (e) {
        expect((e as UsageError).data.reason).toBe('schema');
        return (e as Error).message;
      }
      throw new Error('accepted');
    };
    expect(bad({ rules: [{ kind: 'ignore', reg: 'X' }] })).toMatch(/^f\.json: \$\.rules\[0\]\.kind: expected one of/);
    expect(bad({ rules: [{ kind: 'hidden' }] })).toMatch(/exactly one of "reg" and "regs"/);
    expect(bad({ rules: [{ kind: 'hidden', reg: 'X', value: '0x1' }] })).toMatch(/takes no "mask"\/"value"/);
    expect(bad({ rules: [{ kind: 'require-value', reg: 'X' }] })).toMatch(/needs "value"/);
    expect(bad({ rules: [{ kind: 'require-value', reg: 'X', value: 2 ** 60 }] })).toMatch(/\$\.rules\[0\]\.value: numbers must be/);
    expect(bad({ rules: [{ kind: 'require-value', reg: 'X', value: '0x1ffffffffffffffff' }] })).toMatch(/64-bit value/);
    expect(bad({ rules: [], extra: 1 })).toMatch(/\$\.extra: unknown key/);
    expect(bad([])).toMatch(/\$: expected an object/);
  });

  it('reports unparsable JSON', () => {
    expect(reasonOf(() => parsePolicyJson('{', 'f.json'))).toBe('json');
  });

  it('rejects a value with bits outside its mask', () => {
    const p: Policy = { name: 'p', rules: [{ kind: 'require-value', reg: TCR2, mask: 0xfn, value: 0x10n }] };
    expect(reasonOf(() => combinePolicies([p]))).toBe('schema');
  });

  it('the exported schema lists the same kinds', () => {
    expect(POLICY_SCHEMA.$defs.rule.properties.kind.enum).toEqual(POLICY_KINDS);
  });
});

describe('presets', () => {
  it('has the three built-ins', () => {
    expect(presetNames()).toEqual(['virt-10.2', 'kernel-compat-10.1', 'qemu-11.1-host']);
    expect(reasonOf(() => presetPolicy('nope'))).toBe('unknown-preset');
  });

  it('virt-10.2: the AArch32 DBGDTRTX may be missing on the destination', () => {
    const set = combinePolicies([presetPolicy('virt-10.2')]);
    expect(set.rules().map((r) => [r.kind, r.id])).toEqual([['safe-missing', 0x40200000200e0298n]]);
  });

  it('kernel-compat-10.1: BMAP_2 hidden; TCR2/PIRE0/PIR safe-missing', () => {
    const set = combinePolicies([presetPolicy('kernel-compat-10.1')]);
    expect(set.hiddenIds()).toEqual([BMAP2]);
    expect(set.rules().filter((r) => r.kind === 'safe-missing').map((r) => r.id)).toEqual([TCR2, PIRE0, PIR]);
  });

  it('qemu-11.1-host: one-side tolerances and the BMAP_2 value test', () => {
    const set = combinePolicies([presetPolicy('qemu-11.1-host')]);
    expect(set.count('not-on-both-ends')).toBe(3);
    expect(set.get(BMAP2)?.onlySrcTestValue).toMatchObject({ mask: ALL, value: 0n, source: 'qemu-11.1-host' });
  });

  it('returns copies', () => {
    presetPolicy('virt-10.2').rules.length = 0;
    expect(presetPolicy('virt-10.2').rules).toHaveLength(1);
  });
});

describe('combining', () => {
  it('is a union; identical rules merge and keep the first source', () => {
    const a: Policy = { name: 'a', rules: [{ kind: 'safe-missing', reg: TCR2 }] };
    const b: Policy = { name: 'b', rules: [{ kind: 'safe-missing', reg: 'TCR2_EL1' }, { kind: 'hidden', reg: TCR2 }] };
    const set = combinePolicies([a, b, presetPolicy('kernel-compat-10.1')]);
    expect(set.get(TCR2)?.safeMissing?.source).toBe('a');
    expect(set.get(TCR2)?.hidden?.source).toBe('b');
    expect(set.names).toEqual(['a', 'b', 'kernel-compat-10.1']);
    expect(set.count('safe-missing')).toBe(3);
  });

  it('different parameters for one kind conflict', () => {
    const a: Policy = { name: 'a', rules: [{ kind: 'require-value', reg: BMAP2, mask: ALL, value: 0n }] };
    const b: Policy = { name: 'b', rules: [{ kind: 'require-value', reg: 'VENDOR_HYP_BMAP_2', mask: ALL, value: 1n }] };
    try {
      combinePolicies([a, b]);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(UsageError);
      const c = (e as UsageError).data as { reason: string; id: string; rules: string[] };
      expect(c.reason).toBe('conflict');
      expect(c.id).toBe('0x6030000000160003');
      expect(c.rules[0]).toBe('require-value(mask=0xffffffffffffffff, value=0x0000000000000000) from a');
    }
  });

  it('two QEMU 11.1 tolerance kinds for one register conflict', () => {
    expect(reasonOf(() => combinePolicies([presetPolicy('qemu-11.1-host'), { name: 'x', rules: [{ kind: 'not-on-both-ends', reg: BMAP2 }] }]))).toBe('conflict');
  });

  it('the empty set', () => {
    expect(PolicySet.EMPTY.isEmpty).toBe(true);
    expect(PolicySet.of([]).rules()).toEqual([]);
  });
});
