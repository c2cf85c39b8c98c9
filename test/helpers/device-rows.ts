/**
 * The streams the rows of samples/truth/devices-table.json and device-probes.json loaded, rebuilt
 * from the device samples (unpacked from their archives) and checked against the SHA-256 the
 * table recorded:
 * - `load`: the sample itself;
 * - `rewrite`: the edit `vmstate rewrite --strip-unknown --adopt-dest-values id-regs
 *   --strip-unknown-subsections` made when the table was written, redone here with the library's
 *   copier (registers the destination's vCPU lacks removed, ID registers given the destination's
 *   values, `cpu` subsections its QEMU does not know dropped), so that later changes of what
 *   `rewrite` decides do not change the rows;
 * - `edit`: that output with the recorded hand edits (samples/devices/streamedit.py removes the
 *   named subsections; the registers add-missing-const.mjs inserted, with their recorded values);
 * - `probe`: the sample with the recorded byte patches;
 * - `suggested`: the next step `check` printed for a failed load, run as printed (with `--force`,
 *   so that a rewrite the check now doubts is still written).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rewriteFile } from '../../src/rewrite/rewrite-file.js';
import { loadDestination, knownSubsections } from '../../src/destination/load.js';
import { generationOfLoader } from '../../src/match/index.js';
import { isIdRegister } from '../../src/regs/index.js';
import { applyVariant } from '../../samples/truth/variants.mjs';
import { SAMPLES_DIR } from './samples.js';
import { vmstate } from './cli.js';

/** A row of either table (the fields the tests read). */
export interface DeviceRow {
  id: string;
  kind: 'load' | 'rewrite' | 'edit' | 'probe' | 'suggested';
  source: string;
  dest: { qemu: '7.2' | '10.0' | '11.1'; machine: string; machineType: string; incoming: 'exec' | 'file'; capabilities: string[] };
  destSample: string | null;
  result: 'accept' | 'reject' | 'crash' | null;
  stderr: string[];
  rewrite?: { of: string; argv: string[]; forced: boolean; sha256: string | null };
  /** The command `check` suggested (`OUT` for its output; null when it offered none) and its output's SHA-256. */
  suggestion?: { of: string; argv: string[] | null; sha256?: string | null };
  edit?: {
    of?: string;
    steps?: ({ step: 'strip-subsections'; strip: string[] } | { step: 'add-const'; inserted: { id: string; value: string }[] })[];
    patches?: { offset: number; from: string; to: string }[];
    /** A probe's edit as samples/truth/variants.mjs operations. */
    variant?: { op: 'remove'; ids: string[] }[];
    sha256: string;
  };
}

/** The loader `check` is run with for a destination QEMU. */
export const LOADER: Record<DeviceRow['dest']['qemu'], string> = { '7.2': 'legacy', '10.0': 'legacy', '11.1': 'qemu-11.1' };

export const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Where a table path (`devices/qemu-7.2/x.mig`) is once the archives are unpacked into `root`. */
export const unpacked = (root: string, file: string): string => join(root, file.slice('devices/'.length));

/** The table-time rewrite of `src` towards `destPath` under `loader`, into `out`. */
async function redoRewrite(src: string, destPath: string, loader: string, out: string): Promise<void> {
  const dest = await loadDestination(destPath);
  const known = new Set((knownSubsections(dest, generationOfLoader(loader)) ?? []).map((s) => s.name));
  const destCpus = new Map(dest.model.cpus.map((c) => [c.instance, c]));
  await rewriteFile(src, out, {
    editCpu: (cpu) => {
      const d = destCpus.get(cpu.instance)!;
      const dv = new Map(d.ids.map((id, i) => [id, d.values![i]!]));
      const ids: bigint[] = [];
      const values: bigint[] = [];
      cpu.ids.forEach((id, i) => {
        if (!dv.has(id)) return;
        ids.push(id);
        values.push(isIdRegister(id) ? dv.get(id)! : cpu.values[i]!);
      });
      const drop: string[] = [];
      for (const s of cpu.subsections) if (!known.has(s.name) && !drop.some((p) => s.name.startsWith(p + '/'))) drop.push(s.name);
      return { ids, values, ...(drop.length ? { dropSubsections: drop } : {}) };
    },
  });
}

