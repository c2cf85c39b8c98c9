/** The `regs` report: every vCPU's registers with id, value, name and QEMU's field text. */
import type { CpuSection } from '../stream/records.js';
import { inferAccel, qemuFieldText, regFieldText, regName, type Accel } from '../regs/index.js';
import { hex64, table } from './format.js';

/** Version of the `regs --json` shape (schemas/regs.schema.json). */
export const REGS_SCHEMA = 'vmstate/regs/1';

/** One register as reported. */
export interface RegEntry {
  id: string;
  value: string;
  name: string | null;
  fields: string;
}

/** The `regs --json` document. */
export interface RegsReport {
  schema: typeof REGS_SCHEMA;
  accel: Accel;
  cpus: { instance: number; count: number; registers: RegEntry[] }[];
}

/** Builds the report for the selected vCPUs (all when `only` is undefined). */
export function regsReport(cpus: CpuSection[], opts: { only?: number; accel?: Accel } = {}): RegsReport {
  const accel = opts.accel ?? inferAccel(cpus.flatMap((c) => c.ids));
  return {
    schema: REGS_SCHEMA,
    accel,
    cpus: cpus
      .filter((c) => opts.only === undefined || c.instance === opts.only)
      .map((c) => ({
        instance: c.instance,
        count: c.count,
        registers: c.ids.map((id, i) => ({ id: hex64(id), value: hex64(c.values[i]!), name: regName(id, accel), fields: qemuFieldText(id) })),
      })),
  };
}

/** Human rendering of {@link RegsReport}. */
export function renderRegs(r: RegsReport): string {
  return r.cpus
    // QEMU prints AArch32 ids as bare hex; the table decodes them for reading.
    .map((c) => `cpu ${c.instance}: ${c.count} registers (${r.accel})\n` + table(['id', 'name', 'value', 'fields'], c.registers.map((e) => [e.id, e.name ?? '?', e.value, regFieldText(BigInt(e.id))])).replace(/^/gm, '  '))
    .join('\n\n');
}
