/**
 * Broken streams with the exact error each must give: code, offset, section
 * and a fragment of the message, from a file and from a pipe. One group per
 * mutation kind of the structural mutator (`mutate`), then one test per defect
 * the fuzzing found.
 *
 * All cases edit `samples/qemu-7.2/virt-7.2_max.mig` (516,679 bytes). Its
 * landmarks, as decoded (and cross-checked below):
 *   8        configuration item (53 bytes; `configuration/target-page-bits` at 21)
 *   61       RAM START (section 2); its footer at 242; MEM_SIZE word at 78
 *   86       block list: 'mach-virt.ram' (str8 at 86, be64 length at 100), …, '/rom@etc/acpi/rsdp' at 207
 *   252      first page record (PAGE, block 'mach-virt.ram' named)
 *   467735   first FULL section ('timer', section 0)
 *   467904   cpu 0 (section 7): count at 468489 (304 registers), arrays end 473357,
 *            subsections cpu/vfp 473422, cpu/sve 474011, cpu/irq-line-state 478152, footer 478180
 *   478222   cpu 1 (section 9): count at 478807
 *   499468   EOF;  499469 vmdesc (0x06, be32 17205, JSON from 499474 to the end)
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeStream, type DecodedStream } from '../../src/stream/decode.js';
import { BufferSource } from '../../src/wire/source.js';
import { VmstateError, type ErrorCode } from '../../src/errors.js';
import { samplePaths, sampleBytes } from '../helpers/samples.js';
import { minimalCpregs } from '../helpers/minimal-cpregs.js';

const data = sampleBytes(samplePaths().find((s) => s.name === 'qemu-7.2/virt-7.2_max')!.path);
const VM = 499469;
const JSON_AT = VM + 5;
const json = data.subarray(JSON_AT).toString('latin1');
const CPU0 = { offset: 467904, count: 468489, vfp: 473422, footer: 478180, label: 'cpu (instance 0, section 7)' };
const CPU1 = { count: 478807, label: 'cpu (instance 1, section 9)' };
const RAM = 'ram (instance 0, section 2)';
const FIRST_PAGE = 252;
const TIMER = 467735;

interface Expected {
  code: ErrorCode;
  offset: number;
  section: string;
  message: string | RegExp;
}

/** A copy of the sample with `edit` applied. */
function edited(edit: (b: Buffer) => void): Buffer {
  const b = Buffer.from(data);
  edit(b);
  return b;
}

function inserted(at: number, bytes: number[] | Buffer): Buffer {
  return Buffer.concat([data.subarray(0, at), Buffer.from(bytes), data.subarray(at)]);
}

/** The sample with its vmdesc JSON replaced (length field set to match). */
function withJson(text: string): Buffer {
  const body = Buffer.from(text, 'latin1');
  const head = Buffer.from([0x06, 0, 0, 0, 0]);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([data.subarray(0, VM), head, body]);
}

async function decodeBoth(buf: Buffer): Promise<{ file: unknown; whole: unknown; pipe: unknown }> {
  const one = async (seekable: boolean, fullWalk = false): Promise<unknown> => {
    try {
      return await decodeStream(new BufferSource(buf, [65536], seekable), { fullWalk });
    } catch (e) {
      return e;
    }
  };
  return { file: await one(true), whole: await one(true, true), pipe: await one(false) };
}

/**
 * A file and a pipe decode of `buf`, walked whole, fail exactly as expected. Read tail-first
 * (the default for a file), the decode fails the same, or — when the damage lies in the RAM it
 * skipped — succeeds, having skipped exactly the span that holds it.
 */
