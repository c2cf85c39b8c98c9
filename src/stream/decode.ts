/**
 * One-pass decoder of a whole migration stream.
 *
 * RAM is walked exactly and streamed through; device sections (small) are
 * decoded from a bounded look-ahead window, laid out by the vmdesc when it is
 * known, and the `cpu` sections by their built-in layout in any case. With an
 * output writer attached, every consumed byte is copied to it unchanged except
 * where an edit replaces a cpu section's arrays or subsections, and the vmdesc.
 */
import { Item, MAGIC, STREAM_VERSION, COMMANDS } from './constants.js';
import type { CommandRecord, Configuration, CpuSection, IterativeSection, RamSummary, SectionRecord, SubsectionRecord, VmdescRecord } from './records.js';
import { readConfiguration } from './configuration.js';
import { RamWalker } from './ram.js';
import { locateVmdesc, parseVmdesc, encodeVmdesc, patchCpuArrays, dropSubsection, vmdescOffsetOf, cloneVmdesc, type Vmdesc, type VmdescBody, type VmdescDevice, type VmdescField } from './vmdesc.js';
import { JSON_PAIRS, type JsonObject } from './json-writer.js';
import { walkDevice } from './device-walk.js';
import { StreamReader } from '../wire/reader.js';
import type { ByteSource } from '../wire/source.js';
import type { StreamWriter } from '../wire/writer.js';
import { LimitError, StreamFormatError, TruncatedError, UnsupportedError, UsageError, type ErrorPlace } from '../wire/errors.js';
import { checkCpuEdit } from '../cpu/edit-check.js';
import { COUNT_OFFSET, CPU_SECTION_VERSION, CPU_SUBSECTION_SIZES, TAIL_SIZE } from '../cpu/layout.js';
import { cpregArraysSize, decodeCpregArrays, DEFAULT_MAX_CPREGS } from '../cpu/cpregs-decode.js';
import { encodeCpregArrays } from '../cpu/cpregs-encode.js';

/** Edits to apply to one cpu section while copying the stream. */
export interface CpuEdit {
  /** New sorted register list; omitted = keep the arrays. */
  ids?: bigint[];
  values?: bigint[];
  /** Subsections (full names, e.g. `cpu/wfxt-timer`) to remove. */
  dropSubsections?: string[];
}

/** Caps on sizes read from the input; every one is named in the error it causes. */
export interface DecodeLimits {
  /** Bytes of look-ahead for device sections and, on a pipe, the device-state part. */
  maxBuffer: number;
  /** Largest cpreg count accepted. */
  maxCpregs: number;
  /** Largest vmdesc JSON accepted. */
  maxVmdesc: number;
}

export const DEFAULT_LIMITS: DecodeLimits = { maxBuffer: 64 << 20, maxCpregs: DEFAULT_MAX_CPREGS, maxVmdesc: 64 << 20 };

/**
 * The limits in force: `given` over {@link DEFAULT_LIMITS}. Each given value must be a whole
 * number of at least 0 (NaN, infinities, fractions or a negative would disable or break a cap):
 * a {@link UsageError} otherwise.
 */
