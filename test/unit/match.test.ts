import { describe, expect, it } from 'vitest';
import {
  anomalyToJson,
  compareMachineType,
  compareSubsections,
  destinationFromList,
  matchCpregs,
  matchCpu,
  matchResultToJson,
  parseRegisterList,
  resolveLoader,
  type Anomaly,
  type CpuVerdict,
  type DestinationCpu,
  type IncomingCpu,
  type MatchOptions,
} from '../../src/match/index.js';
import { ProfileError, UsageError } from '../../src/errors.js';

// A small TCG-style destination: two ID registers (ID_AA64ISAR1_EL1 is ARM_CP_CONST in QEMU;
// MIDR is stored in env and raw-writable), three ordinary ones.
const MIDR = 0x40200000200f0000n; // AArch32 MIDR (ID register, raw-writable, 32-bit)
const ISAR1 = 0x603000000013c031n; // ID_AA64ISAR1_EL1 (ID register, ARM_CP_CONST)
const SCTLR = 0x603000000013c080n;
const TPIDR = 0x603000000013de82n;
const TPIDRRO = 0x603000000013de83n;
const REVIDR = 0x603000000013c006n; // ID register whose value is 0
const BMAP2 = 0x6030000000160003n;
const UNKNOWN_A32 = 0x40200000200e0001n;
const DBGDTR = 0x40200000200e0298n;

const DEST_IDS = [MIDR, ISAR1, SCTLR, TPIDR, TPIDRRO];
const DEST_VALUES = [0x410fd034n, 0x11120n, 0x30d00800n, 0n, 0n];
const dest = (over: Partial<DestinationCpu> = {}): DestinationCpu => ({
  instance: 0,
  ids: DEST_IDS,
  values: DEST_VALUES,
  ...over,
});

/** Incoming list from (id, value) pairs, in the given order. */
const inc = (pairs: readonly (readonly [bigint, bigint])[], count?: number): IncomingCpu => ({
  instance: 0,
  ids: pairs.map((p) => p[0]),
  values: pairs.map((p) => p[1]),
  ...(count !== undefined ? { count } : {}),
});
const same = (): [bigint, bigint][] => DEST_IDS.map((id, i) => [id, DEST_VALUES[i]!]);
const without = (id: bigint): [bigint, bigint][] => same().filter((p) => p[0] !== id);
const sorted = (pairs: [bigint, bigint][]): [bigint, bigint][] => pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));

const run = (loader: string, incoming: IncomingCpu, d = dest(), extra: Partial<MatchOptions> = {}): CpuVerdict =>
  matchCpu(incoming, d, { loader, accel: 'tcg', ...extra });
const kinds = (v: CpuVerdict): string[] => v.anomalies.map((a) => a.kind);
const only = (v: CpuVerdict, kind: string): Anomaly => {
  const list = v.anomalies.filter((a) => a.kind === kind);
  expect(list, `one ${kind} in ${JSON.stringify(kinds(v))}`).toHaveLength(1);
  return list[0]!;
};

const EPERM = "error while loading state for instance 0x0 of device 'cpu'\nload of migration failed: Operation not permitted";
const POST_LOAD_111 =
  "load of migration failed: Invalid argument: error while loading state for instance 0x0 of device 'cpu': " +
  'post load hook failed for: cpu, version_id: 22, minimum_version: 22, ret: -1';

describe('loaders', () => {
  it('resolves aliases and rejects unknown names', () => {
    expect(resolveLoader('qemu-7.2').name).toBe('legacy');
    expect(resolveLoader('QEMU-10.0').name).toBe('legacy');
    expect(resolveLoader('qemu-10.2').name).toBe('legacy');
    expect(resolveLoader('series-v6').name).toBe('series-v6');
    expect(resolveLoader('qemu-11.1').name).toBe('qemu-11.1');
    expect(() => resolveLoader('qemu-9.9')).toThrow(UsageError);
    expect(() => resolveLoader('qemu-9.9')).toThrow(expect.objectContaining({ data: { reason: 'unknown-loader', loader: 'qemu-9.9' } }));
  });

  it.each(['legacy', 'series-v6', 'qemu-11.1'])('%s: an identical list loads with no anomaly', (loader) => {
    const v = run(loader, inc(same()));
    expect(v.ok).toBe(true);
    expect(v.anomalies).toEqual([]);
    expect(v.stats.matched).toBe(5);
    expect(v.qemuError).toBeNull();
  });
});

