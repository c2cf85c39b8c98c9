/**
 * The next step `vmstate check` prints after a REJECT: on every pair of the TCG samples (same
 * guest, saved by two QEMU versions) and on every refused load of the real KVM table, the
 * command it prints, run as printed, writes a stream that the rewrite's own re-check gives the
 * verdict check predicted; where it prints no command, it says why. Plus its text and JSON forms,
 * and the hint after a refused rewrite.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmstate } from './helpers/cli.js';
import { SAMPLES_DIR } from './helpers/samples.js';
import { trySuggestions, type Pair, type Tried } from './helpers/suggestions.js';
import { shellLine } from '../src/report/check.js';

const LOADER: Record<string, string> = { '7.2': 'qemu-7.2', '10.0': 'qemu-10.0', '11.1': 'qemu-11.1' };
let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmstate-suggest-'));
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Every suggestion: a command whose output re-checks as predicted, or a reason. */
function expectKept(tried: Tried[]): void {
  for (const t of tried) {
    if (t.verdict === 'accept') {
      expect([t.pair.id, t.checkCode, t.suggestion]).toEqual([t.pair.id, 0, null]);
      continue;
    }
    expect([t.pair.id, t.checkCode, t.verdict]).toEqual([t.pair.id, 1, 'reject']);
    const sg = t.suggestion;
    expect(sg, t.pair.id).not.toBeNull();
    if (!sg!.argv) {
      expect(sg!.reason, t.pair.id).toMatch(/^no rewrite /);
      expect(sg!.predictedVerdict).toBeNull();
      continue;
    }
    expect(sg!.argv.slice(0, 3)).toEqual(['vmstate', 'rewrite', t.pair.src]);
    expect(sg!.predictedVerdict, t.pair.id).toBe('accept');
    expect(t.rewrite!.code, `${t.pair.id}: ${t.rewrite!.stderr}`).toBe(0);
    expect(t.rewrite!.report!.written).toBe(true);
    expect(t.rewrite!.report!.check!.verdict, t.pair.id).toBe(sg!.predictedVerdict);
    expect(existsSync(t.rewrite!.output)).toBe(true);
    rmSync(t.rewrite!.output);
  }
}

