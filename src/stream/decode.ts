/**
 * One-pass decoder of a whole migration stream: a {@link RecordWalker} walks the records and
 * the consumers below read what is inside them.
 *
 * A seekable input with a vmdesc is read tail-first: header, configuration and the RAM block
 * list from the head, then — once the place where the device state starts is proven
 * (`tail.ts`, {@link StreamDecoder.tailJump}) — the device sections from there, the RAM pages
 * between never read. Anything else (a pipe, no vmdesc, any doubt, or `fullWalk`) is walked
 * whole: RAM exactly, streamed through. Device sections (small) are decoded from a bounded
 * look-ahead window, laid out by the vmdesc when it is known, and the `cpu` sections by their
 * built-in layout (`cpu/`) in any case. With an output writer attached, every consumed byte is
 * copied to it unchanged except where an edit replaces a cpu section's arrays or subsections,
 * and the vmdesc; bytes skipped unread reach it as a gap (only a writer that holds a copy of
 * the input takes one).
 * @module
 */
import type { CommandRecord, Configuration, CpuSection, IterativeSection, RamSummary, SectionRecord, VmdescRecord } from './records.js';
import { readConfiguration } from './configuration.js';
import { RamWalker } from './ram.js';
import { DEFAULT_MAX_VMDESC, encodeVmdesc, parseVmdesc, vmdescFromTail, vmdescIn, type FoundVmdesc, type Vmdesc, type VmdescDevice } from './vmdesc.js';
import { patchedVmdesc } from './vmdesc-patch.js';
import { walkDeviceAhead } from './device-walk.js';
import { copyDeviceEdited, type DeviceEdit, type DeviceEditDone, type DeviceSubsection, type DeviceSubsections } from './device-subsections.js';
import { checkCpuAgainstVmdesc, describedSubsections, pickDevice, scanOpaqueBody } from './devices.js';
import { RecordWalker, type SectionItem } from './walk.js';
import { isFullHeaderOf, planTail, ramEndBytes } from './tail.js';
import { StreamReader } from '../wire/reader.js';
import { Need, readAhead } from '../wire/lookahead.js';
import { BufferSource, DEFAULT_CHUNK, IterableSource, type ByteSource } from '../wire/source.js';
import type { StreamWriter } from '../wire/writer.js';
import { isVmstateError, LimitError, StreamFormatError, UnsupportedError, UsageError } from '../errors.js';
import { checkCpuEdit } from '../cpu/edit-check.js';
import { CPU_SECTION_VERSION } from '../cpu/layout.js';
import { DEFAULT_MAX_CPREGS } from '../cpu/cpregs-decode.js';
import { decodeCpuBody } from '../cpu/section.js';
import { copyCpuEdited, type CpuEdit, type CpuEditDone } from '../cpu/edit.js';
import { containerOf, openInput, unwrapInput, type InputSource, type KnownContainerInfo } from '../container/open.js';
import { currentInputObserver } from '../container/observer.js';

export type { CpuEdit } from '../cpu/edit.js';

/** Caps on sizes read from the input; every one is named in the error it causes. */
export interface DecodeLimits {
  /** Bytes of look-ahead for device sections and, on a pipe, the device-state part. */
  maxBuffer: number;
  /** Largest cpreg count accepted. */
  maxCpregs: number;
  /** Largest vmdesc JSON accepted. */
  maxVmdesc: number;
}

/**
 * The default caps: 64 MiB of look-ahead, 65,536 cpregs, a 64 MiB vmdesc.
 *
 * @example
 * ```ts
 * import { decodeStream, DEFAULT_LIMITS } from 'vmstate';
 * // A stream whose device state needs more look-ahead than the default:
 * const s = await decodeStream('samples/qemu-7.2/virt-7.2_max.mig', { limits: { maxBuffer: 4 * DEFAULT_LIMITS.maxBuffer } });
 * console.log(DEFAULT_LIMITS.maxCpregs, s.cpus.length);
 * // prints: 65536 2
 * ```
 */
