/**
 * Rewrites of the streams of guests that ran, with devices (samples/devices/, unpacked from its
 * archives into a scratch directory): subsections of any device removed byte-exactly with the
 * vmdesc patched as QEMU writes it (its analyser reads the result as `vmstate dump` does), the
 * destination's constants put in, what each edit means for the guest, and real QEMU 7.2 loading
 * what the tool writes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeStream } from '../src/stream/decode.js';
import { rewriteFile } from '../src/rewrite/rewrite-file.js';
import type { VmdescBody, VmdescDevice } from '../src/stream/vmdesc.js';
import { vmstate } from './helpers/cli.js';
import { SAMPLES_DIR } from './helpers/samples.js';
import { requireQemu } from './helpers/qemu.js';
import { trySuggestions, type Pair } from './helpers/suggestions.js';

const DEVICES = join(SAMPLES_DIR, 'devices');
const readJson = (p: string) => JSON.parse(readFileSync(p, 'utf8'));
const manifest: { file: string; kind: string; archive: string; config: string; qemu: string }[] = readJson(join(DEVICES, 'manifest.json')).samples;
const streams = manifest.filter((s) => s.kind === 'stream');
const GOLDEN = readJson(join(import.meta.dirname, 'golden', 'device-strip.json'));

let root = '';
let out = '';
const at = (name: string) => join(root, name);
const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'vmstate-devrw-'));
  out = join(root, 'out');
  execFileSync('mkdir', ['-p', out]);
  for (const a of new Set(manifest.map((s) => s.archive))) execFileSync('tar', ['-xJf', join(DEVICES, `${a}.tar.xz`), '-C', root]);
});
afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** Bytes one element of a body takes as its description lays it out (struct records by their size). */
function described(b: VmdescBody | VmdescDevice): number {
  let n = 0;
  for (const f of b.fields) n += (f.array_len ?? 1) * (f.type === 'capability' ? 0 : f.size);
  for (const s of b.subsections ?? []) n += 6 + s.vmsd_name.length + described(s);
  return n;
}

/** Every struct record's size is what its description lays out, as in the vmdescs QEMU writes. */
function sizesConsistent(b: VmdescBody | VmdescDevice): string[] {
  const bad: string[] = [];
  for (const f of b.fields) {
    if (f.type !== 'struct' || !f.struct) continue;
    if (f.size !== described(f.struct)) bad.push(`${f.name}: ${f.size} vs ${described(f.struct)}`);
    bad.push(...sizesConsistent(f.struct));
  }
  for (const s of b.subsections ?? []) bad.push(...sizesConsistent(s));
  return bad;
}

/** A state dump without the subsections named, at any depth. */
function stateWithout(v: unknown, names: Set<string>): unknown {
  if (Array.isArray(v)) return v.map((x) => stateWithout(x, names));
  if (v instanceof Map) return new Map([...v].filter(([k]) => !names.has(k)).map(([k, x]) => [k, stateWithout(x, names)]));
  return v;
}

/** Object keys without `index` (QEMU 7.2 writes it on every element of an array, 10.x not on the last). */
const noIndex = (v: unknown): unknown =>
  Array.isArray(v) ? v.map(noIndex) : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'index').map(([k, x]) => [k, noIndex(x)])) : v;

describe('every device subsection removed, byte for byte', () => {
  for (const s of streams) {
    it(`${s.file}: the bytes left are the input's, the vmdesc describes them, the state is the input's without them`, async () => {
      const path = at(s.file.slice('devices/'.length));
      const before = await decodeStream(path, { deviceSubsections: true, collectState: true });
      const dropped = before.deviceSubsections!.flatMap((d) => d.subsections.filter((x) => !d.subsections.some((o) => o !== x && x.offset > o.offset && x.offset < o.offset + o.size)));
      expect(dropped.length).toBeGreaterThan(0);
      const target = join(out, 'all.mig');
      await rewriteFile(path, target, { editDevice: (d) => ({ drop: d.subsections }) });
      // Everything before the vmdesc: the input with exactly those ranges cut out.
      const input = readFileSync(path);
      const output = readFileSync(target);
      const pieces: Buffer[] = [];
      let from = 0;
      for (const x of [...dropped].sort((a, b) => a.offset - b.offset)) {
        pieces.push(input.subarray(from, x.offset));
        from = x.offset + x.size;
      }
      pieces.push(input.subarray(from, before.vmdesc!.offset));
      const kept = Buffer.concat(pieces);
      expect(output.subarray(0, kept.length).equals(kept)).toBe(true);
      const after = await decodeStream(target, { deviceSubsections: true, collectState: true });
      expect(after.vmdesc!.offset).toBe(kept.length);
      expect(after.deviceSubsections!.every((d) => d.subsections.length === 0)).toBe(true);
      for (const d of after.vmdesc!.json.devices) if (d.name !== 'cpu') expect(sizesConsistent(d), d.name).toEqual([]);
      const names = new Set(before.deviceSubsections!.flatMap((d) => d.subsections.map((x) => x.name)));
      const strip = (st: typeof before) => st.devices.map((d) => (d.name === 'cpu' ? d.state : stateWithout(d.state, names)));
      expect(after.devices.map((d) => d.state)).toEqual(strip(before));
      rmSync(target);
    });
  }
});