describe('tail extras (id above the destination’s last)', () => {
  // Replace one ordinary register so the count stays within the legacy bound.
  const tail = (): IncomingCpu => inc([...without(TPIDRRO), [BMAP2, 0n]]);

  it('legacy ignores them silently', () => {
    const v = run('legacy', tail());
    expect(v.ok).toBe(true);
    const a = only(v, 'ignored-tail');
    expect(a).toMatchObject({ id: '0x6030000000160003', name: 'VENDOR_HYP_BMAP_2', fatal: false, qemuText: null, index: 4 });
    expect(only(v, 'missing')).toMatchObject({ id: '0x603000000013de83', fatal: false, qemuText: null });
  });

  it('legacy still applies the count bound', () => {
    const v = run('legacy', inc([...same(), [BMAP2, 0n]]));
    expect(v.ok).toBe(false);
    const a = only(v, 'count-bound');
    expect(a.qemuText).toBe('Invalid value 6 expecting positive value <= 5\nFailed to load cpu:cpreg_vmstate_array_len');
    expect(v.qemuError).toBe(
      "Invalid value 6 expecting positive value <= 5\nFailed to load cpu:cpreg_vmstate_array_len\nerror while loading state for instance 0x0 of device 'cpu'\nload of migration failed: Invalid argument",
    );
    expect(only(v, 'ignored-tail').fatal).toBe(false);
  });

  it('qemu-11.1 rejects them, printing the cpreg key', () => {
    const v = run('qemu-11.1', inc([...same(), [BMAP2, 0n]]));
    expect(v.ok).toBe(false);
    expect(kinds(v)).toEqual(['unexpected']);
    const a = only(v, 'unexpected');
    expect(a.qemuText).toBe(
      'handle_cpreg_only_in_incoming_stream: system register 0x10160003 in the incoming stream but unknown on the destination: fail migration\n' +
        POST_LOAD_111,
    );
    expect(v.qemuError).toBe(POST_LOAD_111);
  });

  it('series-v6 rejects them (count within its slack)', () => {
    const v = run('series-v6', inc([...same(), [BMAP2, 0n]]));
    expect(kinds(v)).toEqual(['unexpected']);
    expect(v.qemuError).toBe(EPERM);
    // TCG gets trace points only; under KVM the line names the register.
    expect(only(v, 'unexpected').qemuText).toBe(EPERM);
  });
});

describe('middle extras', () => {
  const middle = (): IncomingCpu => inc(sorted([...without(TPIDRRO), [UNKNOWN_A32, 0n]]));

  it('legacy fails with EPERM', () => {
    const v = run('legacy', middle());
    expect(v.ok).toBe(false);
    const a = only(v, 'unexpected');
    expect(a).toMatchObject({ id: '0x40200000200e0001', name: null, fatal: true, qemuText: EPERM, index: 0 });
    expect(v.qemuError).toBe(EPERM);
  });

  it('qemu-11.1 names the AArch32 key with bit 29 set', () => {
    const v = run('qemu-11.1', middle());
    expect(only(v, 'unexpected').qemuText?.split('\n')[0]).toBe(
      'handle_cpreg_only_in_incoming_stream: system register 0x200e0001 in the incoming stream but unknown on the destination: fail migration',
    );
    // The destination's TPIDRRO_EL0 is missing: a warning, not a failure.
    expect(only(v, 'missing')).toMatchObject({
      fatal: false,
      qemuText:
        'warning: handle_cpreg_missing_in_incoming_stream: system register 0x1013de83 expected by the destination but not in the incoming stream: skip it',
    });
  });

  it('series-v6 fails', () => {
    expect(run('series-v6', middle()).ok).toBe(false);
  });
});