export const DEFAULT_LIMITS: Readonly<DecodeLimits> = { maxBuffer: 64 << 20, maxCpregs: DEFAULT_MAX_CPREGS, maxVmdesc: DEFAULT_MAX_VMDESC };

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
      throw new UsageError(`limit ${key} must be a whole number of at least 0, got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`, { reason: 'bad-limit', limit: key });
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
   * Called for each cpu section (with its vmdesc entry, if any) before its bytes are copied;
   * returns edits or null. An edit is
   * checked before anything of it is written: 64-bit ids and values, as many of each, ids
   * ascending without repeats (a `BAD_EDIT` UsageError otherwise).
   */
  editCpu?: (cpu: CpuSection, layout: VmdescDevice | null) => CpuEdit | null;
  /**
   * Called for each device section other than `cpu` that the vmdesc lays out, with its
   * subsections, before its bytes are copied; returns the subsections to remove or null.
   */
  editDevice?: (device: DeviceSubsections) => DeviceEdit | null;
  /** List the subsections of every device section the vmdesc lays out ({@link DecodedStream.deviceSubsections}). */
  deviceSubsections?: boolean;
  /** Accept edits whose ids are out of order or repeated (for making malformed test streams). */
  unorderedEdits?: boolean;
  /** Keep the decoded state of every device section (for `dump`). */
  collectState?: boolean;
  /** Called now and then with the current input offset. */
  onProgress?: (offset: number) => void;
  /**
   * Walk every record of the whole stream (RAM records counted, mapped-ram bitmaps read) even
   * where the device state could be read from the tail.
   */
  fullWalk?: boolean;
}

/**
 * How a stream was read: tail-first (the RAM between `from` and `to` skipped unread, once the
 * device state was proven to start at `to`), or whole. A whole walk says why it was not
 * tail-first; `doubt` is true when it could have been but the tail was not proven (the reason
 * says what failed), false for the plain cases (asked for, a pipe, no vmdesc, an output that
 * takes every byte).
 */
export type WalkInfo = { mode: 'tail-first'; from: number; to: number } | { mode: 'full'; reason: string; doubt: boolean };

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
  /** With `deviceSubsections`: each device section other than `cpu` the vmdesc lays out, in stream order. */
  deviceSubsections?: DeviceSubsections[];
  /** What the stream was wrapped in (a libvirt save image), or null for a bare stream. */
  container: KnownContainerInfo | null;
  /** Whether the RAM was walked or skipped (read tail-first), and why. */
  walk: WalkInfo;
}

/**
 * What {@link decodeStream} reads: a path (`-` = standard input), the bytes themselves, a
 * {@link ByteSource}, or any async iterable of chunks (a pipe, `process.stdin`).
 */
export type StreamInput = string | Uint8Array | ByteSource | AsyncIterable<Uint8Array>;

/** A ByteSource, as opposed to an async iterable (a Node stream has `read` and `close` too, with other meanings). */
function isByteSource(x: object): x is ByteSource {
  return !(Symbol.asyncIterator in x) && typeof (x as ByteSource).read === 'function' && typeof (x as ByteSource).close === 'function';
}

/**
 * The input as a source of the bare stream, unwrapped from its container. A source that was
 * unwrapped already (it carries `container`) is taken as it is.
 */
async function openStream(input: StreamInput): Promise<InputSource> {
  // Anything that is not an object is taken for a path (a bad one is an IO error naming it).
  if (typeof input !== 'object' || input === null) return openInput(input as string);
  if (input instanceof Uint8Array) return unwrapInput(new BufferSource(input, [DEFAULT_CHUNK], true));
  if (!isByteSource(input)) return unwrapInput(new IterableSource(input));
  return (input as InputSource).container ? input : unwrapInput(input);
}

