/** The `verify` report: what a walk of every record of a stream found, as JSON and as text. */
import type { DecodedStream } from '../stream/decode.js';
import { RAM_KINDS, type RamKind } from '../stream/constants.js';
import type { VmstateError } from '../errors.js';
import { num, PLAIN, type RenderOptions } from './format.js';

/** Version of the `verify --json` shape (schemas/verify.schema.json). */
export const VERIFY_SCHEMA = 'vmstate/verify/1';

/** What failed, where. */
export interface VerifyFailure {
  code: string;
  message: string;
  offset: number | null;
  section: string | null;
}

/** The `verify --json` document: `intact` with what was walked, or the first failure. */
export interface VerifyReport {
  schema: typeof VERIFY_SCHEMA;
  file: string;
  intact: boolean;
  /** Bytes of the stream walked (decompressed, without a container); null when it failed. */
  size: number | null;
  /** Where the stream starts in a libvirt save image (0 for a bare stream); null when unknown. */
  streamOffset: number | null;
  machine: string | null;
  /** FULL (device) sections. */
  deviceSections: number;
  /** START, PART and END items of the iterative sections (RAM). */
  iterativeItems: number;
  commands: number;
  ram: {
    blocks: number;
    totalBytes: number;
    records: Record<RamKind, number>;
    payloadBytes: number;
    /** Pages present by the mapped-ram bitmaps, or null for a stream without mapped-ram. */
    mappedRamPages: number | null;
  } | null;
  eofOffset: number | null;
  vmdesc: { offset: number; length: number } | null;
  cpus: number;
  warnings: string[];
  failure: VerifyFailure | null;
}

/** The report of a stream walked whole without an error. */
export function verifyReport(file: string, s: DecodedStream): VerifyReport {
  const mapped = s.ram?.blocks.some((b) => b.mappedRam) ?? false;
  return {
    schema: VERIFY_SCHEMA,
    file,
    intact: true,
    size: s.size,
    streamOffset: s.container?.streamOffset ?? 0,
    machine: s.configuration?.machine ?? null,
    deviceSections: s.sections.length,
    iterativeItems: s.iterative.reduce((n, i) => n + (i.items ?? 0), 0),
    commands: s.commands.length,
    ram: s.ram && {
      blocks: s.ram.blocks.length,
      totalBytes: s.ram.totalBytes,
      records: s.ram.records,
      payloadBytes: s.ram.payloadBytes,
      mappedRamPages: mapped ? s.ram.blocks.reduce((n, b) => n + (b.mappedRam?.pagesPresent ?? 0), 0) : null,
    },
    eofOffset: s.eofOffset,
    vmdesc: s.vmdesc && { offset: s.vmdesc.offset, length: s.vmdesc.length },
    cpus: s.cpus.length,
    warnings: s.warnings,
    failure: null,
  };
}

/** The report of a stream whose walk failed with `e`. */
export function verifyFailure(file: string, e: VmstateError): VerifyReport {
  return {
    schema: VERIFY_SCHEMA,
    file,
    intact: false,
    size: null,
    streamOffset: null,
    machine: null,
    deviceSections: 0,
    iterativeItems: 0,
    commands: 0,
    ram: null,
    eofOffset: null,
    vmdesc: null,
    cpus: 0,
    warnings: [],
    failure: { code: e.code, message: e.message, offset: e.place?.offset ?? null, section: e.place?.section ?? null },
  };
}

/** Text rendering of an intact stream's report (a failure is the error message itself). */
export function renderVerify(r: VerifyReport, o: RenderOptions = {}): string {
  const st = o.style ?? PLAIN;
  const out = [`${st.ok('intact')}: ${r.file}: ${num(r.size ?? 0)} bytes, every record walked`];
  const parts = [
    `configuration ${r.machine ?? '(none)'}`,
    `${num(r.iterativeItems)} RAM items`,
    `${num(r.deviceSections)} device sections (${r.cpus} vCPUs)`,
    ...(r.commands ? [`${r.commands} commands`] : []),
    `EOF at ${r.eofOffset}`,
    r.vmdesc ? `vmdesc of ${num(r.vmdesc.length)} bytes` : 'no vmdesc',
  ];
  out.push(`  ${parts.join(', ')}`);
  if (r.ram) {
    const recs = RAM_KINDS.filter((k) => r.ram!.records[k]).map((k) => `${k} ${num(r.ram!.records[k])}`);
    const pages = r.ram.mappedRamPages !== null ? [`mapped-ram pages present ${num(r.ram.mappedRamPages)}`] : [];
    out.push(`  RAM: ${r.ram.blocks} blocks, ${num(r.ram.totalBytes)} bytes; ${[...recs, ...pages].join(', ') || 'no records'}`);
  }
  if (!o.quiet) for (const w of r.warnings) out.push(st.warn(`warning: ${w}`));
  return out.join('\n');
}
