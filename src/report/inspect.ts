/** The `inspect` report: a JSON-ready summary of a decoded stream and its text rendering. */
import type { DecodedStream } from '../stream/decode.js';
import { RAM_KINDS as KINDS } from '../stream/constants.js';
import { num, PLAIN, table, type RenderOptions } from './format.js';

/** Version of the `inspect --json` shape (schemas/inspect.schema.json). */
export const INSPECT_SCHEMA = 'vmstate/inspect/1';

/** The `inspect --json` document. */
export interface InspectReport {
  schema: typeof INSPECT_SCHEMA;
  file: string;
  size: number;
  streamVersion: number;
  machine: string | null;
  pageSize: number;
  configuration: DecodedStream['configuration'];
  sections: { kind: 'iterative' | 'full'; id: number; name: string; instance: number; version: number; offset: number; size: number; items?: number }[];
  ram: (NonNullable<DecodedStream['ram']>) | null;
  commands: DecodedStream['commands'];
  vmdesc: { present: boolean; offset?: number; length?: number };
  eofOffset: number;
  cpus: { instance: number; sectionId: number; offset: number; cpregs: number; subsections: { name: string; version: number }[] }[];
  warnings: string[];
}

/** Builds the report. */
export function inspectReport(file: string, s: DecodedStream): InspectReport {
  const sections: InspectReport['sections'] = [
    ...s.iterative.map((i) => ({ kind: 'iterative' as const, id: i.sectionId, name: i.name, instance: i.instanceId, version: i.version, offset: i.offset, size: i.bytes, items: i.items })),
    ...s.sections.map((f) => ({ kind: 'full' as const, id: f.sectionId, name: f.name, instance: f.instanceId, version: f.version, offset: f.offset, size: f.size })),
  ].sort((a, b) => a.offset - b.offset);
  return {
    schema: INSPECT_SCHEMA,
    file,
    size: s.size,
    streamVersion: s.version,
    machine: s.configuration?.machine ?? null,
    pageSize: 1 << (s.configuration?.pageBits ?? 10),
    configuration: s.configuration,
    sections,
    ram: s.ram,
    commands: s.commands,
    vmdesc: s.vmdesc ? { present: true, offset: s.vmdesc.offset, length: s.vmdesc.length } : { present: false },
    eofOffset: s.eofOffset,
    cpus: s.cpus.map((c) => ({
      instance: c.instance,
      sectionId: c.sectionId,
      offset: c.offset,
      cpregs: c.count,
      subsections: c.subsections.map((x) => ({ name: x.name, version: x.version })),
    })),
    warnings: s.warnings,
  };
}

/** Human rendering of {@link InspectReport}. */
export function renderInspect(r: InspectReport, o: RenderOptions = {}): string {
  const st = o.style ?? PLAIN;
  const out: string[] = [];
  out.push(`stream      ${r.file}: ${num(r.size)} bytes, format version ${r.streamVersion}`);
  const cfg = r.configuration;
  out.push(`machine     ${r.machine ?? '(no configuration item)'}, page size ${r.pageSize}` + (cfg?.capabilities.length ? `, capabilities ${cfg.capabilities.join(' ')}` : ''));
  out.push(`vmdesc      ${r.vmdesc.present ? `${num(r.vmdesc.length!)} bytes of JSON at offset ${r.vmdesc.offset}` : 'absent'}`);
  if (r.commands.length) out.push(`commands    ${r.commands.map((c) => `${c.name}@${c.offset}`).join(', ')}`);
  if (r.ram) {
    const rec = KINDS.filter((k) => r.ram!.records[k]).map((k) => `${k} ${num(r.ram!.records[k])}`).join(', ');
    out.push(`RAM         ${r.ram.blocks.length} blocks, ${num(r.ram.totalBytes)} bytes; records: ${rec || 'none'}`);
    out.push(indent(table(['block', 'length', ...KINDS.filter((k) => r.ram!.records[k])], r.ram.blocks.map((b) => [b.name, b.length, ...KINDS.filter((k) => r.ram!.records[k]).map((k) => b.records[k])]))));
  }
  out.push('sections');
  out.push(indent(table(['id', 'name', 'inst', 'ver', 'offset', 'size'], r.sections.map((s) => [s.id, s.name + (s.kind === 'iterative' ? ` (${s.items} items)` : ''), s.instance, s.version, s.offset, s.size]))));
  out.push('vCPUs');
  out.push(indent(table(['instance', 'cpregs', 'subsections'], r.cpus.map((c) => [c.instance, c.cpregs, c.subsections.map((s) => s.name.replace(/^cpu\//, '')).join(' ')]))));
  if (!o.quiet) for (const w of r.warnings) out.push(st.warn(`warning: ${w}`));
  return out.join('\n');
}

function indent(s: string): string {
  return s.replace(/^/gm, '  ');
}