/**
 * Decodes a whole migration stream in one pass (and, with `output`, copies it with edits): a
 * bare stream (`migrate "exec:cat > f.mig"`) or one in a libvirt save image, from a file, a
 * pipe, or memory. RAM is walked and streamed through, never held.
 *
 * @example
 * ```ts
 * import { decodeStream } from 'vmstate';
 * const s = await decodeStream('samples/qemu-7.2/virt-7.2_max.mig');
 * console.log(s.configuration?.machine, s.cpus.length, s.cpus[0].count);
 * // prints: virt-7.2 2 304
 * ```
 */
export async function decodeStream(input: StreamInput, opts: DecodeOptions = {}): Promise<DecodedStream> {
  const source = await openStream(input);
  try {
    const res = await new StreamDecoder(source, opts).run();
    const w = res.walk;
    if (w.mode === 'full' && w.doubt) currentInputObserver()?.noted?.(`${typeof input === 'string' ? input : 'the input'}: read the whole stream, not only its tail: ${w.reason}`);
    return res;
  } finally {
    // What was opened here is closed here. A source passed in stays the caller's, unless a
    // container was found around it here: the unwrapping source (a decompressor) owns it then.
    const given = typeof input === 'object' && input !== null && !(input instanceof Uint8Array) && isByteSource(input);
    if (!given || (source !== input && source.container)) await source.close();
  }
}

/** The consumers of one decode: what to do with each record the walk finds. */
class StreamDecoder {
  private readonly r: StreamReader;
  private readonly limits: DecodeLimits;
  private readonly out: StreamWriter | undefined;
  private readonly res: DecodedStream;
  /** The vmdesc, once known (from the tail of a seekable input, or held ahead on a pipe). */
  private layout: FoundVmdesc | null = null;
  private layoutLooked = false;
  private ram: RamWalker | null = null;
  private postcopy = false;
  /** FULL sections seen so far (the vmdesc lists them in this order). */
  private deviceIndex = 0;
  /** What edits changed, by device index, for the vmdesc. */
  private readonly edits = new Map<number, CpuEditDone>();
  private readonly deviceEdits = new Map<number, DeviceEditDone>();
  private walker!: RecordWalker;

  constructor(
    private readonly source: InputSource,
    private readonly opts: DecodeOptions,
    /** Decode only the part from an item on (the proof of a tail), knowing the vmdesc and the sections before. */
    private readonly part?: { offset: number; layout: FoundVmdesc; deviceIndex: number },
  ) {
    this.limits = resolveLimits(opts.limits);
    this.r = new StreamReader(source);
    this.out = opts.output;
    if (this.out) this.r.setTap(this.out);
    this.res = {
      size: 0, version: 0, configuration: null, sections: [], iterative: [], commands: [], ram: null,
      cpus: [], vmdesc: null, eofOffset: -1, devices: [], warnings: [], edited: [], container: containerOf(source) ?? null,
      walk: { mode: 'full', reason: opts.fullWalk ? 'a full walk was asked for' : 'the input is not seekable', doubt: false },
    };
    if (opts.deviceSubsections) this.res.deviceSubsections = [];
  }

