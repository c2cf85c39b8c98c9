/**
 * The device comparison: every section of a stream against the destination's — present, at a
 * version it loads, laid out as it reads it, every subsection (nested ones included) known — with
 * QEMU's lines per loader family. The texts are the ones real QEMU printed
 * (samples/truth/device-probes.json, devices-table.json), the descriptions QEMU's own
 * (-dump-vmstate, src/destination/known-devices.generated.ts).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import {
  compareDevice,
  deviceSections,
  onlyOnDestination,
  subsectionPlace,
  type DeviceSection,
  type SubsectionRef,
} from '../../src/match/index.js';
import { knownCpuSubsections, knownVmsds, KNOWN_DEVICES_SOURCE } from '../../src/destination/known-devices.js';
import { decodeStream } from '../../src/stream/decode.js';
import { SAMPLES_DIR } from '../helpers/samples.js';

const sub = (name: string, parent: string, fields: SubsectionRef['fields'] = [], version = 1): SubsectionRef => ({ name, version, parent, fields });
const section = (idstr: string, subsections: SubsectionRef[] | null, o: Partial<DeviceSection> = {}): DeviceSection => ({
  idstr, instance: 0, sectionId: 9, version: 1, offset: 0, vmsd: idstr, subsections, layout: null, ...o,
});
const gicv3 = (...nmi: boolean[]): DeviceSection =>
  section('arm_gicv3', [
    ...nmi.flatMap((n, i) => [
      sub('arm_gicv3_cpu/sre_el1', 'arm_gicv3_cpu', [{ vmsd: 'arm_gicv3', field: 'cpu', index: i }]),
      ...(n ? [sub('arm_gicv3_cpu/nmi', 'arm_gicv3_cpu', [{ vmsd: 'arm_gicv3', field: 'cpu', index: i }])] : []),
    ]),
    sub('arm_gicv3/gicd_no_migration_shift_bug', 'arm_gicv3'),
    ...(nmi.some(Boolean) ? [sub('arm_gicv3/gicd_nmi', 'arm_gicv3')] : []),
  ]);
const opts = (generation: '7.2' | '10.x' | '11.1', style: 'report' | 'chain' = 'report') => ({ known: knownVmsds(generation), style, crashing: [] });

describe('what each QEMU generation knows (read from the QEMU builds)', () => {
  it('names the builds', () => {
    expect(KNOWN_DEVICES_SOURCE['7.2']).toMatch(/^QEMU emulator version 7\.2\./);
    expect(KNOWN_DEVICES_SOURCE['10.x']).toMatch(/^QEMU emulator version 10\.0\./);
    expect(KNOWN_DEVICES_SOURCE['11.1']).toMatch(/^QEMU emulator version 11\.1\./);
  });

  it('GICv3: the NMI subsections are 10.0’s and 11.1’s, not 7.2’s', () => {
    for (const g of ['7.2', '10.x', '11.1'] as const) {
      const k = knownVmsds(g)!;
      expect(k('arm_gicv3_cpu')!.subsections.includes('arm_gicv3_cpu/nmi'), g).toBe(g !== '7.2');
      expect(k('arm_gicv3')!.subsections.includes('arm_gicv3/gicd_nmi'), g).toBe(g !== '7.2');
      expect(k('arm_gicv3_cpu')!.subsections).toContain('arm_gicv3_cpu/sre_el1');
      expect(k('pl011')).toEqual({ version: 2, minimum: 2, subsections: ['pl011/clock'] });
    }
    expect(knownVmsds(null)).toBeNull();
    expect(knownVmsds('7.2')!('no-such-device')).toBeUndefined();
  });

  it('cpu: wfxt-timer from 10.0, fpmr only in 11.1, nested ones under their parents', () => {
    const names = (g: '7.2' | '10.x' | '11.1') => knownCpuSubsections(g).map((s) => s.name);
    expect(names('7.2')).not.toContain('cpu/wfxt-timer');
    expect(names('10.x')).toContain('cpu/wfxt-timer');
    expect(names('10.x')).toContain('cpu/vfp/fpcr_fpsr');
    expect(names('10.x')).not.toContain('cpu/fpmr');
    expect(names('11.1')).toContain('cpu/fpmr');
    // struct descriptions named cpu/… are not subsections
    expect(names('11.1')).not.toContain('cpu/sve/zreg_hi');
    expect(knownCpuSubsections('10.x').find((s) => s.name === 'cpu/vfp')!.version).toBe(3);
  });
});

describe('compareDevice', () => {
  it('a nested subsection 7.2 does not know: QEMU stops at the first, names the struct field (report) or the subsection (chain)', () => {
    const inc = gicv3(true, true);
    const r = compareDevice(inc, gicv3(false, false), opts('7.2'));
    expect(r.section).toEqual([]);
    // the device-level gicd_nmi is not reached, nor cpu[1]'s
    expect(r.subsections.map((a) => [a.kind, a.name, a.subsection!.place, a.fatal])).toEqual([
      ['unknown-subsection', 'arm_gicv3_cpu/nmi', 'cpu[0]', true],
      ['unknown-subsection', 'arm_gicv3_cpu/nmi', 'cpu[1]', true],
      ['unknown-subsection', 'arm_gicv3/gicd_nmi', '', true],
    ]);
    expect(r.subsections[0]!.qemuText!.split('\n')).toEqual([
      'Failed to load arm_gicv3:cpu',
      "error while loading state for instance 0x0 of device 'arm_gicv3'",
      'load of migration failed: No such file or directory',
    ]);
    expect(r.subsections[0]!.subsection).toEqual({ name: 'arm_gicv3_cpu/nmi', version: 1, parent: 'arm_gicv3_cpu', place: 'cpu[0]' });
    expect(r.subsections[0]!.device).toEqual({ idstr: 'arm_gicv3', instance: 0 });
    const chain = compareDevice(inc, gicv3(false, false), opts('7.2', 'chain'));
    expect(chain.subsections[0]!.qemuText).toBe(
      "load of migration failed: Invalid argument: error while loading state for instance 0x0 of device 'arm_gicv3': VM subsection 'arm_gicv3_cpu/nmi' in 'arm_gicv3_cpu' does not exist",
    );
  });

  it('a subsection the destination knows but did not send is fine', () => {
    // 11.1 knows the NMI subsections; a destination without FEAT_NMI does not send them
    expect(compareDevice(gicv3(true, true), gicv3(false, false), opts('11.1'))).toEqual({ section: [], subsections: [] });
  });

  it('without the destination QEMU’s descriptions, its own stream decides', () => {
    const r = compareDevice(gicv3(true), gicv3(false), { known: null, style: 'report', crashing: [] });
    expect(r.subsections.map((a) => a.name)).toEqual(['arm_gicv3_cpu/nmi', 'arm_gicv3/gicd_nmi']);
    expect(r.subsections[0]!.message).toMatch(/judged from the destination's own stream/);
    // and with neither, nothing is judged
    const bare = section('arm_gicv3', null);
    expect(compareDevice(gicv3(true), bare, { known: null, style: 'report', crashing: [] }).subsections).toEqual([]);
  });

  it('an unknown section, with each family’s text', () => {
    const inc = section('slirp', null, { vmsd: null, version: 4 });
    const r = compareDevice(inc, undefined, opts('10.x'));
    expect(r.section.map((a) => [a.kind, a.fatal])).toEqual([['unknown-section', true]]);
    expect(r.section[0]!.qemuText!.split('\n')).toEqual([
      "Unknown savevm section or instance 'slirp' 0. Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices",
      'load of migration failed: Invalid argument',
    ]);
    expect(compareDevice(inc, undefined, opts('11.1', 'chain')).section[0]!.qemuText).toBe(
      "load of migration failed: Invalid argument: Unknown section or instance 'slirp' 0. Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices",
    );
  });

  it('section versions: above the destination’s (savevm) and below its minimum (vmstate)', () => {
    const dst = section('pl011', [], { version: 2 });
    const up = compareDevice(section('pl011', [], { version: 3 }), dst, opts('7.2'));
    expect(up.section[0]!.qemuText!.split('\n')).toEqual(["savevm: unsupported version 3 for 'pl011' v2", 'load of migration failed: Invalid argument']);
    expect(compareDevice(section('pl011', [], { version: 3 }), dst, opts('11.1', 'chain')).section[0]!.qemuText).toBe(
      "load of migration failed: Invalid argument: unsupported version 3 for 'pl011' v2",
    );
    const down = compareDevice(section('pl011', [], { version: 1 }), dst, opts('7.2'));
    expect(down.section[0]!.qemuText!.split('\n')).toEqual([
      'pl011: incoming version_id 1 is too old for local minimum version_id  2',
      "error while loading state for instance 0x0 of device 'pl011'",
      'load of migration failed: Invalid argument',
    ]);
  });

  it('a subsection version above the destination’s', () => {
    const inc = section('pl011', [sub('pl011/clock', 'pl011', [], 2)], { version: 2 });
    const r = compareDevice(inc, section('pl011', [sub('pl011/clock', 'pl011')], { version: 2 }), opts('10.x'));
    expect(r.subsections.map((a) => [a.kind, a.detail])).toEqual([['subsection-version', { version: 2, localVersion: 1 }]]);
    expect(r.subsections[0]!.qemuText!.split('\n')).toEqual([
      'pl011/clock: incoming version_id 2 is too new for local version_id 1',
      "error while loading state for instance 0x0 of device 'pl011'",
      'load of migration failed: Invalid argument',
    ]);
  });

  it('a subsection the destination knows but has nothing to load into: a crash', () => {
    const crashing = [{ name: 'cpu/wfxt-timer', why: 'no timer', qemuText: 'Assertion failed' }];
    const inc = section('cpu', [sub('cpu/vfp', 'cpu', [], 3), sub('cpu/wfxt-timer', 'cpu')], { version: 22 });
    const without = section('cpu', [sub('cpu/vfp', 'cpu', [], 3)], { version: 22 });
    const r = compareDevice(inc, without, { ...opts('10.x'), crashing });
    expect(r.subsections).toHaveLength(1);
    expect(r.subsections[0]).toMatchObject({ kind: 'unknown-subsection', fatal: true, name: 'cpu/wfxt-timer', qemuText: 'Assertion failed', detail: { outcome: 'crash' } });
    expect(compareDevice(inc, inc, { ...opts('10.x'), crashing }).subsections).toEqual([]);
  });

  it('another layout of the fields: QEMU misreads and misses the footer', () => {
    const shape = (n: number) => [
      { field: 'gicd_ctlr', elements: 1, size: 4 },
      { field: 'cpu', elements: n, size: null },
      { field: 'cpu.level', elements: 1, size: 4 },
    ];
    const r = compareDevice(section('arm_gicv3', [], { layout: shape(2) }), section('arm_gicv3', [], { layout: shape(1) }), opts('11.1', 'chain'));
    expect(r.section.map((a) => a.kind)).toEqual(['section-layout']);
    expect(r.section[0]!.message).toMatch(/field cpu has 2 element\(s\) in the stream, 1 on the destination/);
    expect(r.section[0]!.qemuText!.split('\n')).toEqual(['Missing section footer for arm_gicv3', 'load of migration failed: Invalid argument: Section footer error, section_id: 9']);
    // layouts that cannot be compared are not judged
    expect(compareDevice(section('arm_gicv3', [], { layout: shape(2) }), section('arm_gicv3', [], { layout: null }), opts('11.1')).section).toEqual([]);
  });

  it('sections only the destination has are reported, not fatal', () => {
    const a = onlyOnDestination([section('pl011', [])], [section('pl011', []), section('virtio-net', [])]);
    expect(a.map((x) => [x.kind, x.fatal, x.device])).toEqual([['section-only-on-destination', false, { idstr: 'virtio-net', instance: 0 }]]);
  });
});

describe('deviceSections', () => {
  it('reads every section of a real stream, subsections in QEMU’s order with their parents', async () => {
    const s = await decodeStream(join(SAMPLES_DIR, 'qemu-10.0/virt-7.2_max.mig'));
    const d = deviceSections(s.sections, s.vmdesc!.json.devices, s.cpus);
    expect(d.map((x) => x.idstr)).toEqual(s.sections.map((x) => x.name));
    const cpu = d.find((x) => x.idstr === 'cpu')!;
    expect(cpu.vmsd).toBe('cpu');
    expect(cpu.subsections!.map((x) => [x.name, x.parent])).toEqual(s.cpus[0]!.subsections.map((x) => [x.name, 'cpu']));
    expect(cpu.layout).toBeNull();
    const gic = d.find((x) => x.idstr === 'arm_gic' || x.idstr === 'arm_gicv3');
    if (gic?.idstr === 'arm_gicv3') {
      const nested = gic.subsections!.filter((x) => x.parent === 'arm_gicv3_cpu');
      expect(nested.map(subsectionPlace)).toEqual(nested.map((_, i) => `cpu[${i}]`));
    }
    for (const x of d) expect(x.sectionId).toBe(s.sections.find((y) => y.offset === x.offset)!.sectionId);
  });

  it('without a vmdesc, cpu sections still have their subsections, other sections none', async () => {
    const s = await decodeStream(join(SAMPLES_DIR, 'qemu-7.2/virt-7.2_cortex-a57.mig'));
    const d = deviceSections(s.sections, null, s.cpus);
    expect(d.find((x) => x.idstr === 'cpu')!.subsections!.map((x) => x.name)).toEqual(s.cpus[0]!.subsections.map((x) => x.name));
    expect(d.filter((x) => x.idstr !== 'cpu').every((x) => x.subsections === null && x.vmsd === null)).toBe(true);
  });
});