describe('missing registers on TCG', () => {
  it('an ordinary register may be missing', () => {
    for (const loader of ['legacy', 'series-v6', 'qemu-11.1']) {
      const v = run(loader, inc(without(TPIDR)));
      expect(v.ok).toBe(true);
      expect(kinds(v)).toEqual(['missing']);
    }
  });

  it('a constant register with a non-zero value may not', () => {
    for (const loader of ['legacy', 'series-v6', 'qemu-11.1']) {
      const v = run(loader, inc(without(ISAR1)));
      expect(v.ok).toBe(false);
      const a = only(v, 'missing-const');
      expect(a).toMatchObject({ id: '0x603000000013c031', name: 'ID_AA64ISAR1_EL1', expected: 0x11120n, fatal: true });
    }
    const v = run('qemu-11.1', inc(without(ISAR1)));
    expect(only(v, 'missing-const').qemuText).toBe(
      'warning: handle_cpreg_missing_in_incoming_stream: system register 0x1013c031 expected by the destination but not in the incoming stream: skip it\n' +
        POST_LOAD_111,
    );
  });

  it('a constant 0 reads back on legacy, but not reliably on 11.1', () => {
    const d = dest({ ids: [...DEST_IDS, REVIDR].sort((a, b) => (a < b ? -1 : 1)), values: undefined });
    const withValues: DestinationCpu = {
      ...d,
      values: d.ids.map((id) => (id === REVIDR ? 0n : DEST_VALUES[DEST_IDS.indexOf(id)]!)),
    };
    const legacy = run('legacy', inc(same()), withValues);
    expect(legacy.ok).toBe(true);
    expect(only(legacy, 'missing').id).toBe('0x603000000013c006');
    const q = run('qemu-11.1', inc(same()), withValues);
    expect(q.ok).toBe(false);
    expect(only(q, 'missing-const').note).toMatch(/stale heap data/);
  });

  it('a constant register with an unknown value counts as failing', () => {
    const v = run('legacy', inc(without(ISAR1)), dest({ values: undefined }));
    const a = only(v, 'missing-const');
    expect(a.expected).toBeUndefined();
    expect(a.message).toMatch(/unknown here/);
  });

  it('a register declared constant by the destination is treated like an ID register', () => {
    const v = run('legacy', inc(without(SCTLR)), dest({ constant: new Set([SCTLR]) }));
    expect(only(v, 'missing-const').name).toBe('SCTLR_EL1');
  });

  it('on KVM every missing register keeps its reset value', () => {
    const v = matchCpu(inc(without(ISAR1)), dest(), { loader: 'legacy', accel: 'kvm' });
    expect(v.ok).toBe(true);
    expect(only(v, 'missing').message).toMatch(/KVM/);
  });
});

describe('value mismatches', () => {
  const flip = (id: bigint, bit: bigint): [bigint, bigint][] => same().map(([i, v]) => [i, i === id ? v ^ bit : v]);

  it('an ID register that differs fails the read-back, with the fields named', () => {
    for (const loader of ['legacy', 'series-v6', 'qemu-11.1']) {
      const v = run(loader, inc(flip(ISAR1, 0x10n)));
      expect(v.ok).toBe(false);
      const a = only(v, 'value-mismatch');
      expect(a).toMatchObject({ value: 0x11130n, expected: 0x11120n, index: 1 });
      expect(a.fields).toEqual([{ field: 'APA', a: 3n, b: 2n }]);
    }
    expect(only(run('legacy', inc(flip(ISAR1, 0x10n))), 'value-mismatch').qemuText).toBe(EPERM);
  });

  it('an ordinary register may hold any value', () => {
    const v = run('legacy', inc(flip(TPIDR, 0x1234n)));
    expect(v.ok).toBe(true);
    expect(v.anomalies).toEqual([]);
  });

  it('a declared constant that differs fails too (no field list)', () => {
    const v = run('qemu-11.1', inc(flip(SCTLR, 1n)), dest({ constant: new Set([SCTLR]) }));
    const a = only(v, 'value-mismatch');
    expect(a.fields).toBeUndefined();
  });

  it('on KVM an ID register that differs is a write the kernel refuses, named by QEMU 11.1', () => {
    const v = matchCpu(inc(flip(ISAR1, 0x10n)), dest(), { loader: 'qemu-11.1', accel: 'kvm' });
    const a = only(v, 'kvm-refused');
    expect(a.message).toMatch(/KVM_SET_ONE_REG EINVAL/);
    expect(a.fields).toEqual([{ field: 'APA', a: 3n, b: 2n }]);
    expect(a.qemuText).toBe('Could not set register system register op0:3 op1:0 crn:0 crm:6 op2:1 to 11130 (is 11120)');
    expect(v.qemuLines!.at(-1)).toBe('Failed to put registers after init: Invalid argument');
  });
});