  async run(): Promise<DecodedStream> {
    const { source, r, res, part } = this;
    if (part) {
      r.offset = part.offset;
      this.layout = part.layout;
      this.layoutLooked = true;
      this.deviceIndex = part.deviceIndex;
    } else if (source.size !== undefined && source.readAt) {
      // On a seekable input the layout is read from the tail first, as QEMU's analyser does.
      this.layout = await vmdescFromTail(source as ByteSource & { size: number; readAt(p: number, l: number): Promise<Buffer> }, this.limits.maxVmdesc);
      this.layoutLooked = true;
    }
    this.walker = new RecordWalker(r, this.limits.maxVmdesc, part ? 'items' : 'header');
    if (!part && !this.opts.fullWalk) this.walker.onFirstIterativeItem((at) => this.tailJump(at));
    res.sections = this.walker.sections;
    res.iterative = this.walker.iterative;
    for await (const rec of this.walker.records()) {
      switch (rec.kind) {
        case 'header':
          res.version = rec.version;
          break;
        case 'configuration':
          this.opts.onProgress?.(rec.offset);
          res.configuration = await readConfiguration(r);
          this.checkImageFormat(res.configuration.capabilities);
          break;
        case 'section':
          this.opts.onProgress?.(rec.offset);
          if (rec.item === 'full') await this.device(rec);
          else await this.iterative(rec.iterative!);
          break;
        case 'command':
          this.opts.onProgress?.(rec.record.offset);
          this.command(rec.record);
          break;
        case 'eof':
          this.opts.onProgress?.(rec.offset);
          res.eofOffset = rec.offset;
          break;
        case 'vmdesc':
          await this.vmdesc(rec.offset, rec.length);
          break;
      }
    }
    res.size = r.offset;
    res.ram = this.ram?.summary ?? null;
    if (res.ram && res.walk.mode === 'tail-first') res.ram.walked = false;
    r.setTap(null);
    return res;
  }

  /** A whole walk after all, and why. */
  private walkWhole(reason: string, doubt: boolean): null {
    this.res.walk = { mode: 'full', reason, doubt };
    return null;
  }

  /**
   * At the first PART or END item (offset `at`: RAM pages begin), where the device state starts,
   * if that can be proven without reading the RAM; else null (the walk goes on through the RAM).
   * The vmdesc sizes every section after the RAM (`tail.ts`), which places the first of them; the
   * place is trusted only if the RAM section's EOS record and footer lie right before it, the
   * section header there is the one the vmdesc lists, and a decode of everything from there
   * (every section, EOF, the vmdesc) ends exactly where the input does.
   */
  private async tailJump(at: number): Promise<number | null> {
    const { r, source, layout, limits } = this;
    if (!r.canSkip) return this.walkWhole(this.out ? 'the output is written from every byte read' : 'the input is not seekable', false);
    if (!layout) return this.walkWhole('the stream has no vmdesc', false);
    const running = [...this.walker.live.values()];
    if (running.length !== 1 || running[0]!.name !== 'ram') return this.walkWhole(`iterative sections running: ${running.map((i) => i.name).join(', ') || 'none'}`, true);
    const plan = planTail(layout.json, this.deviceIndex, layout.at.offset - 1);
    if ('reason' in plan) return this.walkWhole(plan.reason, true);
    const to = plan.offset;
    const end = ramEndBytes(running[0]!.sectionId);
    if (to - end.length < at) return this.walkWhole(`the device state the vmdesc describes would start at ${to}, before the RAM pages end`, true);
    const size = source.size!;
    if (size - to > limits.maxBuffer) return this.walkWhole(`the device state (${size - to} bytes) is larger than the look-ahead limit (maxBuffer)`, true);
    // The device state is read once to be proven; usually it lies in the tail read for the vmdesc.
    const from = to - end.length;
    const held = layout.tail && from >= layout.tail.offset ? layout.tail.bytes.subarray(from - layout.tail.offset) : null;
    const tail = held ?? (await source.readAt!(from, size - from));
    const first = layout.json.devices[this.deviceIndex]!;
    if (!tail.subarray(0, end.length).equals(end)) return this.walkWhole(`no RAM end (EOS record and footer of section ${running[0]!.sectionId}) before ${to}, where the vmdesc places the device state`, true);
    if (!isFullHeaderOf(tail, end.length, first)) return this.walkWhole(`the section at ${to} is not '${first.name}' instance ${first.instance_id}, which the vmdesc places there`, true);
    try {
      const part = { offset: to, layout, deviceIndex: this.deviceIndex };
      await new StreamDecoder(new BufferSource(tail.subarray(end.length)), { limits: this.opts.limits }, part).run();
    } catch (e) {
      if (!isVmstateError(e)) throw e;
      return this.walkWhole(`the device state from ${to} does not decode: ${e.message}`, true);
    }
    this.res.walk = { mode: 'tail-first', from: at, to };
    return to;
  }