async function fails(buf: Buffer, want: Expected): Promise<void> {
  const got = await decodeBoth(buf);
  for (const [mode, e] of Object.entries(got)) {
    if (mode === 'file' && !(e instanceof Error)) {
      const w = (e as DecodedStream).walk;
      expect(w.mode, mode).toBe('tail-first');
      if (w.mode === 'tail-first') expect(want.offset >= w.from && want.offset < w.to, `${want.offset} in [${w.from}, ${w.to})`).toBe(true);
      continue;
    }
    expect(e, mode).toBeInstanceOf(VmstateError);
    const err = e as VmstateError;
    expect({ mode, code: err.code, offset: err.place?.offset, section: err.place?.section }).toEqual({ mode, code: want.code, offset: want.offset, section: want.section });
    if (typeof want.message === 'string') expect(err.message, mode).toContain(want.message);
    else expect(err.message, mode).toMatch(want.message);
    expect(err.message.endsWith(`(at byte ${want.offset}, in ${want.section})`), mode).toBe(true);
  }
}

async function decodes(buf: Buffer): Promise<DecodedStream[]> {
  const got = await decodeBoth(buf);
  for (const [mode, r] of Object.entries(got)) expect(r, `${mode}: ${(r as Error).message}`).not.toBeInstanceOf(Error);
  return [got.file as DecodedStream, got.whole as DecodedStream, got.pipe as DecodedStream];
}

beforeAll(async () => {
  // The landmarks above are what the decoder and an independent reader see.
  const s = await decodeStream(new BufferSource(data, [1 << 20], true));
  expect(data.length).toBe(516679);
  expect(s.configuration).toMatchObject({ offset: 8, size: 53 });
  expect(s.iterative[0]).toMatchObject({ sectionId: 2, offset: 61 });
  expect(s.sections[0]).toMatchObject({ name: 'timer', sectionId: 0, offset: TIMER });
  expect(s.cpus.map((c) => [c.offset, c.sectionId, c.countOffset, c.count])).toEqual([[CPU0.offset, 7, CPU0.count, 304], [478222, 9, CPU1.count, 304]]);
  expect(s.cpus[0]!.subsections.map((x) => [x.name, x.offset])).toEqual([['cpu/vfp', CPU0.vfp], ['cpu/sve', 474011], ['cpu/irq-line-state', 478152]]);
  expect(s.cpus[0]!.bodyEnd).toBe(CPU0.footer);
  expect([s.eofOffset, s.vmdesc?.offset, s.vmdesc?.length]).toEqual([499468, VM, 17205]);
  expect(minimalCpregs(data).map((c) => c.offset + 585)).toEqual([CPU0.count, CPU1.count]);
  expect(data.readBigUInt64BE(FIRST_PAGE)).toBe(0x8n);
  expect(data.toString('latin1', FIRST_PAGE + 9, FIRST_PAGE + 22)).toBe('mach-virt.ram');
});

describe('truncate', () => {
  it('in the header', () => fails(data.subarray(0, 5), { code: 'TRUNCATED', offset: 5, section: 'header', message: 'stream ends early: 3 more byte(s) needed' }));
  it('in the configuration', () => fails(data.subarray(0, 30), { code: 'TRUNCATED', offset: 30, section: 'configuration', message: 'stream ends early' }));
  it('in RAM', () => fails(data.subarray(0, 200000), { code: 'TRUNCATED', offset: 200000, section: RAM, message: 'stream ends early' }));
  it('inside the cpu arrays', () => fails(data.subarray(0, CPU1.count + 100), { code: 'TRUNCATED', offset: CPU1.count + 100, section: CPU1.label, message: '4768 more byte(s) needed' }));
  it('inside the vmdesc', () => fails(data.subarray(0, VM + 1000), { code: 'TRUNCATED', offset: VM + 1000, section: 'vmdesc', message: '16210 more byte(s) needed' }));
  it('right after EOF is a stream without vmdesc (valid)', async () => {
    for (const s of await decodes(data.subarray(0, VM))) {
      expect(s.vmdesc).toBeNull();
      expect(s.cpus.map((c) => c.count)).toEqual([304, 304]);
    }
  });
});

