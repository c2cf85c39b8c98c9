/**
 * The real KVM streams under samples/kvm/ (saved by QEMU under KVM on nested L1 hosts, see
 * samples/kvm/README in samples/README.md) and the real KVM load table samples/truth/kvm-table.json.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeStream, type DecodedStream } from '../src/stream/decode.js';
import { BufferSource } from '../src/wire/source.js';
import { MemorySink, StreamWriter } from '../src/wire/writer.js';
import { idRegisterFields, isIdRegister, regName } from '../src/regs/index.js';
import { SAMPLES_DIR } from './helpers/samples.js';
import { minimalCpregs } from './helpers/minimal-cpregs.js';

const KVM_DIR = join(SAMPLES_DIR, 'kvm');

interface SaveRecord {
  stream: string;
  machine: string;
  sha256: string;
  bytes: number;
  queryKvm: { enabled: boolean; present: boolean };
}
interface L1Record {
  uname: string;
  qemuVersion: string;
  saves: SaveRecord[];
}

/** Every combination directory samples/kvm/l0-<v>/k<kernel>_q<qemu>/ with its l1.json. */
function combos(): { name: string; dir: string; l1: L1Record }[] {
  const out: { name: string; dir: string; l1: L1Record }[] = [];
  for (const l0 of readdirSync(KVM_DIR).filter((d) => d.startsWith('l0-')).sort()) {
    for (const c of readdirSync(join(KVM_DIR, l0)).sort()) {
      const dir = join(KVM_DIR, l0, c);
      out.push({ name: `${l0}/${c}`, dir, l1: JSON.parse(readFileSync(join(dir, 'l1.json'), 'utf8')) });
    }
  }
  return out;
}

const plain = new Map<string, Buffer>();
function xzBytes(path: string): Buffer {
  let b = plain.get(path);
  if (!b) plain.set(path, (b = execFileSync('xz', ['-dc', path], { maxBuffer: 1 << 30 })));
  return b;
}

async function decode(data: Buffer, output?: StreamWriter): Promise<DecodedStream> {
  return decodeStream(new BufferSource(data), output ? { output } : {});
}

const all = combos();
const kernelOf = (uname: string) => uname.split('.').slice(0, 2).join('.').replace(/-.*/, '');

describe('real KVM samples', () => {
  it('covers kernels 6.1, 6.12 and 7.2 with QEMU 7.2, 10.0 and 11.1 (all nine combinations)', () => {
    const pairs = all.map((c) => `${kernelOf(c.l1.uname)}/${c.l1.qemuVersion.split(' ')[3].split('.').slice(0, 2).join('.')}`);
    expect(new Set(pairs)).toEqual(
      new Set(['6.1', '6.12', '7.2'].flatMap((k) => ['7.2', '10.0', '11.1'].map((q) => `${k}/${q}`))),
    );
  });

  for (const c of all) {
    describe(c.name, () => {
      for (const s of c.l1.saves) {
        describe(s.stream, () => {
          const path = join(c.dir, s.stream);
          it('is the stream QEMU wrote under KVM (SHA-256 of the uncompressed file as saved)', () => {
            const data = xzBytes(path);
            expect(data.length).toBe(s.bytes);
            expect(createHash('sha256').update(data).digest('hex')).toBe(s.sha256);
            expect(s.queryKvm).toEqual({ enabled: true, present: true });
          });

          it('decodes, its cpreg arrays equal an independent decode, and it round-trips byte-exactly', async () => {
            const data = xzBytes(path);
            const sink = new MemorySink();
            const w = new StreamWriter(sink);
            const res = await decode(data, w);
            await w.end();
            expect(res.warnings).toEqual([]);
            // -M virt is the QEMU's own type (virt-10.0, virt-11.1); the file is named by the stored type
            expect(s.stream.startsWith(`${res.configuration?.machine}_`)).toBe(true);
            expect(Buffer.compare(sink.bytes(), data)).toBe(0);
            const mini = minimalCpregs(data);
            expect(res.cpus.map((x) => x.ids)).toEqual(mini.map((m) => m.ids));
            expect(res.cpus.map((x) => x.values)).toEqual(mini.map((m) => m.values));
          });

          it('names every register id (KVM names)', async () => {
            const res = await decode(xzBytes(path));
            const unnamed = res.cpus.flatMap((x) => x.ids.filter((id) => regName(id, 'kvm') === null));
            expect(unnamed.map((id) => id.toString(16))).toEqual([]);
          });
        });
      }
    });
  }

  it('names every field of every ID register whose value differs between two kernels or QEMUs', async () => {
    const lists = await Promise.all(
      all.map(async (c) => {
        const s = c.l1.saves.find((x) => x.stream.startsWith('virt-7.2_host_gic3.'))!;
        const res = await decode(xzBytes(join(c.dir, s.stream)));
        return new Map(res.cpus[0].ids.map((id, i) => [id, res.cpus[0].values[i]]));
      }),
    );
    const unnamed = new Set<string>();
    let compared = 0;
    for (const a of lists) {
      for (const b of lists) {
        for (const [id, va] of a) {
          const vb = b.get(id);
          if (vb === undefined || vb === va || !isIdRegister(id)) continue;
          compared++;
          for (const f of idRegisterFields(id, va, vb)) if (f.field.startsWith('bits[')) unnamed.add(`${regName(id, 'kvm')}.${f.field}`);
        }
      }
    }
    expect(compared).toBeGreaterThan(0);
    expect([...unnamed]).toEqual([]);
  });
});

