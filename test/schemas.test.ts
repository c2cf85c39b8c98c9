/**
 * Every `--json` output validates against its published schema (schemas/*.schema.json),
 * and schemas/policy.schema.json is exactly POLICY_SCHEMA.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import { vmstate } from './helpers/cli.js';
import { SAMPLES_DIR } from './helpers/samples.js';
import { libvirtImage } from './helpers/libvirt-image.js';
import { POLICY_SCHEMA } from '../src/policy/schema.js';

const SCHEMAS = join(import.meta.dirname, '..', 'schemas');
const S72 = join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_max.mig');
const S100 = join(SAMPLES_DIR, 'qemu-10.0', 'virt-7.2_max.mig');
const S111 = join(SAMPLES_DIR, 'qemu-11.1', 'virt-11.1_max.mig');
const A57 = join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_cortex-a57.mig');

type Validate = ((d: unknown) => boolean) & { errors?: unknown };
/** Schema versions above 1 (check/2: device sections, QEMU's lines, the verdict `depends`; inspect/2: how the stream was read). */
const VERSION: Record<string, number> = { check: 2, inspect: 2 };
const validators = new Map<string, Validate>();
let ajv: InstanceType<typeof Ajv2020>;
const dir = mkdtempSync(join(tmpdir(), 'vmstate-schemas-'));

beforeAll(() => {
  // strict: unknown keywords and the like in a schema are errors too (type unions, and `required` inside `oneOf` branches, are fine).
  ajv = new Ajv2020({ strict: true, strictRequired: false, allowUnionTypes: true, allErrors: true });
  for (const f of readdirSync(SCHEMAS).filter((x) => x.endsWith('.schema.json'))) ajv.addSchema(JSON.parse(readFileSync(join(SCHEMAS, f), 'utf8')));
  for (const f of readdirSync(SCHEMAS).filter((x) => x.endsWith('.schema.json'))) {
    const n = f.replace('.schema.json', '');
    validators.set(n, ajv.getSchema(`urn:vmstate:schema:${n}:${VERSION[n] ?? 1}`) as Validate);
  }
});

/** Runs the CLI and validates its standard output against `schema`. */
function valid(schema: string, args: string[], codes = [0]): unknown {
  const r = vmstate(args);
  expect(codes, `${args.join(' ')}: exit ${r.code}\n${r.stderr}`).toContain(r.code);
  const doc = JSON.parse(r.stdout);
  const v = validators.get(schema)!;
  expect(v, `schema ${schema}`).toBeTruthy();
  const ok = v(doc);
  expect(ok, `${args.join(' ')} vs ${schema}.schema.json: ${JSON.stringify(v.errors, null, 1)}`).toBe(true);
  return doc;
}

