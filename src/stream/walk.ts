/**
 * The record walk: a stream is a header, then items — configuration, section START / PART /
 * END / FULL (each closed by a footer), COMMAND — up to EOF, then an optional vmdesc. The
 * walker reads what frames each record and checks how records follow each other; what is
 * inside a record (a configuration, a RAM body, device state, the vmdesc JSON) is for the
 * consumer, which reads it from the reader between two steps of the walk.
 * @module
 */
import { COMMANDS, Item, MAGIC, STREAM_VERSION } from './constants.js';
import type { CommandRecord, IterativeSection, SectionRecord } from './records.js';
import type { StreamReader } from '../wire/reader.js';
import { StreamFormatError } from '../errors.js';
import { checkVmdescLength } from './vmdesc.js';

/** A START, PART, END or FULL item; `size` is known once the walk has read its footer. */
export interface SectionItem {
  kind: 'section';
  item: 'start' | 'part' | 'end' | 'full';
  /** Offset of the item's type byte. */
  offset: number;
  sectionId: number;
  name: string;
  instanceId: number;
  version: number;
  /** How errors name the section: `name (instance i, section s)`. */
  label: string;
  /** START/PART/END: every item of the section so far. */
  iterative?: IterativeSection;
  /** Bytes from the type byte through the footer (0 until the footer was read). */
  size: number;
}

/** One step of the walk. The consumer reads the record's content before asking for the next. */
export type StreamRecord =
  | { kind: 'header'; version: number }
  | { kind: 'configuration'; offset: number }
  | SectionItem
  | { kind: 'command'; record: CommandRecord }
  | { kind: 'eof'; offset: number }
  /** The vmdesc item: the consumer reads (or drops) its 5 + `length` bytes. */
  | { kind: 'vmdesc'; offset: number; length: number };

/**
 * Asked once, before the first PART or END item (where RAM pages begin), at that item's offset:
 * the offset to go on from instead (every iterative section then counts as ended there, and the
 * reader skips to it), or null to walk on.
 */
export type TailJump = (at: number) => Promise<number | null>;

/**
 * Walks the records of one stream from a reader at offset 0, or (`from: 'items'`) of its part
 * from a reader placed at an item: no header, no configuration, no iterative section running.
 */
export class RecordWalker {
  /** Iterative sections started and not ended, by section id. */
  readonly live = new Map<number, IterativeSection>();
  /** Every iterative section, in the order they started (their items merged). */
  readonly iterative: IterativeSection[] = [];
  /** FULL sections whose footer was read, in stream order. */
  readonly sections: SectionRecord[] = [];
  private configured = false;
  /** Asked before the first PART or END item; cleared once asked. */
  private jump: TailJump | null = null;

  constructor(
    private readonly r: StreamReader,
    /** Largest vmdesc accepted (the `maxVmdesc` limit). */
    private readonly maxVmdesc: number,
    private readonly from: 'header' | 'items' = 'header',
  ) {}

  /** Sets what is asked before the first PART or END item (see {@link TailJump}). */
  onFirstIterativeItem(jump: TailJump): void {
    this.jump = jump;
  }

  /** The records in stream order; each section's footer is read when its consumer is done. */
  async *records(): AsyncGenerator<StreamRecord, void, void> {
    const r = this.r;
    if (this.from === 'header') {
      r.section = 'header';
      await r.need(8);
      const magic = r.be32();
      if (magic !== MAGIC) throw new StreamFormatError('BAD_MAGIC', `not a migration stream: magic 0x${magic.toString(16).padStart(8, '0')}, expected 0x5145564d ("QEVM")`, r.place(0), { expected: MAGIC, actual: magic });
      const version = r.be32();
      if (version !== STREAM_VERSION) throw new StreamFormatError('BAD_VERSION', `unsupported stream version ${version}, expected ${STREAM_VERSION}`, r.place(4), { expected: STREAM_VERSION, actual: version });
      yield { kind: 'header', version };
    } else {
      this.configured = true;
    }

    for (;;) {
      const at = r.offset;
      r.section = 'top level';
      await r.need(1);
      const type = r.peekU8();
      if ((type === Item.SECTION_PART || type === Item.SECTION_END) && this.jump) {
        const jump = this.jump;
        this.jump = null;
        const to = await jump(at);
        if (to !== null) {
          await this.skipTo(at, to);
          continue;
        }
      }
      switch (type) {
        case Item.CONFIGURATION:
          if (this.configured || this.sections.length || this.live.size) throw new StreamFormatError('BAD_ITEM', 'configuration item after the first section', r.place(at));
          yield { kind: 'configuration', offset: at };
          this.configured = true;
          continue;
        case Item.SECTION_START:
        case Item.SECTION_FULL:
          yield* this.startOrFull(type, at);
          continue;
        case Item.SECTION_PART:
        case Item.SECTION_END:
          yield* this.partOrEnd(type, at);
          continue;
        case Item.COMMAND:
          yield { kind: 'command', record: await this.command(at) };
          continue;
        case Item.EOF:
          r.u8();
          yield { kind: 'eof', offset: at };
          yield* this.afterEof();
          return;
        default:
          throw new StreamFormatError('BAD_ITEM', `unknown item type 0x${type.toString(16).padStart(2, '0')}`, r.place(at), { actual: type });
      }
    }
  }