describe('real KVM load table (samples/truth/kvm-table.json)', () => {
  const table = JSON.parse(readFileSync(join(SAMPLES_DIR, 'truth', 'kvm-table.json'), 'utf8'));
  const rows: {
    id: string;
    source: string;
    destSample: string;
    result: string;
    stderr: string[];
    phase: string;
    dest: { qemu: string; kernel: string; machine: string };
  }[] = table.rows;

  it('has at least 60 rows of real loads, every id once', () => {
    expect(rows.filter((r) => r.phase !== 'rewrites').length).toBeGreaterThanOrEqual(60);
    expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
  });

  it('every row names committed streams and a QEMU outcome with its messages', () => {
    for (const r of rows) {
      expect(existsSync(join(SAMPLES_DIR, r.source)), r.source).toBe(true);
      expect(existsSync(join(SAMPLES_DIR, r.destSample)), r.destSample).toBe(true);
      expect(['accept', 'reject', 'crash']).toContain(r.result);
      if (r.result !== 'accept') expect(r.stderr.length, r.id).toBeGreaterThan(0);
    }
  });

  it('every stream loads into the host that saved it', () => {
    const self = rows.filter((r) => r.phase === 'saves');
    expect(self.length).toBeGreaterThanOrEqual(27);
    expect(self.filter((r) => r.result !== 'accept').map((r) => r.id)).toEqual([]);
  });

  it('every rewrite row is a stream listed in the rewrite case files, with the SHA-256 the destination loaded', () => {
    const cases = new Map<string, { sha256: string; variant: { flags: string[] } }>();
    for (const f of ['rewrite-cases.json', ...[2, 3, 4, 5, 6].map((n) => `rewrite-cases-${n}.json`)]) {
      for (const c of JSON.parse(readFileSync(join(KVM_DIR, f), 'utf8')).cases) cases.set(c.id, c);
    }
    const rw = rows.filter((r) => r.phase === 'rewrites') as unknown as { id: string; variantSha256: string; variant: { flags: string[] } }[];
    expect(rw.length).toBeGreaterThan(0);
    for (const r of rw) {
      expect(cases.get(r.id)?.sha256, r.id).toBe(r.variantSha256);
      expect(r.variant.flags).toEqual(cases.get(r.id)?.variant.flags);
    }
  });

  it('covers every kernel pair with the same QEMU, both directions', () => {
    const seen = new Set(
      rows
        .filter((r) => r.phase === 'loads' && r.source.includes(`_q${r.dest.qemu}/`))
        .map((r) => `${r.source.match(/k([\d.]+)_q/)![1]}>${r.dest.kernel}@${r.dest.qemu}`),
    );
    for (const q of ['7.2', '10.0', '11.1'])
      for (const a of ['6.1', '6.12', '7.2'])
        for (const b of ['6.1', '6.12', '7.2']) if (a !== b) expect(seen.has(`${a}>${b}@${q}`), `${a}>${b}@${q}`).toBe(true);
  });
});
