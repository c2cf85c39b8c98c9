/**
 * Look-ahead for synchronous body decoders. A decoder is handed the bytes buffered so far and
 * either decodes them or answers with a {@link Need}: how many bytes (from the buffer's start)
 * it must see to go on. The window then grows to hold that many — doubling from 64 KiB, up to
 * the cap — or, when the input ends first, the shortfall is reported as a truncation where the
 * input ends. "Not yet" is an answer, never an exception.
 * @module
 */
import { LimitError, TruncatedError } from '../errors.js';
import type { StreamReader } from './reader.js';

/** A decoder's answer when its buffer ends too early. */
export class Need {
  constructor(
    /** Bytes the buffer must hold, counted from its start. */
    readonly need: number,
    /** Where in the buffer the decoder ran short (for an error when the buffer is all there is). */
    readonly at: number,
  ) {}
}

/** First look-ahead window. */
export const WINDOW = 64 << 10;

/**
 * Runs `decode` on a window of the bytes at the read position (`buf[0]` is absolute offset
 * `base`), growing the window while `decode` answers with a {@link Need}. Consumes nothing.
 * @throws TruncatedError when the input ends before the bytes needed, placed at its end.
 * @throws LimitError when the window would grow past `maxBuffer`.
 */
export async function readAhead<T>(r: StreamReader, maxBuffer: number, decode: (buf: Buffer, base: number) => T | Need): Promise<T> {
  let want = WINDOW;
  for (;;) {
    const more = await r.ensure(want);
    const buf = r.peek(more ? want : r.available);
    const out = decode(buf, r.offset);
    if (!(out instanceof Need)) return out;
    if (out.need <= buf.length) throw new RangeError(`a decoder needs ${out.need} bytes but had ${buf.length}`);
    if (!more) throw new TruncatedError(out.need - buf.length, r.place(r.offset + buf.length));
    while (want < out.need) {
      if (want >= maxBuffer) throw new LimitError('section body', `> ${want}`, maxBuffer, 'maxBuffer', r.place());
      want = Math.min(want * 2, maxBuffer);
    }
  }
}
