/**
 * Rewrites judged by real QEMU 7.2 (`qemu-system-aarch64` from Debian bookworm; `.ci/run`
 * installs it): every rewritten stream must load, every hand-edited input must not.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { vmstate } from './helpers/cli.js';
import { SAMPLES_DIR } from './helpers/samples.js';
import { QEMU_MISSING, qemuLoad, requireQemu } from './helpers/qemu.js';
import { withExtra } from './helpers/edit.js';

const sample = (p: string) => join(SAMPLES_DIR, p);
const dir = mkdtempSync(join(tmpdir(), 'vmstate-e2e-'));
const GOLDEN = join(import.meta.dirname, 'golden', 'rewrite');
const BMAP2 = 0x6030000000160003n;
const PIR3: [bigint, bigint][] = [[0x603000000013c103n, 0n], [0x603000000013c512n, 0n], [0x603000000013c513n, 0n]];


function rewrite(input: string, name: string, args: string[]): string {
  const out = join(dir, name);
  const r = vmstate(['rewrite', input, '-o', out, ...args]);
  expect(r.code, r.stderr + r.stdout).toBe(0);
  return out;
}

it('runs against a real QEMU 7.2', () => {
  expect(requireQemu()).toMatch(/QEMU emulator version 7\.2/);
});

it('without QEMU, says what to install instead of failing obscurely', () => {
  expect(() => requireQemu({ ...process.env, PATH: '/nonexistent' })).toThrow(QEMU_MISSING);
});

describe('hand-edited QEMU 7.2 streams with registers the destination lacks', () => {
  const MAX = sample('qemu-7.2/virt-7.2_max.mig');
  let bmap: string, pir: string, both: string;
  beforeAll(async () => {
    bmap = await withExtra(MAX, dir, 'bmap2.mig', [[BMAP2, 0n]]);
    pir = await withExtra(MAX, dir, 'pir.mig', PIR3);
    both = await withExtra(sample('qemu-7.2/virt-7.2_cortex-a57.mig'), dir, 'both.mig', [...PIR3, [BMAP2, 0n]]);
  });

  it('are rejected by QEMU 7.2 as they are, and check says so', () => {
    for (const [f, cpu] of [[bmap, 'max'], [pir, 'max'], [both, 'cortex-a57']] as const) {
      expect(qemuLoad(f, cpu).result).toBe('reject');
      expect(vmstate(['check', f, '--dest', sample(`qemu-7.2/virt-7.2_${cpu}.mig`)]).code).toBe(1);
    }
  });

  const ways: [string, string[]][] = [
    ['--preset kernel-compat-10.1', ['--preset', 'kernel-compat-10.1']],
    ['the equivalent --compat properties', ['--compat', 'x-mig-hidden-regs=0x6030000000160003', '--compat', 'x-mig-safe-missing-regs=0x603000000013c103, 0x603000000013c512, 0x603000000013c513']],
    ['--strip by name', ['--strip', 'VENDOR_HYP_BMAP_2,TCR2_EL1', '--strip', 'PIRE0_EL1,PIR_EL1']],
  ];
  for (const [how, args] of ways) {
    it(`load into QEMU 7.2 after a rewrite with ${how}`, () => {
      for (const [f, cpu] of [[bmap, 'max'], [pir, 'max'], [both, 'cortex-a57']] as const) {
        const out = rewrite(f, `${how.replace(/\W+/g, '_')}-${cpu}-${f.split('/').pop()}`, args);
        const load = qemuLoad(out, cpu);
        expect(load.result, load.output).toBe('accept');
        // Exactly the original stream again: the rewrite removed only what it says.
        const orig = readFileSync(sample(`qemu-7.2/virt-7.2_${cpu}.mig`));
        expect(readFileSync(out).equals(orig)).toBe(true);
      }
    });
  }

  it('refuses VENDOR_HYP_BMAP_2 with a non-zero value under qemu-11.1-host: exit 1, no output file', async () => {
    const bad = await withExtra(MAX, dir, 'bmap2-1.mig', [[BMAP2, 1n]]);
    const out = join(dir, 'refused.mig');
    const r = vmstate(['rewrite', bad, '-o', out, '--preset', 'qemu-11.1-host']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refusing to rewrite: cpu 0: VENDOR_HYP_BMAP_2 only-src-test-value/);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('refused'))).toEqual([]);
    // Value 0 passes the test and is stripped.
    const ok = rewrite(bmap, 'bmap2-0-host.mig', ['--preset', 'qemu-11.1-host']);
    expect(readFileSync(ok).equals(readFileSync(MAX))).toBe(true);
  });
});

describe('real backward migration: QEMU 10.0 (-M virt-7.2) streams into QEMU 7.2', () => {
  for (const cpu of ['cortex-a57', 'cortex-a15', 'max']) {
    it(cpu, () => {
      const src = sample(`qemu-10.0/virt-7.2_${cpu}.mig`);
      const dst = sample(`qemu-7.2/virt-7.2_${cpu}.mig`);
      expect(qemuLoad(src, cpu).result).toBe('reject');
      const args = ['--dest', dst, '--strip-unknown', '--adopt-dest-values', 'id-regs', ...(cpu === 'max' ? ['--strip-unknown-subsections'] : []), '--json'];
      const out = join(dir, `back-${cpu}.mig`);
      const r = vmstate(['rewrite', src, '-o', out, ...args]);
      expect(r.code, r.stderr).toBe(0);
      const rep = JSON.parse(r.stdout);
      expect(rep.check.verdict).toBe('accept');
      if (cpu === 'max') expect(rep.cpus[0].droppedSubsections.map((s: { name: string }) => s.name)).toEqual(['cpu/wfxt-timer']);
      const load = qemuLoad(out, cpu);
      expect(load.result, load.output).toBe('accept');

      // QEMU's analyser parsed exactly these bytes (golden made by test/golden/make-golden.sh).
      const sha = createHash('sha256').update(readFileSync(out)).digest('hex');
      const golden = JSON.parse(readFileSync(join(GOLDEN, `back-${cpu}.json`), 'utf8'));
      expect(golden.sha256).toBe(sha);
      const state = golden.state as Record<string, Record<string, unknown>>;
      const cpus = Object.entries(state).filter(([k]) => k.startsWith('cpu ('));
      expect(cpus.length).toBe(2);
      for (const [, v] of cpus) {
        expect((v.cpreg_vmstate_indexes as string[]).length).toBe(rep.cpus[0].countAfter);
        expect((v.cpreg_vmstate_values as string[]).length).toBe(rep.cpus[0].countAfter);
      }
      const dump = vmstate(['dump', out]);
      expect(JSON.parse(dump.stdout)).toEqual(golden.state);
      // And live, where the analyser is installed.
      const analyser = process.env.ANALYZER;
      if (analyser && existsSync(analyser)) {
        const a = spawnSync('python3', [analyser, '-d', 'state', '-f', out], { encoding: 'utf8', maxBuffer: 1 << 28 });
        expect(a.status, a.stderr).toBe(0);
        expect(JSON.parse(a.stdout)).toEqual(golden.state);
      }
    });
  }
});