describe('bitflip-device', () => {
  it('cpu/vfp subsection marker 0x05 -> 0x04 ends the cpu body early: its footer is missing', () =>
    fails(edited((b) => (b[CPU0.vfp]! ^= 1)), { code: 'BAD_FOOTER', offset: CPU0.vfp, section: CPU0.label, message: 'missing section footer: byte 0x4 instead of 0x7e' }));
});

describe('bitflip-vmdesc', () => {
  it('a quote of the JSON turned into #', () =>
    fails(edited((b) => (b[JSON_AT + 1]! ^= 1)), { code: 'BAD_VMDESC', offset: JSON_AT + 1, section: 'vmdesc', message: 'vmdesc JSON: expected a key string' }));
});

describe('cpreg-count', () => {
  const count = (v: number) => edited((b) => b.writeInt32BE(v, CPU0.count));
  it('-1', () => fails(count(-1), { code: 'BAD_SECTION', offset: CPU0.count, section: CPU0.label, message: 'negative cpreg count -1 (cpreg_vmstate_array_len)' }));
  it('-2^31', () => fails(count(-(2 ** 31)), { code: 'BAD_SECTION', offset: CPU0.count, section: CPU0.label, message: 'negative cpreg count -2147483648' }));
  it('2^31-1', () => fails(count(2 ** 31 - 1), { code: 'LIMIT', offset: CPU0.count, section: CPU0.label, message: 'cpreg count 2147483647 exceeds the cap 65536 (maxCpregs)' }));
  it('10^6', () => fails(count(1_000_000), { code: 'LIMIT', offset: CPU0.count, section: CPU0.label, message: 'cpreg count 1000000 exceeds the cap 65536 (maxCpregs)' }));
  it('count + 1: the arrays run 16 bytes into what follows; the footer is not where the body ends', () =>
    fails(count(305), { code: 'BAD_FOOTER', offset: 473438, section: CPU0.label, message: 'missing section footer: byte 0x0 instead of 0x7e' }));
  it('count - 1', () => fails(count(303), { code: 'BAD_FOOTER', offset: 473406, section: CPU0.label, message: 'missing section footer: byte 0xff instead of 0x7e' }));
});

describe('vmdesc-length', () => {
  const len = (v: number) => edited((b) => b.writeUInt32BE(v >>> 0, VM + 1));
  it('0', () => fails(len(0), { code: 'BAD_VMDESC', offset: JSON_AT, section: 'vmdesc', message: 'vmdesc JSON: unexpected end of JSON' }));
  it('2^32-1', () => fails(len(0xffffffff), { code: 'LIMIT', offset: VM + 1, section: 'vmdesc', message: 'vmdesc length 4294967295 exceeds the cap 67108864 (maxVmdesc)' }));
  it('one too many', () => fails(len(17206), { code: 'TRUNCATED', offset: data.length, section: 'vmdesc', message: '1 more byte(s) needed' }));
  it('three too many', () => fails(len(17208), { code: 'TRUNCATED', offset: data.length, section: 'vmdesc', message: '3 more byte(s) needed' }));
  it('one too few: the JSON lacks its last brace', () => fails(len(17204), { code: 'BAD_VMDESC', offset: data.length - 1, section: 'vmdesc', message: "vmdesc JSON: expected ',' or '}'" }));
});

describe('vmdesc-json', () => {
  it("a ':' replaced", () => {
    const p = json.indexOf(':', 100);
    expect(JSON_AT + p).toBe(499586);
    return fails(edited((b) => (b[JSON_AT + p] = 0x3b)), { code: 'BAD_VMDESC', offset: 499586, section: 'vmdesc', message: "vmdesc JSON: expected ':'" });
  });
  it('cut short with the length fixed', () => fails(withJson(json.slice(0, 5000)), { code: 'BAD_VMDESC', offset: JSON_AT + 5000, section: 'vmdesc', message: 'vmdesc JSON:' }));
  it('a key renamed', () => fails(withJson(json.replace('"fields": ', '"x": ')), { code: 'BAD_VMDESC', offset: 499506, section: 'vmdesc', message: `device 'timer': "fields" must be an array` }));
});