describe('GICv3 NMI subsections (sent by 10.0 and 11.1, unknown to 7.2)', () => {
  for (const q of ['10.0', '11.1']) {
    it(`qemu-${q} max-gicv3-its: removed by name; the arm_gicv3 entry is 7.2's; QEMU's analyser reads it as vmstate dump does`, async () => {
      const src = at(`qemu-${q}/virt-7.2_max-gicv3-its.mig`);
      const target = join(out, `nmi-${q}.mig`);
      const r = vmstate(['rewrite', src, '-o', target, '--strip-subsection', 'arm_gicv3_cpu/nmi', '--strip-subsection', 'arm_gicv3/gicd_nmi', '--json']);
      expect(r.code, r.stderr).toBe(0);
      const rep = JSON.parse(r.stdout);
      expect(rep.devices).toEqual([
        {
          name: 'arm_gicv3',
          instance: 0,
          droppedSubsections: [
            expect.objectContaining({ name: 'arm_gicv3_cpu/nmi', within: 'cpu[0]', size: 27, content: '00000000', reason: '--strip-subsection', state: 'at its default (all zero)' }),
            expect.objectContaining({ name: 'arm_gicv3_cpu/nmi', within: 'cpu[1]', size: 27, content: '00000000' }),
            expect.objectContaining({ name: 'arm_gicv3/gicd_nmi', size: 152, content: '00'.repeat(128) }),
          ],
          refusedSubsections: [],
        },
      ]);
      expect(rep.unmatched).toEqual([]);
      // What QEMU 7.2 wrote for its own GICv3 (but for the array index QEMU 10 leaves off the last element).
      const gic = async (p: string) => JSON.parse(JSON.stringify((await decodeStream(p)).vmdesc!.json.devices.find((d) => d.name === 'arm_gicv3')));
      expect(noIndex(await gic(target))).toEqual(noIndex(await gic(at('qemu-7.2/virt-7.2_max-gicv3-its.mig'))));
      const g = GOLDEN[`nmi-${q}`];
      expect(sha(target)).toBe(g.sha256);
      const dump = vmstate(['dump', target]);
      expect(dump.code).toBe(0);
      expect(createHash('sha256').update(dump.stdout).digest('hex')).toBe(g.analyserStateSha256);
      const analyser = process.env.ANALYZER;
      if (analyser && existsSync(analyser)) {
        const a = spawnSync('python3', [analyser, '-d', 'state', '-f', target], { encoding: 'utf8', maxBuffer: 1 << 28 });
        expect(a.status, a.stderr).toBe(0);
        expect(a.stdout).toBe(dump.stdout);
      }
    });
  }
});