describe('unsorted and duplicated input', () => {
  it('an out-of-order id in the middle fails everywhere', () => {
    const pairs = same();
    [pairs[2], pairs[3]] = [pairs[3]!, pairs[2]!]; // SCTLR after TPIDR
    for (const loader of ['legacy', 'series-v6', 'qemu-11.1']) {
      const v = run(loader, inc(pairs));
      expect(v.ok).toBe(false);
      expect(kinds(v)).toEqual(['missing', 'unsorted']);
      expect(only(v, 'unsorted')).toMatchObject({ id: '0x603000000013c080', knownToDestination: true, index: 3 });
    }
  });

  it('an out-of-order id after the destination’s last is ignored by legacy only', () => {
    const pairs = same();
    [pairs[3], pairs[4]] = [pairs[4]!, pairs[3]!]; // TPIDRRO, then TPIDR
    const legacy = run('legacy', inc(pairs));
    expect(legacy.ok).toBe(true);
    expect(kinds(legacy)).toEqual(['missing', 'unsorted']);
    expect(only(legacy, 'unsorted').fatal).toBe(false);
    const q = run('qemu-11.1', inc(pairs));
    expect(q.ok).toBe(false);
    expect(only(q, 'unsorted').qemuText?.split('\n')[0]).toContain('system register 0x1013de82 in the incoming stream');
  });

  it('a repeated id fails', () => {
    const pairs = without(TPIDRRO);
    pairs.push([TPIDR, 5n]);
    for (const loader of ['legacy', 'series-v6', 'qemu-11.1']) {
      const v = run(loader, inc(pairs));
      expect(kinds(v)).toEqual(['duplicate', 'missing']);
      expect(only(v, 'duplicate')).toMatchObject({ fatal: true, index: 4, value: 5n, knownToDestination: true });
    }
  });
});

describe('empty list and count bound', () => {
  it('an empty list fails on TCG (a non-zero constant does not read back from a zero slot)', () => {
    const v = run('legacy', inc([]));
    expect(v.ok).toBe(false);
    expect(kinds(v).sort()).toEqual(['missing', 'missing', 'missing', 'missing', 'missing-const']);
    expect(only(v, 'missing-const').id).toBe('0x603000000013c031');
  });

  it('an empty list loads on KVM', () => {
    const v = matchCpu(inc([]), dest(), { loader: 'qemu-11.1', accel: 'kvm' });
    expect(v.ok).toBe(true);
    expect(kinds(v)).toEqual(['missing', 'missing', 'missing', 'missing', 'missing']);
    expect(v.anomalies[0]!.qemuText).toBe(
      'warning: handle_cpreg_missing_in_incoming_stream: 40200000200f0000 expected by the destination but not in the incoming stream: skip it',
    );
  });

  it('a negative count: legacy refuses it, 11.1 aborts allocating', () => {
    const legacy = run('legacy', inc(same(), -1));
    expect(only(legacy, 'count-bound').qemuText).toBe(
      'Invalid value -1 expecting positive value <= 5\nFailed to load cpu:cpreg_vmstate_array_len',
    );
    const q = run('qemu-11.1', inc(same(), -1));
    expect(q.qemuError).toBe('GLib: ../../../glib/gmem.c:106: failed to allocate 34359738360 bytes');
    expect(only(q, 'count-bound').detail).toEqual({ count: -1 });
  });

  it('11.1 has no upper bound; series-v6 allows 10 extra', () => {
    const extra = Array.from({ length: 11 }, (_, k) => [0x6030000000170000n + BigInt(k), 0n] as [bigint, bigint]);
    const q = run('qemu-11.1', inc([...same(), ...extra]));
    expect(kinds(q).filter((k) => k === 'count-bound')).toEqual([]);
    expect(kinds(q).filter((k) => k === 'unexpected')).toHaveLength(11);
    const s = run('series-v6', inc([...same(), ...extra]));
    expect(only(s, 'count-bound').detail).toEqual({ count: 16, bound: 15 });
    const s10 = run('series-v6', inc([...same(), ...extra.slice(1)]));
    expect(kinds(s10).includes('count-bound')).toBe(false);
  });
});