describe('junk-after-header', () => {
  it('0xff 01 02 03 at 8', () => fails(inserted(8, [0xff, 1, 2, 3]), { code: 'BAD_ITEM', offset: 8, section: 'top level', message: 'unknown item type 0xff' }));
});

describe('trailing-bytes', () => {
  it('one zero byte after the vmdesc', () => fails(Buffer.concat([data, Buffer.from([0])]), { code: 'BAD_ITEM', offset: data.length, section: 'vmdesc', message: 'data after the vmdesc' }));
});

describe('unknown-item', () => {
  it('section type 0x09', () => fails(edited((b) => (b[TIMER] = 0x09)), { code: 'BAD_ITEM', offset: TIMER, section: 'top level', message: 'unknown item type 0x09' }));
  it('a lone subsection marker at top level', () => fails(inserted(TIMER, [0x05]), { code: 'BAD_ITEM', offset: TIMER, section: 'top level', message: 'unknown item type 0x05' }));
});

describe('footer', () => {
  it('cpu footer with another section id', () =>
    fails(edited((b) => b.writeUInt32BE(8, CPU0.footer + 1)), { code: 'BAD_FOOTER', offset: CPU0.footer + 1, section: CPU0.label, message: 'mismatched section id in footer: 8, expected 7' }));
  it('cpu footer marker gone', () => fails(edited((b) => (b[CPU0.footer] = 0)), { code: 'BAD_FOOTER', offset: CPU0.footer, section: CPU0.label, message: 'missing section footer: byte 0x0 instead of 0x7e' }));
  it('RAM START footer with another section id', () =>
    fails(edited((b) => b.writeUInt32BE(3, 243)), { code: 'BAD_FOOTER', offset: 243, section: RAM, message: 'mismatched section id in footer: 3, expected 2' }));
});

describe('ram-flags', () => {
  const flags = (f: number) => edited((b) => b.writeUInt16BE((b.readUInt16BE(FIRST_PAGE + 6) & ~0xfff) | f, FIRST_PAGE + 6));
  it('FULL (0x001)', () => fails(flags(0x001), { code: 'BAD_RAM', offset: FIRST_PAGE, section: RAM, message: 'obsolete RAM_SAVE_FLAG_FULL record' }));
  it('HOOK (0x080)', () => fails(flags(0x080), { code: 'UNSUPPORTED', offset: FIRST_PAGE, section: RAM, message: 'RAM_SAVE_FLAG_HOOK' }));
  it('ZERO|FULL (0x003)', () => fails(flags(0x003), { code: 'BAD_RAM', offset: FIRST_PAGE, section: RAM, message: 'unknown combination of RAM flags 0x3' }));
  it('0x400, above every defined flag', () => fails(flags(0x400), { code: 'BAD_RAM', offset: FIRST_PAGE, section: RAM, message: 'unknown combination of RAM flags 0x400' }));
  it('COMPRESS_PAGE: page bytes read as a huge length', () => fails(flags(0x100), { code: 'BAD_RAM', offset: 274, section: RAM, message: 'compressed page length 3490578157 exceeds 4110' }));
  it('XBZRLE: page bytes read as the encoding flag', () => fails(flags(0x040), { code: 'BAD_RAM', offset: 274, section: RAM, message: 'XBZRLE encoding flag 208, expected 1' }));
});