  /**
   * libvirt restores a `sparse` image with the mapped-ram capability and every other format
   * without it; QEMU refuses a stream whose capability differs (`Capability mapped-ram is on, but
   * received capability is off`, and the reverse).
   */
  private checkImageFormat(capabilities: string[]): void {
    const c = this.res.container;
    if (c?.kind !== 'libvirt-save') return;
    const sparse = c.header.format === 'sparse';
    if (sparse === capabilities.includes('mapped-ram')) return;
    this.res.warnings.push(
      `libvirt ${c.header.format} image whose stream ${sparse ? 'does not use' : 'uses'} mapped-ram: libvirt restores ${c.header.format} images ${sparse ? 'with' : 'without'} the mapped-ram capability, and QEMU refuses the stream (Capability mapped-ram is ${sparse ? 'on' : 'off'}, but received capability is ${sparse ? 'off' : 'on'})`,
    );
  }

  /** A START/PART/END body: RAM is the only iterative section vmstate reads. */
  private async iterative(it: IterativeSection): Promise<void> {
    const r = this.r;
    if (it.name !== 'ram') throw new UnsupportedError(`iterative section '${it.name}' is not supported`, r.place(it.offset));
    if (!this.ram) {
      const caps = this.res.configuration?.capabilities ?? [];
      this.ram = new RamWalker(1 << (this.res.configuration?.pageBits ?? 10), {
        ignoreShared: caps.includes('x-ignore-shared'),
        mappedRam: caps.includes('mapped-ram'),
        postcopy: this.postcopy,
        fileOffset: this.res.container?.streamOffset ?? 0,
        // A stream read tail-first reads no RAM: not the bitmaps either (the full walk does).
        mappedRamBitmaps: !!this.opts.fullWalk || !this.layout || !this.r.canSkip,
      });
    }
    await this.ram.walkBody(r);
  }

  private command(c: CommandRecord): void {
    if (c.name === 'PACKAGED') throw new UnsupportedError('postcopy PACKAGED device state is not supported', this.r.place(c.offset));
    if (c.name === 'POSTCOPY_ADVISE' && c.length === 16) this.postcopy = true;
    this.res.commands.push(c);
  }

  /** The layout arrives last on a pipe: hold the (small) rest of the input until it does. */
  private async layoutOnPipe(): Promise<void> {
    if (this.layoutLooked) return;
    this.layoutLooked = true;
    const { r, limits } = this;
    const start = r.offset;
    if (await r.ensure(limits.maxBuffer + 1)) {
      throw new LimitError('device-state part of the stream', r.available, limits.maxBuffer, 'maxBuffer', r.place(start));
    }
    this.layout = vmdescIn(r.peek(r.available), start, limits.maxVmdesc);
  }