export function resolveLimits(given: Partial<DecodeLimits> = {}): DecodeLimits {
  const out = { ...DEFAULT_LIMITS };
  for (const key of Object.keys(DEFAULT_LIMITS) as (keyof DecodeLimits)[]) {
    const v: unknown = given[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
      throw new UsageError(`limit ${key} must be a whole number of at least 0, got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
    }
    out[key] = v;
  }
  return out;
}

/** Options of {@link decodeStream}. */
export interface DecodeOptions {
  limits?: Partial<DecodeLimits>;
  /** Receives the stream, byte for byte, with edits applied. */
  output?: StreamWriter;
  /**
   * Called for each cpu section before its bytes are copied; returns edits or null. An edit is
   * checked before anything of it is written: 64-bit ids and values, as many of each, ids
   * ascending without repeats (an {@link EditError} otherwise).
   */
  editCpu?: (cpu: CpuSection) => CpuEdit | null;
  /** Accept edits whose ids are out of order or repeated (for making malformed test streams). */
  unorderedEdits?: boolean;
  /** Keep the decoded state of every device section (for `dump`). */
  collectState?: boolean;

  /** Called now and then with the current input offset. */
  onProgress?: (offset: number) => void;
}

/** A device section's decoded state, kept with `collectState`. */
export interface DeviceState {
  /** Offset of the section's type byte. */
  offset: number;
  sectionId: number;
  name: string;
  instanceId: number;
  version: number;
  /** State as QEMU's analyser renders it, or null when no vmdesc described it. */
  state: unknown;
}

/** Everything the decoder learned. */
export interface DecodedStream {
  size: number;
  version: number;
  configuration: Configuration | null;
  /** FULL sections, in stream order. */
  sections: SectionRecord[];
  /** Iterative sections (RAM), merged per section id. */
  iterative: IterativeSection[];
  commands: CommandRecord[];
  ram: RamSummary | null;
  cpus: CpuSection[];
  vmdesc: (VmdescRecord & { json: Vmdesc }) | null;
  eofOffset: number;
  devices: DeviceState[];
  /** Non-fatal observations (e.g. a stale vmdesc). */
  warnings: string[];
  /** Cpu instances that were edited (with output). */
  edited: number[];
}

const WINDOW = 64 << 10;
/** First tail read when looking for the vmdesc of a seekable input. */
const TAIL_FIRST = 1 << 20;
const EMPTY = Buffer.alloc(0);

/** Decodes (and, with `output`, copies and edits) one stream in a single pass. */
export async function decodeStream(source: ByteSource, opts: DecodeOptions = {}): Promise<DecodedStream> {
  const limits = resolveLimits(opts.limits);
  const r = new StreamReader(source);
  const out = opts.output;
  if (out) r.setTap(out);
  const res: DecodedStream = {
    size: 0, version: 0, configuration: null, sections: [], iterative: [], commands: [], ram: null,
    cpus: [], vmdesc: null, eofOffset: -1, devices: [], warnings: [], edited: [],
  };

  // On a seekable input the layout is read from the tail first, as QEMU's analyser does.
  let vmdesc: Vmdesc | null = null;
  let vmdescAt: VmdescRecord | null = null;
  let vmdescLooked = false;
  if (source.size !== undefined && source.readAt) {
    // Real vmdescs are tens of KiB: look in a small tail first, then (rarely) straight in the
    // largest tail allowed. Growing in steps would leave every smaller tail as garbage, which a
    // vmdesc near the cap cannot afford (its decode must stay within 3× its size).
    const total = source.size;
    for (let want = TAIL_FIRST; ; want = limits.maxVmdesc + 16) {
      const tailLen = Math.min(total, want, limits.maxVmdesc + 16);
      const tail = await source.readAt(total - tailLen, tailLen);
      const found = locateVmdesc(tail, total - tailLen, total);
      // At the very start of a narrowed tail the EOF byte before it is unseen: widen instead.
      if (found && (found.offset > total - tailLen || tailLen === total)) {
        vmdescAt = found;
        const at = found.offset + 5 - (total - tailLen);
        vmdesc = parseVmdesc(tail.subarray(at, at + found.length), found.offset + 5);
        break;
      }
      if (tailLen === total || tailLen === limits.maxVmdesc + 16) break;
    }
    vmdescLooked = true;
  }
  const lookOnPipe = async (): Promise<void> => {
    // The layout arrives last on a pipe: hold the (small) rest of the input until it does.
    if (vmdescLooked) return;
    vmdescLooked = true;
    const start = r.offset;
    if (await r.ensure(limits.maxBuffer + 1)) {
      throw new LimitError('device-state part of the stream', r.available, limits.maxBuffer, 'maxBuffer', r.place(start));
    }
    const rest = r.peek(r.available);
    const found = locateVmdesc(rest, start, start + rest.length);
    if (found) {
      vmdescAt = found;
      vmdesc = parseVmdesc(rest.subarray(found.offset + 5 - start, found.offset + 5 - start + found.length), found.offset + 5);
    }
  };

  // Header.
  r.section = 'header';
  await r.need(8);
  const magic = r.be32();
  if (magic !== MAGIC) throw new StreamFormatError('BAD_MAGIC', `not a migration stream: magic 0x${magic.toString(16).padStart(8, '0')}, expected 0x5145564d ("QEVM")`, r.place(0), { expected: MAGIC, actual: magic });
  res.version = r.be32();
  if (res.version !== STREAM_VERSION) throw new StreamFormatError('BAD_VERSION', `unsupported stream version ${res.version}, expected ${STREAM_VERSION}`, r.place(4), { expected: STREAM_VERSION, actual: res.version });

  const live = new Map<number, IterativeSection>();
  let ram: RamWalker | null = null;
  let deviceIndex = 0;
  let postcopy = false;
  const editedDevices = new Map<number, { count?: number; drop: string[] }>();

  const footer = async (sid: number, label: string): Promise<void> => {
    r.section = label;
    await r.need(5);
    const at = r.offset;
    const t = r.u8();
    const id = r.be32();
    if (t !== Item.SECTION_FOOTER) throw new StreamFormatError('BAD_FOOTER', `missing section footer: byte 0x${t.toString(16)} instead of 0x7e`, r.place(at), { expected: 0x7e, actual: t });
    if (id !== sid) throw new StreamFormatError('BAD_FOOTER', `mismatched section id in footer: ${id}, expected ${sid}`, r.place(at + 1), { expected: sid, actual: id });
  };

  for (;;) {
    opts.onProgress?.(r.offset);
    const at = r.offset;
    r.section = 'top level';
    await r.need(1);
    const type = r.peekU8();
    if (type === Item.CONFIGURATION) {
      if (res.configuration || res.sections.length || live.size) throw new StreamFormatError('BAD_ITEM', 'configuration item after the first section', r.place(at));
      res.configuration = await readConfiguration(r);
      continue;
    }
    if (type === Item.SECTION_START || type === Item.SECTION_FULL) {
      r.section = 'section header';
      await r.need(6);
      r.u8();
      const sid = r.be32();
      const name = await r.str8();
      if (name.length === 0) throw new StreamFormatError('BAD_SECTION', 'empty section name', r.place(at + 5));
      await r.need(8);
      const instanceId = r.be32();
      const version = r.be32();
      const label = `${name} (instance ${instanceId}, section ${sid})`;
      r.section = label;
      if (type === Item.SECTION_START) {
        if (live.has(sid)) throw new StreamFormatError('BAD_SECTION', `section id ${sid} started twice`, r.place(at));
        const it: IterativeSection = { sectionId: sid, name, instanceId, version, offset: at, items: 1, bytes: 0 };
        live.set(sid, it);
        res.iterative.push(it);
        ram = await iterativeBody(it, ram);
        await footer(sid, label);
        it.bytes += r.offset - at;
        continue;
      }
      if (name === 'ram') throw new StreamFormatError('BAD_SECTION', "'ram' sent as a FULL section", r.place(at));
      if (!vmdesc && !(source.size !== undefined)) await lookOnPipe();
      const dev = vmdesc ? pickDevice(vmdesc, deviceIndex, name, instanceId, r.place(at)) : null;
      deviceIndex++;
      const bodyStart = r.offset;
      if (name === 'cpu') {
        if (version !== CPU_SECTION_VERSION) throw new StreamFormatError('BAD_SECTION', `cpu section version ${version}, expected ${CPU_SECTION_VERSION}`, r.place(at + 10 + name.length), { expected: CPU_SECTION_VERSION, actual: version });
        const cpu = await withWindow(r, limits, (buf, base) => decodeCpuBody(buf, base, label, dev, limits.maxCpregs));
        cpu.instance = instanceId;
        cpu.sectionId = sid;
        cpu.version = version;
        cpu.offset = at;
        res.cpus.push(cpu);
        if (dev) checkCpuAgainstVmdesc(cpu, dev, res.warnings);
        const state = opts.collectState && dev ? await withWindow(r, limits, (buf, base) => walkDevice(dev, buf, 0, base, label).state) : null;
        const edit = out && opts.editCpu ? opts.editCpu(cpu) : null;
        if (edit) checkCpuEdit(edit, instanceId, limits.maxCpregs, opts.unorderedEdits);
        if (edit) await applyCpuEdit(r, out!, cpu, edit, editedDevices, deviceIndex - 1, res);
        else await r.pass(cpu.bodyEnd - bodyStart);
        if (opts.collectState) res.devices.push({ offset: at, sectionId: sid, name, instanceId, version, state });
      } else {
        let end: number;
        let state: unknown = null;
        if (dev) {
          const w = await withWindow(r, limits, (buf, base) => walkDevice(dev, buf, 0, base, label));
          end = bodyStart + w.end;
          state = w.state;
        } else {
          end = bodyStart + await withWindow(r, limits, (buf, base) => scanOpaqueBody(buf, base, sid, label, new Set(live.keys())));
        }
        await r.pass(end - bodyStart);
        if (opts.collectState) res.devices.push({ offset: at, sectionId: sid, name, instanceId, version, state });
      }
      await footer(sid, label);
      res.sections.push({ kind: 'full', sectionId: sid, name, instanceId, version, offset: at, size: r.offset - at });
      continue;
    }
    if (type === Item.SECTION_PART || type === Item.SECTION_END) {
      await r.need(5);
      r.u8();
      const sid = r.be32();
      const it = live.get(sid);
      if (!it) throw new StreamFormatError('BAD_SECTION', `section ${type === Item.SECTION_PART ? 'PART' : 'END'} for unknown section id ${sid}`, r.place(at + 1), { actual: sid });
      const label = `${it.name} (instance ${it.instanceId}, section ${sid})`;
      r.section = label;
      it.items++;
      ram = await iterativeBody(it, ram);
      await footer(sid, label);
      it.bytes += r.offset - at;
      if (type === Item.SECTION_END) live.delete(sid);
      continue;
    }
    if (type === Item.COMMAND) {
      r.section = 'command';
      await r.need(5);
      r.u8();
      const cmd = r.be16();
      const len = r.be16();
      const spec = COMMANDS[cmd];
      if (!spec) throw new StreamFormatError('BAD_ITEM', `unknown command ${cmd}`, r.place(at + 1), { actual: cmd });
      if (spec.len >= 0 && len !== spec.len) throw new StreamFormatError('BAD_ITEM', `command ${spec.name} with bad length ${len}, expected ${spec.len}`, r.place(at + 3), { expected: spec.len, actual: len });
      await r.pass(len);
      if (spec.name === 'PACKAGED') throw new UnsupportedError('UNSUPPORTED', 'postcopy PACKAGED device state is not supported', r.place(at));
      if (spec.name === 'POSTCOPY_ADVISE' && len === 16) postcopy = true;
      res.commands.push({ offset: at, command: cmd, name: spec.name, length: len });
      continue;
    }
    if (type === Item.EOF) {
      r.u8();
      res.eofOffset = at;
      break;
    }
    throw new StreamFormatError('BAD_ITEM', `unknown item type 0x${type.toString(16).padStart(2, '0')}`, r.place(at), { actual: type });
  }

  // After EOF: the optional vmdesc, then nothing.
  r.section = 'vmdesc';
  if (!(await r.atEnd())) {
    const at = r.offset;
    const t = r.peekU8();
    if (t !== Item.VMDESCRIPTION) throw new StreamFormatError('BAD_ITEM', `byte 0x${t.toString(16)} after EOF, expected the vmdesc (0x06) or the end`, r.place(at), { actual: t });
    await r.need(5);
    const len = r.peek(5).readUInt32BE(1);
    if (len > limits.maxVmdesc) throw new LimitError('vmdesc length', len, limits.maxVmdesc, 'maxVmdesc', r.place(at + 1));
    // Parsed already (from the tail, or from the held rest of a pipe): the bytes need not be
    // held again, only passed on (or replaced).
    let parsed = vmdesc && vmdescAt && (vmdescAt as VmdescRecord).offset === at ? vmdesc : null;
    if (!parsed) {
      await r.need(5 + len);
      parsed = parseVmdesc(r.peek(5 + len).subarray(5), at + 5);
    }
    res.vmdesc = { offset: at, length: len, json: parsed };
    if (out && editedDevices.size) {
      // Only the edited devices are copied to be patched; the rest is shared with the model.
      const patched = patchableCopy(parsed, editedDevices.keys());
      for (const [k, e] of editedDevices) {
        const d = patched.devices[k];
        if (!d) continue;
        if (e.count !== undefined) patchCpuArrays(d, e.count);
        for (const s of e.drop) dropSubsection(d, s);
      }
      // Dropped a piece at a time: a large vmdesc is never held twice.
      for (let left = 5 + len; left > 0; ) {
        const k = Math.min(left, WINDOW);
        await r.drop(k);
        left -= k;
      }
      out.insert(encodeVmdesc(patched));
    } else {
      await r.pass(5 + len);
    }
    if (!(await r.atEnd())) throw new StreamFormatError('BAD_ITEM', 'data after the vmdesc', r.place(r.offset));
  }
  res.size = r.offset;
  res.ram = ram?.summary ?? null;
  r.setTap(null);
  return res;

  async function iterativeBody(it: IterativeSection, walker: RamWalker | null): Promise<RamWalker> {
    if (it.name !== 'ram') throw new UnsupportedError('UNSUPPORTED', `iterative section '${it.name}' is not supported`, r.place(it.offset));
    if (!walker) {
      const caps = res.configuration?.capabilities ?? [];
      walker = new RamWalker(1 << (res.configuration?.pageBits ?? 10), {
        ignoreShared: caps.includes('x-ignore-shared'),
        mappedRam: caps.includes('mapped-ram'),
        postcopy,
      });
    }
    await walker.walkBody(r);
    return walker;
  }
}

/**
 * A copy of `v` whose `devices` entries at `edited` are deep copies (patchable without touching
 * `v`); everything else is shared. The whole vmdesc is deep-copied when its root or device list
 * carries exact pairs (duplicate or integer-like keys), which a shallow copy would lose.
 */
function patchableCopy(v: Vmdesc, edited: Iterable<number>): Vmdesc {
  if ((v as unknown as JsonObject)[JSON_PAIRS] || (v.devices as unknown as JsonObject)[JSON_PAIRS]) return cloneVmdesc(v);
  const devices = v.devices.slice();
  for (const k of edited) if (devices[k]) devices[k] = cloneVmdesc(devices[k]!);
  const copy: Vmdesc = Object.assign({}, v);
  copy.devices = devices;
  return copy;
}

/** The vmdesc entry for the k-th FULL section, checked against the section header. */
function pickDevice(v: Vmdesc, k: number, name: string, instance: number, place: ErrorPlace): VmdescDevice {
  const d = v.devices[k];
  if (!d || d.name !== name || d.instance_id !== instance) {
    throw new StreamFormatError('BAD_VMDESC', `vmdesc device #${k} is ${d ? `'${d.name}' instance ${d.instance_id}` : 'missing'}, stream has '${name}' instance ${instance}`, place);
  }
  checkEmptyElements(d);
  return d;
}

/** Most elements of zero bytes one device description may have (QEMU's have none). */
const MAX_EMPTY_ELEMENTS = 1 << 16;

/**
 * A walk by the vmdesc reads one element per described element; elements of
 * zero bytes (`"size": 0`, or structs with nothing inside) consume no input,
 * so only the description bounds how often they repeat (`"array_len": 2^53`
 * would never end). Reject descriptions with more of them than any real one.
 */
function checkEmptyElements(dev: VmdescDevice): void {
  let total = 0;
  const bytes = (b: VmdescBody | VmdescDevice): number => {
    let n = (b.subsections ?? []).length; // each subsection has a header on the wire
    for (const f of b.fields) n += (f.array_len ?? 1) * (f.type === 'struct' && f.struct ? bytes(f.struct) : f.type === 'capability' ? 1 : f.size);
    return n;
  };
  const visit = (b: VmdescBody | VmdescDevice, times: number): void => {
    for (const f of b.fields as VmdescField[]) {
      const n = times * (f.array_len ?? 1);
      const struct = f.type === 'struct' ? f.struct : undefined;
      if (struct ? bytes(struct) === 0 : f.type !== 'capability' && f.size === 0) total += n;
      if (total > MAX_EMPTY_ELEMENTS) {
        throw new StreamFormatError('BAD_VMDESC', `vmdesc of '${dev.name}' instance ${dev.instance_id} describes more than ${MAX_EMPTY_ELEMENTS} elements of zero bytes (field '${f.name}')`, { offset: vmdescOffsetOf(f, vmdescOffsetOf(dev, 0)), section: 'vmdesc' }, { actual: total });
      }
      if (struct) visit(struct, n);
    }
    for (const sub of b.subsections ?? []) visit(sub, times);
  };
  visit(dev, 1);
}

/**
 * Runs a synchronous body decoder on a look-ahead window, growing the window
 * (doubling, up to maxBuffer) while the body runs past its end and input remains.
 */
async function withWindow<T>(r: StreamReader, limits: DecodeLimits, fn: (buf: Buffer, base: number) => T): Promise<T> {
  let want = WINDOW;
  for (;;) {
    const more = await r.ensure(want);
    const buf = r.peek(more ? want : r.available);
    try {
      return fn(buf, r.offset);
    } catch (e) {
      if (!(e instanceof TruncatedError)) throw e;
      // Out of input: named where the input ends, as every other truncation is.
      if (!more) throw e.place?.offset === r.offset + buf.length ? e : new TruncatedError(Number(e.data.expected), { offset: r.offset + buf.length, section: e.place?.section ?? r.section });
      if (want >= limits.maxBuffer) throw new LimitError('section body', `> ${want}` as unknown as number, limits.maxBuffer, 'maxBuffer', r.place());
      want = Math.min(want * 2, limits.maxBuffer);
    }
  }
}

/** Decodes a cpu section body (after the 17-byte header) held in `buf`. */
function decodeCpuBody(buf: Buffer, base: number, label: string, dev: VmdescDevice | null, maxCpregs: number): CpuSection {
  const place = (o: number): ErrorPlace => ({ offset: base + o, section: label });
  const need = (end: number): void => {
    if (end > buf.length) throw new TruncatedError(end - buf.length, place(buf.length));
  };
  need(COUNT_OFFSET + 4);
  const size = cpregArraysSize(buf.subarray(COUNT_OFFSET), place(COUNT_OFFSET), maxCpregs);
  need(COUNT_OFFSET + size);
  const { count, ids, values } = decodeCpregArrays(buf.subarray(COUNT_OFFSET), place(COUNT_OFFSET), maxCpregs);
  const arraysEnd = COUNT_OFFSET + size;
  need(arraysEnd + TAIL_SIZE);
  const subsections: SubsectionRecord[] = [];
  const end = readSubsections(buf, arraysEnd + TAIL_SIZE, 'cpu', 0, dev, subsections, place);
  return {
    instance: 0, sectionId: 0, version: 0, offset: 0,
    countOffset: base + COUNT_OFFSET, count, ids, values, arraysEnd: base + arraysEnd,
    // Copies, so the look-ahead window is not kept alive by a report.
    subsections: subsections.map((s) => ({ ...s, offset: base + s.offset, content: Buffer.from(buf.subarray(s.offset + 6 + s.name.length, s.offset + s.size)) })),
    bodyEnd: base + end,
  };
}

/** Steps over subsections of `parent` with QEMU's peek rule; sizes from the built-in table or the vmdesc. */
function readSubsections(buf: Buffer, pos: number, parent: string, depth: number, dev: VmdescDevice | null, acc: SubsectionRecord[], place: (o: number) => ErrorPlace): number {
  for (;;) {
    if (pos + 2 > buf.length) {
      // The footer (5 bytes) must follow anyway; ask for more if it is not here.
      if (pos + 5 > buf.length) throw new TruncatedError(pos + 5 - buf.length, place(buf.length));
      return pos;
    }
    if (buf[pos] !== 0x05) return pos;
    const n = buf[pos + 1]!;
    if (n < parent.length + 1) return pos;
    if (pos + 2 + n + 4 > buf.length) throw new TruncatedError(pos + 6 + n - buf.length, place(buf.length));
    const name = buf.toString('latin1', pos + 2, pos + 2 + n);
    if (!name.startsWith(parent)) return pos;
    const version = buf.readUInt32BE(pos + 2 + n);
    const bodyAt = pos + 6 + n;
    let bodyEnd: number;
    const known = CPU_SUBSECTION_SIZES[name];
    const rec: SubsectionRecord = { name, version, offset: pos, size: 0, depth, content: EMPTY };
    acc.push(rec);
    if (known !== undefined) {
      bodyEnd = bodyAt + known;
      if (bodyEnd > buf.length) throw new TruncatedError(bodyEnd - buf.length, place(buf.length));
      bodyEnd = readSubsections(buf, bodyEnd, name, depth + 1, dev, acc, place);
    } else {
      const sub = dev && findSubsection(dev, name);
      if (!sub) throw new UnsupportedError('UNSUPPORTED', `subsection '${name}' of unknown layout (no vmdesc describes it)`, place(pos), { actual: name });
      const w = walkDevice({ ...sub, name, instance_id: 0 } as VmdescDevice, buf, bodyAt, place(0).offset, place(pos).section);
      bodyEnd = w.end;
    }
    rec.size = bodyEnd - pos;
    pos = bodyEnd;
  }
}

function findSubsection(body: { subsections?: { vmsd_name: string; subsections?: unknown[] }[] }, name: string): VmdescDevice | null {
  for (const s of body.subsections ?? []) {
    if (s.vmsd_name === name) return s as unknown as VmdescDevice;
    const deeper = findSubsection(s as never, name);
    if (deeper) return deeper;
  }
  return null;
}

/** Notes when the vmdesc's cpreg array records disagree with the binary (QEMU ignores the vmdesc on load). */
function checkCpuAgainstVmdesc(cpu: CpuSection, dev: VmdescDevice, warnings: string[]): void {
  const f = (dev.fields ?? []).find((x) => x.name === 'cpreg_vmstate_indexes');
  const described = f ? (f.array_len ?? 1) : 0;
  if (described !== cpu.count) {
    warnings.push(`vmdesc describes ${described} cpregs for cpu instance ${cpu.instance}, the section holds ${cpu.count} (stale vmdesc)`);
  }
}

/**
 * Without a vmdesc a non-cpu body has no known length: take the first footer
 * (0x7e + section id) that is followed by a well-formed next item. A heuristic
 * (device bytes can look like a footer), used only when no vmdesc exists.
 */
function scanOpaqueBody(buf: Buffer, base: number, sid: number, label: string, live: ReadonlySet<number>): number {
  for (let p = buf.indexOf(Item.SECTION_FOOTER); p >= 0; p = buf.indexOf(Item.SECTION_FOOTER, p + 1)) {
    if (p + 6 > buf.length) break;
    if (buf.readUInt32BE(p + 1) !== sid) continue;
    if (plausibleItem(buf, p + 5, live)) return p;
  }
  throw new TruncatedError(1, { offset: base + buf.length, section: label });
}

function plausibleItem(buf: Buffer, p: number, live: ReadonlySet<number>): boolean {
  if (p >= buf.length) return false;
  const t = buf[p]!;
  if (t === Item.EOF) return p + 1 === buf.length || buf[p + 1] === Item.VMDESCRIPTION;
  if (t === Item.SECTION_PART || t === Item.SECTION_END) return p + 5 <= buf.length && live.has(buf.readUInt32BE(p + 1));
  if (t === Item.COMMAND) {
    if (p + 5 > buf.length) return false;
    const spec = COMMANDS[buf.readUInt16BE(p + 1)];
    return !!spec && (spec.len < 0 || spec.len === buf.readUInt16BE(p + 3));
  }
  if (t !== Item.SECTION_FULL && t !== Item.SECTION_START) return false;
  if (p + 6 > buf.length) return false;
  const n = buf[p + 5]!;
  if (n === 0 || p + 6 + n + 8 > buf.length) return false;
  for (let i = 0; i < n; i++) {
    const c = buf[p + 6 + i]!;
    if (c < 0x20 || c > 0x7e) return false;
  }
  // Instance ids and versions are small numbers in practice.
  return buf.readUInt32BE(p + 6 + n) < 0x10000 && buf.readUInt32BE(p + 10 + n) < 0x10000;
}

/** Copies a cpu section with its edits applied; every other byte goes through unchanged. */
async function applyCpuEdit(
  r: StreamReader,
  out: StreamWriter,
  cpu: CpuSection,
  edit: CpuEdit,
  edited: Map<number, { count?: number; drop: string[] }>,
  deviceIndex: number,
  res: DecodedStream,
): Promise<void> {
  const mark = { count: undefined as number | undefined, drop: [] as string[] };
  if (edit.ids) {
    const values = edit.values ?? [];
    await r.pass(cpu.countOffset - r.offset);
    await r.drop(cpu.arraysEnd - cpu.countOffset);
    out.insert(encodeCpregArrays(edit.ids, values));
    mark.count = edit.ids.length;
  }
  for (const s of cpu.subsections) {
    if (!edit.dropSubsections?.includes(s.name)) continue;
    if (s.offset < r.offset) continue; // nested in one already dropped
    await r.pass(s.offset - r.offset);
    await r.drop(s.size);
    mark.drop.push(s.name);
  }
  await r.pass(cpu.bodyEnd - r.offset);
  if (mark.count !== undefined || mark.drop.length) {
    edited.set(deviceIndex, mark);
    res.edited.push(cpu.instance);
  }
}