describe('ram-block', () => {
  it('a block name changed: the first page names an unknown block', () =>
    fails(edited((b) => (b[87] = 0x4e)), { code: 'BAD_RAM', offset: FIRST_PAGE, section: RAM, message: "RAM page record for unknown block 'mach-virt.ram'" }));
  it('an empty block name', () => fails(edited((b) => (b[86] = 0)), { code: 'BAD_RAM', offset: 86, section: RAM, message: 'empty RAM block name' }));
  it('a block length one page longer: the list ends a block early, the last name read as a record', () =>
    fails(edited((b) => b.writeBigUInt64BE(b.readBigUInt64BE(120) + 4096n, 120)), { code: 'BAD_RAM', offset: 207, section: RAM, message: 'unknown combination of RAM flags 0x574' }));
  it('a page offset beyond its block', () =>
    fails(edited((b) => b.writeBigUInt64BE(0x4000000n | 0x8n, FIRST_PAGE)), { code: 'BAD_RAM', offset: FIRST_PAGE, section: RAM, message: "RAM page offset 0x4000000 beyond block 'mach-virt.ram' (length 0x4000000)" }));
});

describe('huge-length', () => {
  it('machine type length 2^32-1', () =>
    fails(edited((b) => b.writeUInt32BE(0xffffffff, 9)), { code: 'LIMIT', offset: 9, section: 'configuration', message: 'machine type length 4294967295 exceeds the cap 256' }));
  it('capability count 2^32-1', () => {
    const name = Buffer.from('configuration/capabilities', 'latin1');
    const sub = Buffer.concat([Buffer.from([0x05, name.length]), name, Buffer.from([0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff])]);
    return fails(inserted(61, sub), { code: 'LIMIT', offset: 93, section: 'configuration', message: 'capability count 4294967295 exceeds the cap 64' });
  });
  it('section name length 0', () => fails(edited((b) => (b[TIMER + 5] = 0)), { code: 'BAD_SECTION', offset: TIMER + 5, section: 'section header', message: 'empty section name' }));
  it('command payload length 65535 runs past the end', () =>
    fails(inserted(TIMER, [0x08, 0x00, 0x03, 0xff, 0xff]), { code: 'TRUNCATED', offset: data.length + 5, section: 'command', message: '16591 more byte(s) needed' }));
});

describe('section-header', () => {
  it('cpu version 23', () => fails(edited((b) => b.writeUInt32BE(23, CPU0.offset + 13)), { code: 'BAD_SECTION', offset: CPU0.offset + 13, section: CPU0.label, message: 'cpu section version 23, expected 22' }));
  it('cpu section id 99: the footer still says 7', () =>
    fails(edited((b) => b.writeUInt32BE(99, CPU0.offset + 1)), { code: 'BAD_FOOTER', offset: CPU0.footer + 1, section: 'cpu (instance 0, section 99)', message: 'mismatched section id in footer: 7, expected 99' }));
  it("idstr 'cpv': not what the vmdesc lists", () =>
    fails(edited((b) => (b[CPU0.offset + 8] = 0x76)), { code: 'BAD_VMDESC', offset: CPU0.offset, section: 'cpv (instance 0, section 7)', message: "vmdesc device #4 is 'cpu' instance 0, stream has 'cpv' instance 0" }));
});

describe('command', () => {
  it('unknown command 12', () => fails(inserted(TIMER, [0x08, 0, 12, 0, 0]), { code: 'BAD_ITEM', offset: TIMER + 1, section: 'command', message: 'unknown command 12' }));
  it('PING with 5 payload bytes', () => fails(inserted(TIMER, [0x08, 0, 2, 0, 5, 1, 2, 3, 4, 5]), { code: 'BAD_ITEM', offset: TIMER + 3, section: 'command', message: 'command PING with bad length 5, expected 4' }));
  it('PACKAGED', () => fails(inserted(TIMER, [0x08, 0, 7, 0, 4, 0, 0, 0, 0]), { code: 'UNSUPPORTED', offset: TIMER, section: 'command', message: 'postcopy PACKAGED device state is not supported' }));
  it('SWITCHOVER_START before the device state is valid', async () => {
    for (const s of await decodes(inserted(TIMER, [0x08, 0, 11, 0, 0]))) expect(s.commands.map((c) => [c.name, c.offset])).toEqual([['SWITCHOVER_START', TIMER]]);
  });
});

