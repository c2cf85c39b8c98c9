/**
 * What each edit of a rewrite means for the guest, on real streams: a register removed at its
 * reset value loses nothing; one whose value shows the guest uses a feature the destination lacks
 * (a control register of that feature, an enabled hypercall service) is refused unless forced;
 * values the guest observes are taken from the destination only for the classes named, and the
 * report lists them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rewriteFile } from '../src/rewrite/rewrite-file.js';
import { vmstate } from './helpers/cli.js';
import { SAMPLES_DIR } from './helpers/samples.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmstate-guest-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const SCTLR2_EL1 = 0x603000000013c083n;
const VENDOR_HYP_BMAP_2 = 0x6030000000160003n;

/** A copy of `src` whose register `id` holds `value` in every vCPU (the rest byte for byte). */
async function withValue(src: string, name: string, id: bigint, value: bigint): Promise<string> {
  const out = join(dir, name);
  await rewriteFile(src, out, { editCpu: (c) => ({ ids: c.ids, values: c.values.map((v, i) => (c.ids[i] === id ? value : v)) }) });
  return out;
}

/** A KVM sample, uncompressed into the scratch directory. */
function kvm(combo: string, stream = 'virt-7.2_host_gic3'): string {
  const out = join(dir, `${combo}.mig`);
  if (!existsSync(out)) writeFileSync(out, execFileSync('xz', ['-dc', join(SAMPLES_DIR, 'kvm', 'l0-11.1', combo, `${stream}.mig.xz`)], { maxBuffer: 1 << 30 }));
  return out;
}