  private async *startOrFull(type: Item.SECTION_START | Item.SECTION_FULL, at: number): AsyncGenerator<SectionItem, void, void> {
    const r = this.r;
    r.section = 'section header';
    await r.need(6);
    r.u8();
    const sectionId = r.be32();
    const name = await r.str8();
    if (name.length === 0) throw new StreamFormatError('BAD_SECTION', 'empty section name', r.place(at + 5));
    await r.need(8);
    const instanceId = r.be32();
    const version = r.be32();
    const label = `${name} (instance ${instanceId}, section ${sectionId})`;
    r.section = label;
    const rec: SectionItem = { kind: 'section', item: 'full', offset: at, sectionId, name, instanceId, version, label, size: 0 };
    if (type === Item.SECTION_START) {
      if (this.live.has(sectionId)) throw new StreamFormatError('BAD_SECTION', `section id ${sectionId} started twice`, r.place(at));
      const it: IterativeSection = { sectionId, name, instanceId, version, offset: at, items: 1, bytes: 0 };
      this.live.set(sectionId, it);
      this.iterative.push(it);
      rec.item = 'start';
      rec.iterative = it;
      yield rec;
      await this.footer(sectionId, label);
      it.bytes += r.offset - at;
    } else {
      yield rec;
      await this.footer(sectionId, label);
      this.sections.push({ kind: 'full', sectionId, name, instanceId, version, offset: at, size: r.offset - at });
    }
    rec.size = r.offset - at;
  }

  private async *partOrEnd(type: Item.SECTION_PART | Item.SECTION_END, at: number): AsyncGenerator<SectionItem, void, void> {
    const r = this.r;
    await r.need(5);
    r.u8();
    const sectionId = r.be32();
    const it = this.live.get(sectionId);
    if (!it) throw new StreamFormatError('BAD_SECTION', `section ${type === Item.SECTION_PART ? 'PART' : 'END'} for unknown section id ${sectionId}`, r.place(at + 1), { actual: sectionId });
    const label = `${it.name} (instance ${it.instanceId}, section ${sectionId})`;
    r.section = label;
    if (it.items !== null) it.items++;
    const rec: SectionItem = {
      kind: 'section', item: type === Item.SECTION_PART ? 'part' : 'end', offset: at,
      sectionId, name: it.name, instanceId: it.instanceId, version: it.version, label, iterative: it, size: 0,
    };
    yield rec;
    await this.footer(sectionId, label);
    it.bytes += r.offset - at;
    rec.size = r.offset - at;
    if (type === Item.SECTION_END) this.live.delete(sectionId);
  }

  private async command(at: number): Promise<CommandRecord> {
    const r = this.r;
    r.section = 'command';
    await r.need(5);
    r.u8();
    const cmd = r.be16();
    const len = r.be16();
    const spec = COMMANDS[cmd];
    if (!spec) throw new StreamFormatError('BAD_ITEM', `unknown command ${cmd}`, r.place(at + 1), { actual: cmd });
    if (spec.len >= 0 && len !== spec.len) throw new StreamFormatError('BAD_ITEM', `command ${spec.name} with bad length ${len}, expected ${spec.len}`, r.place(at + 3), { expected: spec.len, actual: len });
    await r.pass(len);
    return { offset: at, command: cmd, name: spec.name, length: len };
  }

  /**
   * Goes on at `to` instead of `at`: every iterative section running ends there, its items
   * uncounted (null) and its bytes the span from its START item.
   */
  private async skipTo(at: number, to: number): Promise<void> {
    if (to < at) throw new RangeError(`cannot go back from ${at} to ${to}`);
    for (const it of this.live.values()) {
      it.items = null;
      it.bytes = to - it.offset;
    }
    this.live.clear();
    await this.r.skip(to - at);
  }

  /** After EOF: the optional vmdesc, then nothing. */
  private async *afterEof(): AsyncGenerator<StreamRecord, void, void> {
    const r = this.r;
    r.section = 'vmdesc';
    if (await r.atEnd()) return;
    const at = r.offset;
    const t = r.peekU8();
    if (t !== Item.VMDESCRIPTION) throw new StreamFormatError('BAD_ITEM', `byte 0x${t.toString(16)} after EOF, expected the vmdesc (0x06) or the end`, r.place(at), { actual: t });
    await r.need(5);
    const length = r.peek(5).readUInt32BE(1);
    checkVmdescLength(length, at + 1, this.maxVmdesc);
    yield { kind: 'vmdesc', offset: at, length };
    if (!(await r.atEnd())) throw new StreamFormatError('BAD_ITEM', 'data after the vmdesc', r.place(r.offset));
  }

  /** The footer closing section `sid`: 0x7e and the section id again. */
  private async footer(sid: number, label: string): Promise<void> {
    const r = this.r;
    r.section = label;
    await r.need(5);
    const at = r.offset;
    const t = r.u8();
    const id = r.be32();
    if (t !== Item.SECTION_FOOTER) throw new StreamFormatError('BAD_FOOTER', `missing section footer: byte 0x${t.toString(16)} instead of 0x7e`, r.place(at), { expected: 0x7e, actual: t });
    if (id !== sid) throw new StreamFormatError('BAD_FOOTER', `mismatched section id in footer: ${id}, expected ${sid}`, r.place(at + 1), { expected: sid, actual: id });
  }
}