describe('cpu-body', () => {
  it('8 bytes taken out of the arrays (count unchanged)', () =>
    fails(Buffer.concat([data.subarray(0, CPU0.count + 84), data.subarray(CPU0.count + 92)]), { code: 'BAD_FOOTER', offset: CPU0.vfp, section: CPU0.label, message: 'missing section footer: byte 0x70 instead of 0x7e' }));
  it('a changed register value is still a valid stream', async () => {
    for (const s of await decodes(edited((b) => (b[CPU0.count + 4 + 8 * 304 + 7]! ^= 0xff)))) expect(s.cpus[0]!.count).toBe(304);
  });
});

describe('splice', () => {
  // The cut falls inside a ZERO record's word: the walk resumes out of step, on a word with no flag bits.
  it('4096 bytes of RAM records removed', () => fails(Buffer.concat([data.subarray(0, 300000), data.subarray(304096)]), { code: 'BAD_RAM', offset: 300004, section: RAM, message: 'unknown combination of RAM flags 0x0' }));
});

describe('defects found by fuzzing', () => {
  const halted = /\{"name": "halted", "type": "uint32", "size": 4\}/.exec(json)!;
  const HALTED = JSON_AT + halted.index;
  const replaceHalted = (rec: string) => withJson(json.slice(0, halted.index) + rec + json.slice(halted.index + halted[0].length));

  it('a vmdesc field of 2^53-1 zero-byte elements is refused, not walked forever', async () => {
    const t0 = performance.now();
    await fails(replaceHalted('{"name": "halted", "array_len": 9007199254740991, "type": "buffer", "size": 0}'), {
      code: 'BAD_VMDESC', offset: HALTED, section: 'vmdesc', message: "vmdesc of 'cpu_common' instance 0 describes more than 65536 elements of zero bytes (field 'halted')",
    });
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it('so is an array of 10^9 empty structs', () =>
    fails(replaceHalted('{"name": "halted", "array_len": 1000000000, "type": "struct", "struct": {"vmsd_name": "e", "version": 1, "fields": []}, "size": 0}'), {
      code: 'BAD_VMDESC', offset: HALTED, section: 'vmdesc', message: 'elements of zero bytes',
    }));

  it('a vmdesc describing more than the stream holds is a truncation named where the input ends', async () => {
    const buf = replaceHalted('{"name": "halted", "array_len": 999999999999, "type": "uint32", "size": 4}');
    await fails(buf, { code: 'TRUNCATED', offset: buf.length, section: 'cpu_common (instance 0, section 6)', message: 'stream ends early: 1 more byte(s) needed' });
  });

  it('input ending inside a configuration subsection header is a truncation, not an unknown item 0x05', async () => {
    await fails(data.subarray(0, 22), { code: 'TRUNCATED', offset: 22, section: 'configuration', message: 'stream ends early: 1 more byte(s) needed' });
    await fails(data.subarray(0, 30), { code: 'TRUNCATED', offset: 30, section: 'configuration', message: 'stream ends early: 23 more byte(s) needed' });
  });

  it('control bytes of a section name are escaped in the message and the section', async () => {
    // Name length 255: the idstr takes in the following binary bytes.
    const buf = edited((b) => (b[TIMER + 5] = 255));
    const { file, pipe } = await decodeBoth(buf);
    for (const e of [file, pipe] as VmstateError[]) {
      expect(e).toBeInstanceOf(VmstateError);
      expect(e.code).toBe('BAD_VMDESC');
      expect(e.place?.offset).toBe(TIMER);
      expect(e.place?.section.startsWith('timer\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00')).toBe(true);
      expect(e.message).toMatch(/^vmdesc device #0 is 'timer' instance 0, stream has 'timer\\x00/);
      expect(/[\x00-\x1f\x7f-\x9f]/.test(e.message)).toBe(false);
    }
  });
});
