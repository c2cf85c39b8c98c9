/**
 * One-pass decoder of a whole migration stream: a {@link RecordWalker} walks the records and
 * the consumers below read what is inside them.
 *
 * RAM is walked exactly and streamed through; device sections (small) are decoded from a
 * bounded look-ahead window, laid out by the vmdesc when it is known, and the `cpu` sections by
 * their built-in layout (`cpu/`) in any case. With an output writer attached, every consumed
 * byte is copied to it unchanged except where an edit replaces a cpu section's arrays or
 * subsections, and the vmdesc.
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
import { StreamReader } from '../wire/reader.js';
import { Need, readAhead } from '../wire/lookahead.js';
import { BufferSource, DEFAULT_CHUNK, IterableSource, type ByteSource } from '../wire/source.js';
import type { StreamWriter } from '../wire/writer.js';
import { LimitError, StreamFormatError, UnsupportedError, UsageError } from '../errors.js';
import { checkCpuEdit } from '../cpu/edit-check.js';
import { CPU_SECTION_VERSION } from '../cpu/layout.js';
import { DEFAULT_MAX_CPREGS } from '../cpu/cpregs-decode.js';
import { decodeCpuBody } from '../cpu/section.js';
import { copyCpuEdited, type CpuEdit, type CpuEditDone } from '../cpu/edit.js';
import { containerOf, openInput, unwrapInput, type InputSource, type KnownContainerInfo } from '../container/open.js';

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
  /** With `deviceSubsections`: each device section other than `cpu` the vmdesc lays out, in stream order. */
  deviceSubsections?: DeviceSubsections[];
  /** What the stream was wrapped in (a libvirt save image), or null for a bare stream. */
  container: KnownContainerInfo | null;
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
    return await new StreamDecoder(source, opts).run();
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
  ) {
    this.limits = resolveLimits(opts.limits);
    this.r = new StreamReader(source);
    this.out = opts.output;
    if (this.out) this.r.setTap(this.out);
    this.res = {
      size: 0, version: 0, configuration: null, sections: [], iterative: [], commands: [], ram: null,
      cpus: [], vmdesc: null, eofOffset: -1, devices: [], warnings: [], edited: [], container: containerOf(source) ?? null,
    };
    if (opts.deviceSubsections) this.res.deviceSubsections = [];
  }

  async run(): Promise<DecodedStream> {
    const { source, r, res } = this;
    // On a seekable input the layout is read from the tail first, as QEMU's analyser does.
    if (source.size !== undefined && source.readAt) {
      this.layout = await vmdescFromTail(source as ByteSource & { size: number; readAt(p: number, l: number): Promise<Buffer> }, this.limits.maxVmdesc);
      this.layoutLooked = true;
    }
    this.walker = new RecordWalker(r, this.limits.maxVmdesc);
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
    r.setTap(null);
    return res;
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
        const spans = !!(this.opts.deviceSubsections || (this.out && this.opts.editDevice));
        const w = await readAhead(r, this.limits.maxBuffer, (buf, base): Need | { end: number; state: unknown; subsections?: DeviceSubsection[] } => {
          const walked = walkDeviceAhead(dev, buf, 0, base, label, { subsections: spans });
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