describe('--strip-subsection names', () => {
  const src = () => at('qemu-10.0/virt-7.2_max-gicv3-its.mig');

  it('one that no section has: exit 2, nothing written', () => {
    const target = join(out, 'none.mig');
    const r = vmstate(['rewrite', src(), '-o', target, '--strip-subsection', 'arm_gicv3_cpu/nmi', '--strip-subsection', 'arm_gicv3/no-such']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--strip-subsection arm_gicv3\/no-such: no section of the stream has this subsection; nothing written/);
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(out).filter((f) => f.startsWith('none'))).toEqual([]);
    const dry = vmstate(['rewrite', src(), '--dry-run', '--strip-subsection', 'cpu/no-such']);
    expect(dry.code).toBe(2);
  });

  it('one that is not a subsection name: exit 2 before anything is read', () => {
    const r = vmstate(['rewrite', join(root, 'missing.mig'), '-o', join(out, 'x.mig'), '--strip-subsection', 'nmi']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--strip-subsection: 'nmi' is not a subsection name/);
  });

  it('one whose state is not at its default: refused with the reason (exit 1), dropped with --force', () => {
    const target = join(out, 'shift.mig');
    const args = ['rewrite', src(), '-o', target, '--strip-subsection', 'arm_gicv3/gicd_no_migration_shift_bug'];
    const r = vmstate(args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/arm_gicv3 0: subsection arm_gicv3\/gicd_no_migration_shift_bug --strip-subsection: its state is not at its default \(gicd_no_migration_shift_bug is not zero\); the guest may need it \(--force drops it anyway\)/);
    expect(existsSync(target)).toBe(false);
    const f = vmstate([...args, '--force', '--json']);
    expect(f.code, f.stderr).toBe(0);
    expect(JSON.parse(f.stdout).devices[0].droppedSubsections[0]).toMatchObject({ name: 'arm_gicv3/gicd_no_migration_shift_bug', content: '01', reason: '--strip-subsection, dropped because of --force', state: 'gicd_no_migration_shift_bug is not zero' });
  });

  it('cpu/wfxt-timer, not armed, is at its default', () => {
    const r = vmstate(['rewrite', at('qemu-11.1/virt-7.2_a57-gicv2.mig'), '--dry-run', '--strip-subsection', 'cpu/wfxt-timer', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.cpus.map((c: { droppedSubsections: { content: string; state: string }[] }) => c.droppedSubsections.map((s) => [s.content, s.state]))).toEqual([
      [['ffffffffffffffff', 'at its default (zero, timers not armed)']],
      [['ffffffffffffffff', 'at its default (zero, timers not armed)']],
    ]);
  });
});

describe('--add-missing const', () => {
  it('7.2 max → 10.0: puts in RMR_EL1 = 1 (both views) and the other constants, with the destination\'s values, in sorted position', async () => {
    const r = vmstate(['rewrite', at('qemu-7.2/virt-7.2_max-gicv3-its.mig'), '--dry-run', '--dest', at('qemu-10.0/virt-7.2_max-gicv3-its.mig'), '--add-missing', 'const', '--json']);
    expect([0, 1]).toContain(r.code);
    const rep = JSON.parse(r.stdout);
    const c0 = rep.cpus[0];
    const rmr = c0.inserted.filter((x: { name: string }) => x.name === 'RMR_EL1');
    expect(rmr.map((x: { id: string; value: string }) => [x.id, x.value])).toEqual([
      ['0x40200000200f6002', '0x0000000000000001'],
      ['0x603000000013c602', '0x0000000000000001'],
    ]);
    expect(c0.countAfter).toBe(c0.countBefore + c0.inserted.length);
    // Not constants on 10.0: reported, not invented.
    expect(c0.missing.map((x: { name: string }) => x.name)).toContain('RVBAR_EL1');
    for (const x of c0.missing) expect(x.reason).toMatch(/not a constant on the destination|gives no value/);
  });

  it('10.0 max → 11.1: SCTLR2_EL1 and GCSPR_EL1 are missing and are not invented', () => {
    const r = vmstate(['rewrite', at('qemu-10.0/virt-7.2_max-gicv3-its.mig'), '--dry-run', '--dest', at('qemu-11.1/virt-7.2_max-gicv3-its.mig'), '--loader', 'qemu-11.1', '--add-missing', 'const', '--json']);
    const rep = JSON.parse(r.stdout);
    const missing = rep.cpus[0].missing.map((x: { name: string }) => x.name);
    expect(missing).toEqual(expect.arrayContaining(['SCTLR2_EL1', 'GCSPR_EL1']));
    expect(rep.cpus[0].inserted.map((x: { name: string }) => x.name)).not.toContain('SCTLR2_EL1');
  });

  it('needs --dest; an unknown kind is a usage error', () => {
    expect(vmstate(['rewrite', at('qemu-7.2/virt-7.2_max-gicv3-its.mig'), '--dry-run', '--add-missing', 'const']).code).toBe(2);
    const r = vmstate(['rewrite', at('qemu-7.2/virt-7.2_max-gicv3-its.mig'), '--dry-run', '--dest', at('qemu-10.0/virt-7.2_max-gicv3-its.mig'), '--add-missing', 'everything']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--add-missing: unknown kind 'everything' \(known: const\)/);
  });
});