describe('QEMU 11.1 specifics', () => {
  it('tolerates the bogus AArch32 DBGDTRTX by itself, whatever its value', () => {
    for (const value of [0n, 5n]) {
      const v = run('qemu-11.1', inc(sorted([...same(), [DBGDTR, value]])));
      expect(v.ok).toBe(true);
      expect(only(v, 'tolerated')).toMatchObject({
        id: '0x40200000200e0298',
        qemuText: null,
        policy: { source: 'qemu-11.1 (built-in)', kind: 'not-on-both-ends' },
      });
    }
  });

  it('a tolerated id after an unknown one clears the failure (as QEMU 11.1.3 does)', () => {
    const v = run('qemu-11.1', inc(sorted([...same(), [UNKNOWN_A32, 0n], [DBGDTR, 0n]])));
    expect(v.ok).toBe(true);
    const a = only(v, 'unexpected');
    expect(a.fatal).toBe(false);
    expect(a.note).toMatch(/loads anyway/);
    expect(a.qemuText).toContain('system register 0x200e0001');
  });

  it('an unknown id after a tolerated one still fails', () => {
    const v = run('qemu-11.1', inc(sorted([...same(), [DBGDTR, 0n], [0x40200000200e0301n, 0n]])));
    expect(v.ok).toBe(false);
    expect(only(v, 'unexpected').fatal).toBe(true);
  });

  it('policies rejected with the built-in one conflict', () => {
    expect(() =>
      run('qemu-11.1', inc(same()), dest(), {
        policies: [{ name: 'p', rules: [{ kind: 'only-src-test-value', reg: DBGDTR, mask: 1n, value: 0n }] }],
      }),
    ).toThrow(expect.objectContaining({ name: 'UsageError', data: expect.objectContaining({ reason: 'conflict' }) }));
  });
});

describe('matchCpregs', () => {
  it('pairs vCPUs by instance and reports an unknown one', () => {
    const d = { origin: 'stream' as const, cpus: [dest()] };
    const r = matchCpregs([inc(same()), { ...inc(same()), instance: 1 }], d, { loader: 'qemu-10.2', accel: 'tcg' });
    expect(r.loader).toBe('legacy');
    expect(r.ok).toBe(false);
    expect(r.cpus[0]!.ok).toBe(true);
    expect(r.cpus[1]!.anomalies[0]!.qemuText).toMatch(/^Unknown savevm section or instance 'cpu' 1\. /);
  });

  it('a plain list stands for every vCPU', () => {
    const d = destinationFromList(DEST_IDS);
    const r = matchCpregs([inc(same()), { ...inc(same()), instance: 1 }], d, { loader: 'legacy', accel: 'tcg' });
    expect(r.ok).toBe(true);
    expect(r.cpus.map((c) => c.instance)).toEqual([0, 1]);
  });

  it('notes policies the loader does not support', () => {
    const r = matchCpregs([inc(same())], destinationFromList(DEST_IDS), {
      loader: 'legacy',
      accel: 'tcg',
      policies: [{ name: 'x', rules: [{ kind: 'safe-missing', reg: BMAP2 }] }],
    });
    expect(r.notes).toEqual([
      "'safe-missing' rules (x) are not supported by loader legacy (QEMU 7.2 … 10.2); they change nothing",
    ]);
  });

  it('renders JSON with 16-digit hex ids and values', () => {
    const v = run('legacy', inc(same().map(([i, v]) => [i, i === ISAR1 ? v ^ 0x10n : v])));
    const json = anomalyToJson(v.anomalies[0]!);
    expect(json).toMatchObject({ id: '0x603000000013c031', value: '0x0000000000011130', expected: '0x0000000000011120' });
    expect(json.fields).toEqual([{ field: 'APA', a: 3, b: 2 }]);
    expect('reg' in json).toBe(false);
    const r = matchResultToJson(
      matchCpregs([inc(same())], destinationFromList(DEST_IDS), { loader: 'legacy', accel: 'tcg' }),
    );
    expect(() => JSON.stringify(r)).not.toThrow();
  });

  it('sorts an unsorted destination and refuses one with repeated ids', () => {
    const rev = dest({ ids: [...DEST_IDS].reverse(), values: [...DEST_VALUES].reverse() });
    expect(run('legacy', inc(same()), rev).ok).toBe(true);
    expect(() => run('legacy', inc(same()), dest({ ids: [MIDR, MIDR], values: [0n, 0n] }))).toThrow(UsageError);
  });

  it('refuses incoming arrays of different lengths', () => {
    expect(() => run('legacy', { instance: 0, ids: [MIDR], values: [] })).toThrow(UsageError);
  });
});