describe('removing a register', () => {
  const MAX_111 = join(SAMPLES_DIR, 'qemu-11.1', 'virt-7.2_max.mig');

  it('at its reset value: done, and said so', () => {
    const r = vmstate(['rewrite', MAX_111, '--dry-run', '--strip', 'SCTLR2_EL1', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const x = JSON.parse(r.stdout).cpus[0].removed[0];
    expect(x).toMatchObject({ name: 'SCTLR2_EL1', value: '0x0000000000000000', effect: 'reset-value' });
    expect(x.note).toMatch(/the guest does not use FEAT_SCTLR2/);
  });

  it('whose value shows the guest uses the feature: refused with the reason (exit 1, nothing written), removed with --force', async () => {
    const src = await withValue(MAX_111, 'sctlr2.mig', SCTLR2_EL1, 0x10n);
    const out = join(dir, 'sctlr2-out.mig');
    const r = vmstate(['rewrite', src, '-o', out, '--strip', 'SCTLR2_EL1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refusing to rewrite: cpu 0: SCTLR2_EL1 --strip: its value shows the guest uses FEAT_SCTLR2 \(extended system control\), which the destination lacks; that state would be lost \(--force removes it anyway\)/);
    expect(existsSync(out)).toBe(false);
    const f = vmstate(['rewrite', src, '-o', out, '--strip', 'SCTLR2_EL1', '--force', '--json']);
    expect(f.code, f.stderr).toBe(0);
    expect(JSON.parse(f.stdout).cpus[0].removed[0]).toMatchObject({ name: 'SCTLR2_EL1', value: '0x0000000000000010', effect: 'feature-in-use', reason: '--strip, removed because of --force' });
  });

  it('an enabled hypercall service the destination does not offer (KVM): refused; at 0 it goes', async () => {
    // kernel 7.2 → 6.12: VENDOR_HYP_BMAP_2 exists only on 7.2.
    const dest = kvm('k6.12_q11.1');
    const plain = vmstate(['rewrite', kvm('k7.2_q11.1'), '--dry-run', '--dest', dest, '--loader', 'qemu-11.1', '--strip-unknown', '--json']);
    const gone = JSON.parse(plain.stdout).cpus[0].removed.find((x: { name: string }) => x.name === 'VENDOR_HYP_BMAP_2');
    expect(gone).toMatchObject({ effect: 'reset-value', note: 'no hypercall service enabled' });
    const src = await withValue(kvm('k7.2_q11.1'), 'bmap2.mig', VENDOR_HYP_BMAP_2, 0x1n);
    const r = vmstate(['rewrite', src, '--dry-run', '--dest', dest, '--loader', 'qemu-11.1', '--strip-unknown']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/VENDOR_HYP_BMAP_2 not on the destination \(--strip-unknown\): hypercall services enabled for the guest \(bitmap bit 0\) that the destination does not offer/);
  });

  it('state the destination does not migrate: its value is dropped, and said so', () => {
    // kernel 6.12 → 6.1: 6.1 does not migrate the EL1 physical timer.
    const r = vmstate(['rewrite', kvm('k6.12_q7.2'), '--dry-run', '--dest', kvm('k6.1_q7.2'), '--loader', 'qemu-7.2', '--strip-unknown', '--json']);
    const rep = JSON.parse(r.stdout);
    const cnt = rep.cpus[0].removed.find((x: { name: string }) => x.name === 'PTIMER_CNT');
    expect(cnt.effect).toBe('value-dropped');
    expect(cnt.note).toBe('its value is dropped: the destination does not migrate this register');
    // KVM's reset pattern for a register the guest never wrote counts as its reset value.
    const pir = rep.cpus[0].removed.find((x: { name: string }) => x.name === 'PIR_EL1');
    expect([pir.value, pir.effect]).toEqual(['0x1de7ec7edbadc0de', 'reset-value']);
  });
});

describe('values the guest observes, taken by class', () => {
  const args = (adopt: string) => ['rewrite', kvm('k7.2_q7.2'), '--dry-run', '--dest', kvm('k6.1_q7.2'), '--loader', 'qemu-7.2', '--strip-unknown', '--adopt-dest-values', adopt, '--json'];
  const classesOf = (adopt: string) => {
    const rep = JSON.parse(vmstate(args(adopt)).stdout);
    return { changed: rep.cpus[0].changed as { name: string; class: string | null }[], adopted: rep.adopted as { class: string; registers: number; meaning: string }[] };
  };

  it('id-regs takes the ID registers only: the cache geometry and the PSCI version stay as the guest saw them', () => {
    const { changed, adopted } = classesOf('id-regs');
    expect(new Set(changed.map((c) => c.class))).toEqual(new Set(['id-regs']));
    expect(changed.map((c) => c.name)).not.toContain('PSCI_VERSION');
    expect(changed.some((c) => c.name.startsWith('CCSIDR'))).toBe(false);
    expect(adopted.map((a) => a.class)).toEqual(['id-regs']);
  });

  it('each class named takes its registers, and the report lists each class with what it changes', () => {
    const { changed, adopted } = classesOf('id-regs,cache-geometry,psci-version');
    expect(changed.filter((c) => c.class === 'cache-geometry').map((c) => c.name)).toEqual(['CCSIDR_CSSELR_0_L1D', 'CCSIDR_CSSELR_1_L1I', 'CCSIDR_CSSELR_2_L2D', 'CCSIDR_CSSELR_4_L3D']);
    expect(changed.filter((c) => c.class === 'psci-version').map((c) => c.name)).toEqual(['PSCI_VERSION']);
    expect(adopted).toEqual([
      expect.objectContaining({ class: 'id-regs' }),
      { class: 'cache-geometry', registers: 4, meaning: 'the cache sizes, line lengths and associativity the guest read (CCSIDR)' },
      { class: 'psci-version', registers: 1, meaning: 'the PSCI firmware interface version the guest probed' },
    ]);
    const text = vmstate(args('id-regs,cache-geometry,psci-version').filter((a) => a !== '--json'));
    expect(text.stdout).toMatch(/guest-visible values to take from the destination \(only the classes named by --adopt-dest-values\):\n {2}id-regs: \d+ registers; .*\n {2}cache-geometry: 4 registers; changes the cache sizes, line lengths and associativity the guest read \(CCSIDR\)\n {2}psci-version: 1 register; changes the PSCI firmware interface version the guest probed/);
  });

  it('a register named one by one is taken as named', () => {
    const { changed } = classesOf('PSCI_VERSION');
    expect(changed.map((c) => [c.name, c.class])).toEqual([['PSCI_VERSION', 'psci-version']]);
  });
});