describe('schemas', () => {
  it('all compile in strict mode, each with a versioned $id and a draft 2020-12 $schema', () => {
    const names = readdirSync(SCHEMAS).filter((x) => x.endsWith('.schema.json')).map((f) => f.replace('.schema.json', '')).sort();
    expect(names).toEqual(['check', 'diff', 'dump', 'inspect', 'lookup', 'policy', 'profile', 'regs', 'rewrite', 'verify']);
    // inspect is at version 2: read tail-first, its RAM record counts may be null.
    for (const n of names) {
      const s = JSON.parse(readFileSync(join(SCHEMAS, `${n}.schema.json`), 'utf8'));
      expect(s.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(s.$id).toBe(`urn:vmstate:schema:${n}:${VERSION[n] ?? 1}`);
      if (s.properties?.schema?.const) expect(s.properties.schema.const).toBe(`vmstate/${n}/${VERSION[n] ?? 1}`);
      expect(typeof validators.get(n)).toBe('function');
    }
  });

  it('policy.schema.json is POLICY_SCHEMA (regenerate with npm run schemas)', () => {
    const file = JSON.parse(readFileSync(join(SCHEMAS, 'policy.schema.json'), 'utf8'));
    const { $id, ...rest } = file;
    expect($id).toBe('urn:vmstate:schema:policy:1');
    expect(rest).toEqual(JSON.parse(JSON.stringify(POLICY_SCHEMA)));
  });

  it('policy schema accepts a real policy and rejects a bad one', () => {
    const v = validators.get('policy')!;
    expect(v({ name: 'backward', rules: [{ kind: 'safe-missing', regs: ['TCR2_EL1', 'PIR_EL1'] }, { kind: 'require-value', reg: '0x6030000000160003', value: '0x0' }] })).toBe(true);
    expect(v({ rules: [{ kind: 'hidden', reg: 'TCR2_EL1', value: '0x1' }] })).toBe(false);
  });
});

describe('real outputs validate', () => {
  it('inspect (bare streams of every QEMU version, tail-first and with --ram, and a libvirt image)', () => {
    for (const s of [S72, S100, S111]) {
      valid('inspect', ['inspect', s, '--json']);
      valid('inspect', ['inspect', s, '--json', '--ram']);
    }
    const img = join(dir, 'guest.save');
    writeFileSync(img, libvirtImage(readFileSync(A57), { format: 'gzip' }));
    const d = valid('inspect', ['inspect', img, '--json']) as { container: { domain: { name: string } } };
    expect(d.container.domain.name).toBe('guest-one');
  });

  it('regs and regs --lookup', () => {
    valid('regs', ['regs', S111, '--json']);
    valid('regs', ['regs', A57, '--json', '--cpu', '1']);
    valid('lookup', ['regs', '--lookup', 'TCR2_EL1,0x6030000000160003,DBGDTRTX', '--json']);
  });

  it('diff', () => {
    valid('diff', ['diff', S100, S72, '--json']);
    valid('diff', ['diff', S72, S72, '--json']);
  });

  it('profile (with and without --json)', () => {
    const a = valid('profile', ['profile', S111]);
    const b = valid('profile', ['profile', S111, '--json']);
    expect(b).toEqual(a);
  });

  it('check: accept, reject, and several streams (with a failure)', () => {
    valid('check', ['check', S72, '--dest', S72, '--json']);
    valid('check', ['check', S111, '--dest', S72, '--json'], [1]);
    valid('check', ['check', S100, '--dest', S72, '--json', '--preset', 'qemu-11.1-host', '--loader', 'qemu-11.1'], [0, 1]);
    const bad = join(dir, 'bad.mig');
    writeFileSync(bad, 'not a stream');
    const arr = valid('check', ['check', S72, S111, bad, '--dest', S72, '--json'], [2]) as { verdict: string }[];
    expect(arr.map((r) => r.verdict)).toEqual(['accept', 'reject', 'error']);
  });

  it('rewrite: dry run with a destination, and a real rewrite', () => {
    valid('rewrite', ['rewrite', S100, '--dry-run', '--dest', S72, '--strip-unknown', '--adopt-dest-values', 'id-regs', '--strip-unknown-subsections', '--json'], [0, 1]);
    valid('rewrite', ['rewrite', S72, '-o', join(dir, 'out.mig'), '--strip', 'PAR', '--json']);
  });

  it('verify: intact, and a truncated stream (exit 2)', () => {
    valid('verify', ['verify', S111, '--json']);
    const cut = join(dir, 'cut.mig');
    writeFileSync(cut, readFileSync(S72).subarray(0, 300000));
    const d = valid('verify', ['verify', cut, '--json'], [2]) as { intact: boolean; failure: { code: string; offset: number } };
    expect(d).toMatchObject({ intact: false, failure: { code: 'TRUNCATED', offset: 300000 } });
  });

  it('dump: state and --desc (loose: analyser-shaped)', () => {
    valid('dump', ['dump', S72]);
    valid('dump', ['dump', S111, '--json']);
    valid('dump', ['dump', S72, '--desc']);
  });
});
