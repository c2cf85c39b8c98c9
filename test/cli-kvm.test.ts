/**
 * The command line on real KVM streams: what `check` prints about the destination it inferred,
 * `--loader`/`--accel`/`--kernel` overriding it, and `rewrite`'s re-check under the KVM model
 * (the rewrite the tool suggests into a 6.1 host is refused, as real KVM refused it).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { vmstate } from './helpers/cli.js';
import { SAMPLES_DIR } from './helpers/samples.js';

const dir = mkdtempSync(join(tmpdir(), 'vmstate-cli-kvm-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const stream = (host: string, name = 'virt-7.2_host_gic3'): string => {
  const out = join(dir, `${host}_${name}.mig`);
  if (!existsSync(out)) writeFileSync(out, execFileSync('xz', ['-dc', join(SAMPLES_DIR, 'kvm', 'l0-11.1', host, `${name}.mig.xz`)], { maxBuffer: 1 << 30 }));
  return out;
};

describe('check on KVM streams', () => {
  it('prints what it inferred about the destination, and from what', () => {
    const r = vmstate(['check', stream('k6.1_q11.1'), '--dest', stream('k6.12_q10.0')]);
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n');
    expect(lines[1]).toBe('destination (inferred):');
    expect(lines[2]).toBe("  loader qemu-10.0: the destination stream: its vmdesc has a configuration section and an 'int32 le' cpreg_vmstate_array_len (QEMU 10.0 … 10.2)");
    expect(lines[3]).toBe("  accelerator kvm: the destination's register list (stream)");
    expect(lines[4]).toMatch(/^ {2}kernel 6\.12: the destination lists all 14 CCSIDR selectors and offers PSCI_VERSION 1\.1: Linux 6\.3 … 6\.12; assumed 6\.12/);
    // Real KVM (kvm-table.json, k6.12_q10.0/k6.1_q11.1): the cpu/fpmr-free 6.1 stream, refused in the KVM writes.
    expect(r.stdout).toContain("QEMU would print:\n  error while loading state for instance 0x0 of device 'cpu'\n  Failed to put registers after init: Invalid argument");
  });

  it('--kernel overrides the inferred kernel: a 6.12 host refuses HCX 0, a 7.2 one the hidden registers', () => {
    const as = (kernel?: string) => JSON.parse(vmstate(['check', stream('k6.1_q11.1'), '--dest', stream('k7.2_q11.1'), '--json', ...(kernel ? ['--kernel', kernel] : [])]).stdout);
    const inferred = as();
    expect(inferred.facts.kernel).toMatchObject({ version: '7.2', from: 'list', exact: false });
    const refused = (j: { cpus: { anomalies: { kind: string; name: string }[] }[] }) => j.cpus[0]!.anomalies.filter((a) => a.kind === 'kvm-refused').map((a) => a.name);
    expect(refused(inferred)).toEqual(['SCTLR2_EL1', 'TCR2_EL1', 'PIRE0_EL1', 'PIR_EL1', 'FPMR']);
    const k612 = as('6.12.118+deb13-arm64');
    expect(k612.facts.kernel).toMatchObject({ version: '6.12', release: '6.12.118+deb13-arm64', from: 'option', exact: true });
    // 6.12's rules on this list: HCX, NV and SCTLRX are fixed there, so MMFR3 stays as the kernel's
    // (SCTLR2_EL1 stays visible) and TCR2/PIR are not gated; FPMR is still hidden.
    expect(refused(k612)).toEqual(['ID_AA64MMFR1_EL1', 'ID_AA64MMFR2_EL1', 'ID_AA64MMFR3_EL1', 'FPMR']);
  });

  it('--loader and --accel override the inferred ones', () => {
    const j = JSON.parse(vmstate(['check', stream('k6.1_q11.1'), '--dest', stream('k6.12_q11.1'), '--json', '--loader', 'qemu-10.0']).stdout);
    expect(j.facts.loader).toEqual({ name: 'qemu-10.0', from: '--loader', given: true });
    expect(j.qemuLines).toEqual(["error while loading state for instance 0x0 of device 'cpu'", 'Failed to put registers after init: Invalid argument']);
    const tcg = JSON.parse(vmstate(['check', stream('k6.1_q11.1'), '--dest', stream('k6.12_q11.1'), '--json', '--accel', 'tcg']).stdout);
    expect(tcg.facts.accel).toEqual({ value: 'tcg', from: '--accel', given: true });
    expect(tcg.facts.kernel).toBeNull();
  });

  it('check --json on a KVM refusal validates against its schema (kvm-refused findings, facts, qemuLines)', () => {
    const ajv = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true });
    const schemas = join(import.meta.dirname, '..', 'schemas');
    for (const f of readdirSync(schemas).filter((x) => x.endsWith('.schema.json'))) ajv.addSchema(JSON.parse(readFileSync(join(schemas, f), 'utf8')));
    const validate = ajv.getSchema('urn:vmstate:schema:check:2')!;
    const j = JSON.parse(vmstate(['check', stream('k7.2_q11.1'), '--dest', stream('k6.1_q11.1'), '--json']).stdout);
    expect(validate(j), JSON.stringify(validate.errors)).toBe(true);
    const a = j.cpus[0].anomalies.find((x: { kind: string; name: string }) => x.kind === 'kvm-refused' && x.name === 'PSCI_VERSION');
    expect(a).toMatchObject({ value: '0x0000000000010003', expected: '0x0000000000010001', detail: { errno: 'EINVAL', class: 'psci-version', valueFrom: 'stream' } });
    expect(a.qemuText).toBe('Could not set register fw reg 0 to 10003 (is 10001)');
  });

  it('a --kernel that names no version is refused before anything runs', () => {
    for (const cmd of [['check', stream('k6.1_q11.1'), '--dest', stream('k6.12_q11.1')], ['rewrite', stream('k6.1_q11.1'), '--dry-run']]) {
      const r = vmstate([...cmd, '--kernel', 'linux']);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("--kernel: 'linux' does not start with a kernel version");
      expect(r.stdout).toBe('');
    }
  });
});

describe('rewrite re-checks with the KVM model', () => {
  it('the rewrite the tool suggested into a 6.1 host is refused, naming the cache geometry KVM refuses', () => {
    // Real KVM refused this rewrite (kvm-table.json, rewrite/k6.1_q11.1/k6.12_q11.1): 4 CCSIDR values.
    const out = join(dir, 'refused.mig');
    const r = vmstate(['rewrite', stream('k6.12_q11.1'), '-o', out, '--dest', stream('k6.1_q11.1'), '--strip-unknown', '--adopt-dest-values', 'id-regs', '--strip-unknown-subsections']);
    expect(r.code).toBe(1);
    expect(existsSync(out)).toBe(false);
    expect(r.stdout).toMatch(/kvm-refused +0x6020000000110000 +CCSIDR_CSSELR_0_L1D +KVM_SET_ONE_REG EINVAL: CCSIDR values are the host cache geometry and invariant before Linux 6\.3/);
    // With the geometry adopted too (round 2 of the table), it is written, and real KVM loaded it.
    const ok = vmstate(['rewrite', stream('k6.12_q11.1'), '-o', out, '--dest', stream('k6.1_q11.1'), '--strip-unknown', '--adopt-dest-values', 'id-regs,CCSIDR_CSSELR_0_L1D,CCSIDR_CSSELR_1_L1I,CCSIDR_CSSELR_2_L2D,CCSIDR_CSSELR_4_L3D', '--strip-unknown-subsections', '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).check.facts).toMatchObject({ loader: { name: 'qemu-11.1', given: false }, kernel: { version: '6.1' } });
  });
});

describe('the next step on a forward load needs only the ID registers', () => {
  it('6.1 → 7.2: KVM refuses the registers the lower ID values hide; check names id-regs only, and real KVM loaded those bytes', () => {
    const table: { rows: { id: string; result: string; variantSha256?: string; variant: null | { rewriteOf: string; round?: number } }[] } = JSON.parse(
      readFileSync(join(SAMPLES_DIR, 'truth', 'kvm-table.json'), 'utf8'),
    );
    const j = JSON.parse(vmstate(['check', stream('k6.1_q7.2'), '--dest', stream('k7.2_q7.2'), '--json']).stdout);
    // Every fatal finding is a register the stream lacks, hidden by an ID field the stream's value clears.
    const fatal = j.cpus[0].anomalies.filter((a: { fatal: boolean }) => a.fatal);
    expect(fatal.map((a: { name: string }) => a.name)).toEqual(['SCTLR2_EL1', 'TCR2_EL1', 'PIRE0_EL1', 'PIR_EL1', 'FPMR']);
    expect(fatal.map((a: { detail: { hiddenBy: string } }) => a.detail.hiddenBy)).toEqual([
      'ID_AA64MMFR3_EL1.SCTLRX', 'ID_AA64MMFR3_EL1.TCRX', 'ID_AA64MMFR3_EL1.S1PIE', 'ID_AA64MMFR3_EL1.S1PIE', 'ID_AA64PFR2_EL1.FPMR',
    ]);
    // So the next step adopts the ID registers and nothing else the guest observes (the cache
    // geometry and PSCI version of these hosts differ too, and are left as the guest read them).
    const argv: string[] = j.suggestion.argv;
    expect(argv.slice(7)).toEqual(['--adopt-dest-values', 'id-regs']);
    const out = join(dir, 'forward.mig');
    const r = vmstate(['rewrite', stream('k6.1_q7.2'), '-o', out, '--dest', stream('k7.2_q7.2'), ...argv.slice(7), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).adopted.map((a: { class: string }) => a.class)).toEqual(['id-regs']);
    // The same bytes real KVM loaded (kvm-table.json, the next-step rows of k7.2_q7.2/k6.1_q7.2).
    const sha = createHash('sha256').update(readFileSync(out)).digest('hex');
    const loaded = table.rows.filter((x) => x.variant?.rewriteOf === 'k7.2_q7.2/k6.1_q7.2/virt-7.2_host_gic3' && x.variantSha256 === sha);
    expect(loaded.length).toBeGreaterThan(0);
    expect(loaded.every((x) => x.result === 'accept')).toBe(true);
  });
});