/**
 * Writes the stream a row loaded into `scratch` (or names the sample) and checks it is the one
 * the table recorded. `byId` finds the rows rewrites and edits were made from.
 * @throws Error when the rebuilt bytes differ from the recorded SHA-256
 */
export async function materialize(row: DeviceRow, byId: Map<string, DeviceRow>, root: string, scratch: string): Promise<{ path: string; temporary: boolean }> {
  if (row.kind === 'load') return { path: unpacked(root, row.source), temporary: false };
  const base = join(scratch, row.id.replace(/[/+]/g, '_'));
  if (row.kind === 'probe' && row.edit?.variant) {
    await applyVariant(unpacked(root, row.source), row.edit.variant, base + '.mig');
    if (sha256(base + '.mig') !== row.edit.sha256) throw new Error(`${row.id}: the edited stream differs from the table`);
    return { path: base + '.mig', temporary: true };
  }
  if (row.kind === 'probe') {
    const buf = Buffer.from(readFileSync(unpacked(root, row.source)));
    for (const p of row.edit?.patches ?? []) {
      if (buf.subarray(p.offset, p.offset + p.from.length / 2).toString('hex') !== p.from) throw new Error(`${row.id}: patch at ${p.offset} does not match`);
      Buffer.from(p.to, 'hex').copy(buf, p.offset);
    }
    writeFileSync(base + '.mig', buf);
    if (row.edit && sha256(base + '.mig') !== row.edit.sha256) throw new Error(`${row.id}: the patched stream differs from the table`);
    return { path: base + '.mig', temporary: true };
  }
  if (row.kind === 'suggested') {
    const out = base + '.mig';
    const args = row.suggestion!.argv!.slice(1).map((a) => (a === 'OUT' ? out : a.startsWith('devices/') ? unpacked(root, a) : a));
    const r = vmstate([...args, '--force']);
    if (r.code !== 0) throw new Error(`${row.id}: ${row.suggestion!.argv!.join(' ')}: exit ${r.code}: ${r.stderr}`);
    if (sha256(out) !== row.suggestion!.sha256) throw new Error(`${row.id}: the suggested rewrite run here differs from the one the table loaded`);
    return { path: out, temporary: true };
  }
  const rw = row.kind === 'rewrite' ? row : byId.get(row.edit!.of!)!;
  let cur = base + '.rewrite.mig';
  await redoRewrite(unpacked(root, rw.source), unpacked(root, rw.destSample!), LOADER[rw.dest.qemu], cur);
  if (sha256(cur) !== rw.rewrite!.sha256) throw new Error(`${row.id}: the rewrite redone here differs from the one the table loaded (${rw.rewrite!.argv.join(' ')})`);
  if (row.kind === 'rewrite') return { path: cur, temporary: true };
  for (const [k, st] of row.edit!.steps!.entries()) {
    const next = `${base}.${k}.mig`;
    if (st.step === 'strip-subsections') execFileSync('python3', [join(SAMPLES_DIR, 'devices', 'streamedit.py'), cur, next, ...st.strip], { stdio: 'ignore' });
    else await applyVariant(cur, st.inserted.map((x) => ({ op: 'insert', id: x.id, value: x.value })), next);
    unlinkSync(cur);
    cur = next;
  }
  if (sha256(cur) !== row.edit!.sha256) throw new Error(`${row.id}: the edited stream differs from the table`);
  return { path: cur, temporary: true };
}

/** Whether the stream a row names can be read at all (the decoder reads no mapped-ram RAM yet). */
export function mappedRam(row: DeviceRow): boolean {
  return row.dest.incoming === 'file' || /mapped-ram/.test(row.source);
}