describe('TCG samples: every ordered pair of one guest saved by two QEMU versions', () => {
  it('the next step, run as printed, gives the verdict check predicted', () => {
    const pairs: Pair[] = [];
    const guests = ['virt-7.2_cortex-a57', 'virt-7.2_cortex-a15', 'virt-7.2_max'];
    for (const g of guests) {
      for (const a of ['7.2', '10.0', '11.1']) {
        for (const b of ['7.2', '10.0', '11.1']) {
          if (a === b) continue;
          pairs.push({ id: `${g} ${a}→${b}`, src: join(SAMPLES_DIR, `qemu-${a}`, `${g}.mig`), dest: join(SAMPLES_DIR, `qemu-${b}`, `${g}.mig`), loader: LOADER[b]! });
        }
      }
    }
    // Machine types the destination does not run: no rewrite can help, and check says so.
    pairs.push({ id: 'virt-10.0 max → 7.2', src: join(SAMPLES_DIR, 'qemu-10.0', 'virt-10.0_max.mig'), dest: join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_max.mig'), loader: 'qemu-7.2' });
    const tried = trySuggestions(pairs, dir);
    expectKept(tried);
    expect(tried.filter((t) => t.suggestion?.argv).length).toBeGreaterThan(10);
    const none = tried.find((t) => t.pair.id === 'virt-10.0 max → 7.2')!;
    expect(none.suggestion!.reason).toMatch(/^no rewrite can make it load: the stream was saved with machine type 'virt-10.0'; the destination runs 'virt-7.2'/);
    // 11.1's cortex-a57 saves no ID_AA64ISAR0_EL1: put back for 7.2 and 10.0, with their values.
    const a57 = tried.find((t) => t.pair.id === 'virt-7.2_cortex-a57 11.1→7.2')!;
    expect(a57.suggestion!.argv).toContain('--add-missing');
  }, 900_000);
});

describe('real KVM: every refused load of the KVM table', () => {
  it('the next step, run as printed, gives the verdict check predicted', () => {
    const table = JSON.parse(readFileSync(join(SAMPLES_DIR, 'truth', 'kvm-table.json'), 'utf8'));
    const plain = (p: string) => {
      const f = join(dir, p.replace(/[/]/g, '__').replace(/\.xz$/, ''));
      if (!existsSync(f)) writeFileSync(f, execFileSync('xz', ['-dc', join(SAMPLES_DIR, p)], { maxBuffer: 1 << 30 }));
      return f;
    };
    const seen = new Set<string>();
    const pairs: Pair[] = [];
    for (const r of table.rows) {
      if (r.phase === 'rewrites' || r.result === 'accept') continue;
      const key = `${r.source} ${r.destSample}`;
      if (seen.has(key)) continue;
      seen.add(key);
      pairs.push({ id: r.id, src: plain(r.source), dest: plain(r.destSample), loader: LOADER[r.dest.qemu]! });
    }
    expect(pairs.length).toBeGreaterThanOrEqual(60);
    const sub = join(dir, 'kvm');
    mkdirSync(sub);
    const tried = trySuggestions(pairs, sub);
    expectKept(tried);
    // KVM values the guest observes are taken only under the class that names them.
    for (const t of tried.filter((x) => x.rewrite)) {
      const adopted = (t.rewrite!.report as unknown as { adopted: { class: string }[] }).adopted.map((a) => a.class);
      const flag = t.suggestion!.argv![t.suggestion!.argv!.indexOf('--adopt-dest-values') + 1] ?? '';
      for (const c of adopted) expect(flag.split(','), t.pair.id).toContain(c);
    }
  }, 900_000);
});

describe('how the next step reads', () => {
  const A57_10 = join(SAMPLES_DIR, 'qemu-10.0', 'virt-7.2_cortex-a57.mig');
  const A57_72 = join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_cortex-a57.mig');

  it('check: the text ends with the command and what it means for the guest; --json carries it; ACCEPT has none', () => {
    const j = vmstate(['check', A57_10, '--dest', A57_72, '--json']);
    const sg = JSON.parse(j.stdout).suggestion;
    expect(sg.predictedVerdict).toBe('accept');
    // No --loader given: the command leaves it to the rewrite to infer, as the check did.
    expect(sg.argv).toEqual(['vmstate', 'rewrite', A57_10, '-o', A57_10.replace(/\.mig$/, '-rewritten.mig'), '--dest', A57_72, '--strip-unknown', '--adopt-dest-values', 'id-regs']);
    const t = vmstate(['check', A57_10, '--dest', A57_72]);
    expect(t.code).toBe(1);
    const lines = t.stdout.trimEnd().split('\n');
    const at = lines.findIndex((l) => l.startsWith('next step: '));
    expect(lines[at]).toBe(`next step: ${shellLine(sg.argv)}`);
    expect(lines[at + 1]).toMatch(/^ {2}predicted: ACCEPT \(the stream carries more registers than the destination takes; values the destination does not take \(id-regs\)\)$/);
    expect(lines.slice(at + 2)).toEqual(sg.effects.map((e: string) => `  for the guest: ${e}`));
    const ok = vmstate(['check', A57_72, '--dest', A57_72, '--json']);
    expect(JSON.parse(ok.stdout).suggestion).toBeNull();
    expect(vmstate(['check', A57_72, '--dest', A57_72]).stdout).not.toMatch(/next step/);
  });

  it('a refused rewrite shows what blocks it, then the next step', () => {
    const out = join(dir, 'refused.mig');
    const r = vmstate(['rewrite', A57_10, '-o', out, '--dest', A57_72, '--strip-unknown', '--quiet']);
    expect(r.code).toBe(1);
    expect(existsSync(out)).toBe(false);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^REJECT: /);
    expect(r.stdout).toMatch(/fatal {2}value-mismatch .* ID_DFR0_EL1/);
    expect(lines.find((l) => l.startsWith('next step: '))).toBe(`next step: vmstate rewrite ${A57_10} -o ${A57_10.replace(/\.mig$/, '-rewritten.mig')} --dest ${A57_72} --strip-unknown --adopt-dest-values id-regs`);
    const j = vmstate(['rewrite', A57_10, '-o', out, '--dest', A57_72, '--strip-unknown', '--json']);
    expect(j.code).toBe(1);
    expect(JSON.parse(j.stdout).suggestion.argv).toContain('id-regs');
  });

  it('standard input: the command reads it again, and writes a file', () => {
    const r = vmstate(['check', '-', '--dest', A57_72, '--json'], readFileSync(A57_10));
    const sg = JSON.parse(r.stdout).suggestion;
    expect(sg.argv.slice(0, 5)).toEqual(['vmstate', 'rewrite', '-', '-o', 'rewritten.mig']);
  });
});