describe('parseRegisterList', () => {
  it('reads ids, comments and blank lines', () => {
    const text = '# destination\n0x603000000013de82\n\n  603000000013C080  # SCTLR_EL1\n0x40200000200f0000\n';
    expect(parseRegisterList(text)).toEqual([MIDR, SCTLR, TPIDR]);
  });

  it('names the line of junk and of repeats', () => {
    expect(() => parseRegisterList('0x1\n0x2\nTPIDR_EL0\n', 'dst.txt')).toThrow(
      new ProfileError("dst.txt: line 3: expected one hex register id, got 'TPIDR_EL0'", { source: 'dst.txt', line: 3 }),
    );
    try {
      parseRegisterList('0x1\n\n0x01\n');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ProfileError);
      expect((e as ProfileError).data.line).toBe(3);
      expect((e as Error).message).toBe('register list: line 3: 0x0000000000000001 repeats line 1');
    }
    expect(() => parseRegisterList('0x12345678901234567\n')).toThrow(/line 1/);
  });
});

describe('compareSubsections / compareMachineType', () => {
  const dst = [
    { name: 'cpu/vfp', version: 3 },
    { name: 'cpu/sve', version: 1 },
    { name: 'cpu/irq-line-state', version: 1 },
  ];

  it('reports unknown subsections with QEMU’s ENOENT text, once per unknown parent', () => {
    const a = compareSubsections(
      [
        { name: 'cpu/vfp', version: 3 },
        { name: 'cpu/vfp/fpcr_fpsr', version: 1 },
        { name: 'cpu/wfxt-timer', version: 1 },
        { name: 'cpu/wfxt-timer/x', version: 1 },
        { name: 'cpu/sve', version: 2 },
      ],
      dst,
    );
    expect(a.map((x) => [x.kind, x.qemuText])).toEqual([
      ['unknown-subsection', "VM subsection 'cpu/vfp/fpcr_fpsr' in 'cpu/vfp' does not exist"],
      ['unknown-subsection', "VM subsection 'cpu/wfxt-timer' in 'cpu' does not exist"],
      ['subsection-version', 'cpu/sve: incoming version_id 2 is too new for local version_id 1'],
    ]);
    expect(a.every((x) => x.fatal)).toBe(true);
  });

  it('applies QEMU’s prefix rule to machine types', () => {
    expect(compareMachineType('virt-7.2', 'virt-7.2')).toBeNull();
    expect(compareMachineType('virt', 'virt-7.2')).toBeNull();
    const a = compareMachineType('virt-10.0', 'virt-7.2');
    expect(a).toMatchObject({ kind: 'machine-type', fatal: true, qemuText: "Machine type received is 'virt-10.0' and local is 'virt-7.2'" });
    expect(compareMachineType('virt-7.2', 'virt')).not.toBeNull();
  });
});

describe('scale', () => {
  it('matches 1,000,000 registers in one pass', () => {
    const N = 1_000_000;
    const ids = new Array<bigint>(N);
    const values = new Array<bigint>(N);
    for (let k = 0; k < N; k++) {
      ids[k] = 0x6030000000130000n + BigInt(k * 2);
      values[k] = BigInt(k);
    }
    const d: DestinationCpu = { instance: 0, ids, values };
    // The stream lacks every 1000th register and carries one unknown id in the middle.
    const sIds: bigint[] = [];
    const sValues: bigint[] = [];
    for (let k = 0; k < N; k++) {
      if (k % 1000 === 999) continue;
      sIds.push(ids[k]!);
      sValues.push(values[k]!);
      if (k === N / 2) {
        sIds.push(ids[k]! + 1n);
        sValues.push(0n);
      }
    }
    const v = matchCpu({ instance: 0, ids: sIds, values: sValues }, d, { loader: 'qemu-11.1', accel: 'kvm' });
    expect(v.stats.matched).toBe(N - 1000);
    expect(v.stats.byKind).toMatchObject({ missing: 1000, unexpected: 1 });
  });
});