/** Loads a stream into the host QEMU 7.2 as the table's destination for `config`. */
function load72(file: string, config: string): { code: number | null; output: string } {
  const c = readJson(join(DEVICES, 'configs.json')).configs.find((x: { id: string }) => x.id === config);
  const table = readJson(join(SAMPLES_DIR, 'truth', 'devices-table.json'));
  const row = table.rows.find((r: { config: string; dest: { qemu: string; machineType: string } }) => r.config === config && r.dest.qemu === '7.2' && r.dest.machineType === 'virt-7.2');
  const d = row.dest;
  const r = spawnSync('python3', [join(SAMPLES_DIR, 'qmp-save.py'), 'load', '-M', d.machine, '-c', c.cpu, '-m', String(d.mem), '--smp', String(d.smp), '-i', file, '--timeout', '90', '--', ...d.args], { encoding: 'utf8' });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('what the tool writes, real QEMU 7.2 loads', () => {
  const cases: [string, string, string][] = [
    // GICv3 NMI subsections dropped, with the cpu edits
    ['qemu-10.0/virt-7.2_max-gicv3-its', 'max-gicv3-its', 'gicv3'],
    // ID_AA64ISAR0_EL1, which 11.1 does not save, put back with 7.2's value
    ['qemu-11.1/virt-7.2_a57-gicv2', 'a57-gicv2', 'a57'],
  ];
  for (const [name, config, tag] of cases) {
    it(`${name} (the next step check prints, run as printed)`, () => {
      requireQemu();
      const src = at(`${name}.mig`);
      const dest = at(`qemu-7.2/virt-7.2_${config}.mig`);
      expect(load72(src, config).code).toBe(1);
      const chk = vmstate(['check', src, '--dest', dest, '--loader', 'qemu-7.2', '--json']);
      expect(chk.code).toBe(1);
      const sg = JSON.parse(chk.stdout).suggestion;
      expect(sg.predictedVerdict).toBe('accept');
      const argv: string[] = sg.argv.slice(1);
      const target = join(out, `${tag}.mig`);
      argv[argv.indexOf('-o') + 1] = target;
      const r = vmstate([...argv, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const rep = JSON.parse(r.stdout);
      expect(rep.check.verdict).toBe('accept');
      if (tag === 'a57') expect(rep.cpus[0].inserted.map((x: { name: string }) => x.name)).toContain('ID_AA64ISAR0_EL1');
      if (tag === 'gicv3') expect(rep.devices[0].droppedSubsections.map((x: { name: string }) => x.name)).toEqual(['arm_gicv3_cpu/nmi', 'arm_gicv3_cpu/nmi', 'arm_gicv3/gicd_nmi']);
      const l = load72(target, config);
      expect(l.code, l.output).toBe(0);
      expect(l.output).toMatch(/^accept/);
    });
  }
});

describe('the next step check prints, on every failed load of the device table', () => {
  it('is a command whose output the rewrite itself re-checks with the verdict check predicted, or why none can load', () => {
    const LOADER: Record<string, string> = { '7.2': 'qemu-7.2', '10.0': 'qemu-10.0', '11.1': 'qemu-11.1' };
    const table = readJson(join(SAMPLES_DIR, 'truth', 'devices-table.json'));
    const pairs: Pair[] = table.rows
      .filter((r: { kind: string; result: string; destSample: string | null; dest: { incoming: string } }) => r.kind === 'load' && r.result !== 'accept' && r.destSample && r.dest.incoming === 'exec')
      .map((r: { id: string; source: string; destSample: string; dest: { qemu: string } }) => ({
        id: r.id,
        src: at(r.source.slice('devices/'.length)),
        dest: at(r.destSample.slice('devices/'.length)),
        loader: LOADER[r.dest.qemu]!,
      }));
    expect(pairs.length).toBeGreaterThan(60);
    const dir = join(root, 'suggested');
    execFileSync('mkdir', ['-p', dir]);
    const tried = trySuggestions(pairs, dir);
    for (const t of tried) {
      expect([t.pair.id, t.checkCode, t.verdict]).toEqual([t.pair.id, 1, 'reject']);
      expect(t.suggestion, t.pair.id).not.toBeNull();
      if (!t.suggestion!.argv) {
        expect(t.suggestion!.reason, t.pair.id).toMatch(/^no rewrite /);
        expect(t.suggestion!.predictedVerdict).toBeNull();
        continue;
      }
      expect(t.suggestion!.predictedVerdict, t.pair.id).toBe('accept');
      expect(t.rewrite!.code, `${t.pair.id}: ${t.rewrite!.stderr}`).toBe(0);
      expect(t.rewrite!.report!.written).toBe(true);
      expect(t.rewrite!.report!.check!.verdict, t.pair.id).toBe(t.suggestion!.predictedVerdict);
      expect(existsSync(t.rewrite!.output)).toBe(true);
      rmSync(t.rewrite!.output);
    }
    const printed = tried.filter((t) => t.suggestion?.argv).length;
    console.log(`device table: ${tried.length} failed loads, a rewrite suggested for ${printed}, none for ${tried.length - printed}`);
    expect(printed).toBeGreaterThan(0);
  }, 900_000);
});
