/** The `inspect` report: a JSON-ready summary of a decoded stream and its text rendering. */
import type { DecodedStream, WalkInfo } from '../stream/decode.js';
import { RAM_KINDS as KINDS, type RamKind } from '../stream/constants.js';
import type { MappedRamBlock } from '../stream/mapped-ram.js';
import { num, PLAIN, table, type RenderOptions } from './format.js';

/** Version of the `inspect --json` shape (schemas/inspect.schema.json). */
export const INSPECT_SCHEMA = 'vmstate/inspect/2';

/**
 * RAM as `inspect` reports it. Record counts (and mapped-ram page counts) exist only when the RAM
 * was walked (`walked`; `inspect --ram`); read tail-first they are null.
 */
export interface InspectRam {
  pageSize: number;
  totalBytes: number;
  walked: boolean;
  blocks: { name: string; length: number; records: Record<RamKind, number> | null; mappedRam?: MappedRamBlock }[];
  records: Record<RamKind, number> | null;
  payloadBytes: number | null;
}

/** The `inspect --json` document. */
export interface InspectReport {
  schema: typeof INSPECT_SCHEMA;
  file: string;
  size: number;
  streamVersion: number;
  machine: string | null;
  pageSize: number;
  configuration: DecodedStream['configuration'];
  /** How the stream was read: tail-first (RAM skipped) or whole, and why. */
  walk: WalkInfo;
  /** Iterative sections have `items` when they were walked (null when read past unread). */
  sections: { kind: 'iterative' | 'full'; id: number; name: string; instance: number; version: number; offset: number; size: number; items?: number | null }[];
  ram: InspectRam | null;
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
    walk: s.walk,
    sections,
    ram: s.ram && ramReport(s.ram),
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

function ramReport(ram: NonNullable<DecodedStream['ram']>): InspectRam {
  const w = ram.walked;
  return {
    pageSize: ram.pageSize,
    totalBytes: ram.totalBytes,
    walked: w,
    blocks: ram.blocks.map((b) => ({ name: b.name, length: b.length, records: w ? b.records : null, ...(b.mappedRam ? { mappedRam: b.mappedRam } : {}) })),
    records: w ? ram.records : null,
    payloadBytes: w ? ram.payloadBytes : null,
  };
}

/** The `read` line: how much of the stream was read. */
function walkLine(r: InspectReport): string {
  const w = r.walk;
  if (w.mode === 'tail-first') return `read        tail-first: bytes ${w.from} to ${w.to} not read (RAM; inspect --ram reads them)`;
  return `read        whole stream${w.doubt ? ` (${w.reason})` : ''}`;
}

/** The RAM line and its block table. */
function ramLines(ram: InspectRam): string[] {
  const head = `RAM         ${ram.blocks.length} blocks, ${num(ram.totalBytes)} bytes`;
  const mapped = ram.blocks.some((b) => b.mappedRam);
  if (!ram.walked || !ram.records) {
    const cols = mapped ? ['block', 'length', 'pages at'] : ['block', 'length'];
    const rows = ram.blocks.map((b) => (mapped ? [b.name, b.length, b.mappedRam?.shared ? '(shared)' : b.mappedRam?.pagesOffset ?? ''] : [b.name, b.length]));
    return [`${head}; ${mapped ? 'mapped-ram, bitmaps' : 'records'} not read`, indent(table(cols, rows))];
  }
  const recs = ram.records;
  const kinds = KINDS.filter((k) => recs[k]);
  const rec = kinds.map((k) => `${k} ${num(recs[k])}`).join(', ');
  if (mapped) {
    const present = ram.blocks.reduce((n, b) => n + (b.mappedRam?.pagesPresent ?? 0), 0);
    const rows = ram.blocks.map((b) => [b.name, b.length, b.mappedRam?.shared ? '(shared)' : b.mappedRam?.pagesOffset ?? '', b.mappedRam?.pagesPresent ?? 0]);
    return [`${head}; mapped-ram: ${num(present)} pages present${rec ? `; records: ${rec}` : ''}`, indent(table(['block', 'length', 'pages at', 'present'], rows))];
  }
  const lines = [`${head}; records: ${rec || 'none'}`];
  lines.push(indent(table(['block', 'length', ...kinds], ram.blocks.map((b) => [b.name, b.length, ...kinds.map((k) => b.records![k])]))));
  return lines;
}

/** Human rendering of {@link InspectReport}. */
export function renderInspect(r: InspectReport, o: RenderOptions = {}): string {
  const st = o.style ?? PLAIN;
  const out: string[] = [];
  out.push(`stream      ${r.file}: ${num(r.size)} bytes, format version ${r.streamVersion}`);
  const cfg = r.configuration;
  out.push(`machine     ${r.machine ?? '(no configuration item)'}, page size ${r.pageSize}` + (cfg?.capabilities.length ? `, capabilities ${cfg.capabilities.join(' ')}` : ''));
  out.push(`vmdesc      ${r.vmdesc.present ? `${num(r.vmdesc.length!)} bytes of JSON at offset ${r.vmdesc.offset}` : 'absent'}`);
  out.push(walkLine(r));
  if (r.commands.length) out.push(`commands    ${r.commands.map((c) => `${c.name}@${c.offset}`).join(', ')}`);
  if (r.ram) out.push(...ramLines(r.ram));
  out.push('sections');
  const named = (s: InspectReport['sections'][number]) => (s.kind === 'iterative' && s.items != null ? `${s.name} (${s.items} items)` : s.name);
  out.push(indent(table(['id', 'name', 'inst', 'ver', 'offset', 'size'], r.sections.map((s) => [s.id, named(s), s.instance, s.version, s.offset, s.size]))));
  out.push('vCPUs');
  out.push(indent(table(['instance', 'cpregs', 'subsections'], r.cpus.map((c) => [c.instance, c.cpregs, c.subsections.map((s) => s.name.replace(/^cpu\//, '')).join(' ')]))));
  if (!o.quiet) for (const w of r.warnings) out.push(st.warn(`warning: ${w}`));
  return out.join('\n');
}

function indent(s: string): string {
  return s.replace(/^/gm, '  ');
}
