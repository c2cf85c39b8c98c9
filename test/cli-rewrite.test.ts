import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmstate } from './helpers/cli.js';
import { SAMPLES_DIR } from './helpers/samples.js';
import { decodeStream } from '../src/stream/decode.js';

const sample = (p: string) => join(SAMPLES_DIR, p);
const dir = mkdtempSync(join(tmpdir(), 'vmstate-rw-'));
const A57_10 = sample('qemu-10.0/virt-7.2_cortex-a57.mig');
const A57_72 = sample('qemu-7.2/virt-7.2_cortex-a57.mig');

describe('rewrite', () => {
  it('--dry-run reports the plan and writes nothing', () => {
    const out = join(dir, 'dry.mig');
    const r = vmstate(['rewrite', A57_10, '-o', out, '--dest', A57_72, '--strip-unknown', '--adopt-dest-values', 'id-regs', '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.written).toBe(false);
    expect(rep.cpus.map((c: { countBefore: number; countAfter: number }) => [c.countBefore, c.countAfter])).toEqual([[275, 257], [275, 257]]);
    expect(rep.cpus[0].changed.map((c: { name: string }) => c.name)).toEqual(['ID_DFR0', 'ID_DFR0_EL1']);
    expect(rep.check.verdict).toBe('accept');
    expect(existsSync(out)).toBe(false);
  });

  it('says loudly when it changes an identification register', () => {
    const r = vmstate(['rewrite', A57_10, '-o', join(dir, 'loud.mig'), '--dest', A57_72, '--strip-unknown', '--adopt-dest-values', 'id-regs']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('did CHANGE ID_DFR0 0x40200000200f0082: 0x0000000003000006 → 0x0000000003010006');
    expect(r.stdout).toContain('fields: MMapTrc 0x0 → 0x1');
  });

  it('pipe to pipe gives the same bytes as file to file, and the output decodes to exactly the edit', async () => {
    const file = join(dir, 'strip.mig');
    expect(vmstate(['rewrite', A57_72, '-o', file, '--strip', 'TPIDR_EL0']).code).toBe(0);
    const pipe = vmstate(['rewrite', '-', '-o', '-', '--strip', 'TPIDR_EL0'], readFileSync(A57_72));
    expect(pipe.code, pipe.stderr).toBe(0);
    expect(pipe.out.equals(readFileSync(file))).toBe(true);
    const [before, after] = [await decodeStream(A57_72), await decodeStream(file)];
    const tpidr = 0x603000000013de82n;
    for (const [k, c] of after.cpus.entries()) {
      const keep = before.cpus[k]!.ids.map((id, i) => [id, before.cpus[k]!.values[i]]).filter(([id]) => id !== tpidr);
      expect(c.ids.map((id, i) => [id, c.values[i]])).toEqual(keep);
    }
    expect(after.warnings).toEqual([]);
  });

  it('refuses a result the destination would still reject, leaving no file', () => {
    const out = join(dir, 'still-bad.mig');
    const r = vmstate(['rewrite', A57_10, '-o', out, '--dest', A57_72, '--strip-unknown']);
    expect(r.code).toBe(1);
    // What was planned, then the findings that block it as `check` shows them (fatal ones only), then why and what to do.
    expect(r.stdout).toMatch(/^cpu 0: 275 → 257 registers\n {2}would remove OSDTRRX_EL1 /);
    const blocking = r.stdout.slice(r.stdout.indexOf('the destination would still reject the result:'));
    expect(blocking.split('\n').slice(0, 6).join('\n')).toBe(
      [
        'the destination would still reject the result:',
        `  REJECT: ${out} → ${A57_72} (loader legacy, tcg)`,
        '  cpu 0: reject, 2 fatal finding(s)',
        '           kind            id                  name         detail',
        '    fatal  value-mismatch  0x40200000200f0082  ID_DFR0      constant register: incoming 0x0000000003000006, destination 0x0000000003010006',
        '    fatal  value-mismatch  0x603000000013c00a  ID_DFR0_EL1  constant register: incoming 0x0000000003000006, destination 0x0000000003010006',
      ].join('\n'),
    );
    expect(blocking).not.toMatch(/^ +(missing|ignored-tail)/m);
    expect(r.stderr).toBe(
      `vmstate: refusing to write ${out}: the destination (loader legacy) would reject the rewritten stream (4 fatal finding(s)); nothing written (--force writes it anyway, and the destination will refuse it)\n`,
    );
    expect(existsSync(out)).toBe(false);
    // --quiet keeps the blocking findings; --json carries them in the report (written: false).
    const quiet = vmstate(['rewrite', A57_10, '-o', out, '--dest', A57_72, '--strip-unknown', '--quiet']);
    expect([quiet.code, quiet.stdout.split('\n')[0]]).toEqual([1, `REJECT: ${out} → ${A57_72} (loader legacy, tcg)`]);
    expect(quiet.stdout).toContain('fatal  value-mismatch  0x603000000013c00a  ID_DFR0_EL1');
    const json = vmstate(['rewrite', A57_10, '-o', out, '--dest', A57_72, '--strip-unknown', '--json']);
    const rep = JSON.parse(json.stdout);
    expect([json.code, rep.written, rep.check.verdict, rep.cpus[0].countAfter]).toEqual([1, false, 'reject', 257]);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const forced = vmstate(['rewrite', A57_10, '-o', out, '--dest', A57_72, '--strip-unknown', '--force']);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("REJECT");
    expect(existsSync(out)).toBe(true);
  });

  it('usage: destination options need --dest; -o is required', () => {
    expect(vmstate(['rewrite', A57_10, '-o', join(dir, 'x.mig'), '--strip-unknown']).code).toBe(2);
    expect(vmstate(['rewrite', A57_10]).code).toBe(2);
    expect(vmstate(['rewrite', A57_10, '-o', join(dir, 'y.mig'), '--strip', 'NO_SUCH_REG']).code).toBe(2);
  });
});
