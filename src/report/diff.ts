/** The `diff` report: per vCPU, registers only in one stream and registers whose values differ. */
import type { CpuSection } from '../stream/records.js';
import { hex64, idRegisterFields, inferAccel, isIdRegister, regName, type Accel } from '../regs/index.js';
import { table } from './format.js';

/** Version of the `diff --json` shape. */
export const DIFF_SCHEMA = 'vmstate/diff/1';

interface Reg {
  id: string;
  name: string | null;
}

/** One vCPU's differences. */
export interface CpuDiff {
  instance: number;
  countA: number;
  countB: number;
  onlyA: (Reg & { value: string })[];
  onlyB: (Reg & { value: string })[];
  differ: (Reg & { a: string; b: string; fields?: { field: string; a: string; b: string }[] })[];
}

/** The `diff --json` document. */
export interface DiffReport {
  schema: typeof DIFF_SCHEMA;
  accel: Accel;
  identical: boolean;
  /** vCPU instances present in only one of the streams. */
  cpusOnlyA: number[];
  cpusOnlyB: number[];
  cpus: CpuDiff[];
}

/** Compares two sorted register lists with one merge (ids are kept as QEMU saved them). */
function diffCpu(a: CpuSection, b: CpuSection, accel: Accel): CpuDiff {
  const d: CpuDiff = { instance: a.instance, countA: a.count, countB: b.count, onlyA: [], onlyB: [], differ: [] };
  const ia = order(a.ids);
  const ib = order(b.ids);
  let i = 0;
  let j = 0;
  while (i < ia.length || j < ib.length) {
    const x = i < ia.length ? a.ids[ia[i]!]! : null;
    const y = j < ib.length ? b.ids[ib[j]!]! : null;
    if (y === null || (x !== null && x < y)) {
      d.onlyA.push({ id: hex64(x!), name: regName(x!, accel), value: hex64(a.values[ia[i++]!]!) });
    } else if (x === null || y < x) {
      d.onlyB.push({ id: hex64(y), name: regName(y, accel), value: hex64(b.values[ib[j++]!]!) });
    } else {
      const va = a.values[ia[i++]!]!;
      const vb = b.values[ib[j++]!]!;
      if (va !== vb) {
        const e: CpuDiff['differ'][number] = { id: hex64(x), name: regName(x, accel), a: hex64(va), b: hex64(vb) };
        if (isIdRegister(x)) e.fields = idRegisterFields(x, va, vb).map((f) => ({ field: f.field, a: '0x' + f.a.toString(16), b: '0x' + f.b.toString(16) }));
        d.differ.push(e);
      }
    }
  }
  return d;
}

/** Index order that sorts `ids` ascending (QEMU's lists are sorted already; hand-edited ones may not be). */
function order(ids: bigint[]): number[] {
  const idx = ids.map((_, k) => k);
  for (let k = 1; k < ids.length; k++) if (ids[k]! <= ids[k - 1]!) return idx.sort((p, q) => (ids[p]! < ids[q]! ? -1 : ids[p]! > ids[q]! ? 1 : 0));
  return idx;
}

/** Builds the report for two decoded streams' vCPUs. */
export function diffReport(a: CpuSection[], b: CpuSection[], accel?: Accel): DiffReport {
  const acc = accel ?? inferAccel([...a.flatMap((c) => c.ids), ...b.flatMap((c) => c.ids)]);
  const byB = new Map(b.map((c) => [c.instance, c]));
  const cpus: CpuDiff[] = [];
  for (const ca of a) {
    const cb = byB.get(ca.instance);
    if (cb) cpus.push(diffCpu(ca, cb, acc));
  }
  const inA = new Set(a.map((c) => c.instance));
  const rep: DiffReport = {
    schema: DIFF_SCHEMA,
    accel: acc,
    identical: false,
    cpusOnlyA: a.filter((c) => !byB.has(c.instance)).map((c) => c.instance),
    cpusOnlyB: b.filter((c) => !inA.has(c.instance)).map((c) => c.instance),
    cpus,
  };
  rep.identical = !rep.cpusOnlyA.length && !rep.cpusOnlyB.length && cpus.every((c) => !c.onlyA.length && !c.onlyB.length && !c.differ.length);
  return rep;
}

/** Human rendering of {@link DiffReport}. */
export function renderDiff(r: DiffReport, nameA: string, nameB: string): string {
  if (r.identical) return `no differences in the cpreg lists of ${r.cpus.length} vCPU(s)`;
  const out: string[] = [];
  if (r.cpusOnlyA.length) out.push(`vCPUs only in ${nameA}: ${r.cpusOnlyA.join(', ')}`);
  if (r.cpusOnlyB.length) out.push(`vCPUs only in ${nameB}: ${r.cpusOnlyB.join(', ')}`);
  for (const c of r.cpus) {
    out.push(`cpu ${c.instance}: ${c.countA} registers in ${nameA}, ${c.countB} in ${nameB}`);
    if (c.onlyA.length) out.push(`  only in ${nameA} (${c.onlyA.length}):`, indent(table(['id', 'name', 'value'], c.onlyA.map((e) => [e.id, e.name ?? '?', e.value])), 4));
    if (c.onlyB.length) out.push(`  only in ${nameB} (${c.onlyB.length}):`, indent(table(['id', 'name', 'value'], c.onlyB.map((e) => [e.id, e.name ?? '?', e.value])), 4));
    if (c.differ.length) {
      out.push(`  values differ (${c.differ.length}):`);
      out.push(indent(table(['id', 'name', nameA, nameB], c.differ.map((e) => [e.id, e.name ?? '?', e.a, e.b])), 4));
      for (const e of c.differ) {
        if (e.fields?.length) out.push(`    ${e.name ?? e.id}: ${e.fields.map((f) => `${f.field} ${f.a} → ${f.b}`).join(', ')}`);
      }
    }
  }
  return out.join('\n');
}

function indent(s: string, n: number): string {
  return s.replace(/^/gm, ' '.repeat(n));
}