  /** A FULL section body: a cpu section by its built-in layout, any other by the vmdesc (or opaque). */
  private async device(rec: SectionItem): Promise<void> {
    const { r, res } = this;
    const { offset: at, name, instanceId, version, sectionId: sid, label } = rec;
    if (name === 'ram') throw new StreamFormatError('BAD_SECTION', "'ram' sent as a FULL section", r.place(at));
    if (!this.layout && this.source.size === undefined) await this.layoutOnPipe();
    const k = this.deviceIndex++;
    const dev = this.layout ? pickDevice(this.layout.json, k, name, instanceId, r.place(at)) : null;
    let state: unknown = null;
    if (name === 'cpu') {
      if (version !== CPU_SECTION_VERSION) throw new StreamFormatError('BAD_SECTION', `cpu section version ${version}, expected ${CPU_SECTION_VERSION}`, r.place(at + 10 + name.length), { expected: CPU_SECTION_VERSION, actual: version });
      const header = { instance: instanceId, sectionId: sid, version, offset: at };
      const cpu = await readAhead(r, this.limits.maxBuffer, (buf, base) => decodeCpuBody(buf, base, header, label, this.limits.maxCpregs, describedSubsections(dev, base, label)));
      res.cpus.push(cpu);
      if (dev) checkCpuAgainstVmdesc(cpu, dev, res.warnings);
      if (this.opts.collectState && dev) state = await this.walkState(dev, label);
      const edit = this.out && this.opts.editCpu ? this.opts.editCpu(cpu, dev) : null;
      if (edit) checkCpuEdit(edit, cpu.instance, this.limits.maxCpregs, this.opts.unorderedEdits);
      const done = edit ? await copyCpuEdited(r, this.out!, cpu, edit) : null;
      if (done) {
        this.edits.set(k, done);
        res.edited.push(cpu.instance);
      }
      await r.pass(cpu.bodyEnd - r.offset);
    } else {
      const bodyStart = r.offset;
      let end: number;
      if (dev) {
        const measureOnly = !this.opts.collectState;
        const spans = !!(this.opts.deviceSubsections || (this.out && this.opts.editDevice));
        const w = await readAhead(r, this.limits.maxBuffer, (buf, base): Need | { end: number; state: unknown; subsections?: DeviceSubsection[] } => {
          const walked = walkDeviceAhead(dev, buf, 0, base, label, { subsections: spans, measureOnly });
          if (walked instanceof Need) return walked;
          // Offsets made absolute and bodies copied while the window is at hand.
          const subsections = walked.subsections?.map((x) => ({ ...x, offset: base + x.offset, content: Buffer.from(buf.subarray(x.offset + 6 + x.name.length, x.offset + x.size)) }));
          return { end: walked.end, state: walked.state, subsections };
        });
        end = bodyStart + w.end;
        state = w.state;
        if (w.subsections) {
          const found: DeviceSubsections = { index: k, name, instanceId, offset: at, subsections: w.subsections };
          res.deviceSubsections?.push(found);
          const edit = this.out && this.opts.editDevice ? this.opts.editDevice(found) : null;
          const done = edit?.drop.length ? await copyDeviceEdited(r, end, edit) : null;
          if (done) this.deviceEdits.set(k, done);
        }
      } else {
        const live = new Set(this.walker.live.keys());
        end = bodyStart + (await readAhead(r, this.limits.maxBuffer, (buf) => scanOpaqueBody(buf, sid, live)));
      }
      await r.pass(end - r.offset);
    }
    if (this.opts.collectState) res.devices.push({ offset: at, sectionId: sid, name, instanceId, version, state });
  }

  private async walkState(dev: VmdescDevice, label: string): Promise<unknown> {
    const w = await readAhead(this.r, this.limits.maxBuffer, (buf, base) => walkDeviceAhead(dev, buf, 0, base, label));
    return w.state;
  }

  /** The vmdesc item after EOF: copied as it is, or patched for the edits made. */
  private async vmdesc(at: number, len: number): Promise<void> {
    const { r, out, res } = this;
    // Parsed already (from the tail, or from the held rest of a pipe): the bytes need not be
    // held again, only passed on (or replaced).
    let parsed = this.layout && this.layout.at.offset === at ? this.layout.json : null;
    if (!parsed) {
      await r.need(5 + len);
      parsed = parseVmdesc(r.peek(5 + len).subarray(5), at + 5, { maxVmdesc: this.limits.maxVmdesc });
    }
    res.vmdesc = { offset: at, length: len, json: parsed };
    if (out && (this.edits.size || this.deviceEdits.size)) {
      const patched = patchedVmdesc(parsed, this.edits, this.deviceEdits);
      // Dropped a piece at a time: a large vmdesc is never held twice.
      for (let left = 5 + len; left > 0; ) {
        const k = Math.min(left, DROP_PIECE);
        await r.drop(k);
        left -= k;
      }
      out.insert(encodeVmdesc(patched));
    } else {
      await r.pass(5 + len);
    }
  }
}

/** How much of a replaced vmdesc is dropped from the reader at a time. */
const DROP_PIECE = 64 << 10;
