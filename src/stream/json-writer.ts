/**
 * JSON text in the two dialects vmstate has to reproduce byte for byte:
 *
 * - {@link qemuJson}: QEMU's compact JSON writer (`qobject/json-writer.c`), which
 *   writes the vmdesc. One space after every `:` and `,`, nothing else;
 *   `\uXXXX` escapes with UPPERCASE hex for code points < 0x20 and >= 0x7F.
 * - {@link analyserJson}: Python's `json.dumps(v, indent=4, separators=(',', ': '))`,
 *   which is what `scripts/analyze-migration.py` prints. Same escapes, but
 *   lowercase hex (`ensure_ascii`).
 *
 * Plus {@link parseJsonPreservingOrder}, a strict parser that keeps what
 * `JSON.parse` loses: the order of integer-like keys, duplicate keys, integers
 * beyond 2^53 and the exact text of non-integer numbers.
 */

/** A number kept as its original JSON text (non-integers), re-emitted verbatim. */
export class RawJsonNumber {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/**
 * Objects whose key/value pairs cannot be represented faithfully by a plain JS
 * object (duplicate keys, or integer-like keys that JS would reorder) carry the
 * pairs as parsed under this symbol; the writers emit those pairs instead of
 * the object's own keys.
 */
export const JSON_PAIRS: unique symbol = Symbol('vmstate.jsonPairs');

/** Values the parser returns (the writers also accept any Map or plain object of these). */
export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | RawJsonNumber
  | readonly JsonValue[]
  | ReadonlyMap<string, JsonValue>
  | JsonObject;

/** A plain JSON object (possibly carrying {@link JSON_PAIRS}). */
export interface JsonObject {
  [key: string]: JsonValue | undefined;
  [JSON_PAIRS]?: ReadonlyArray<readonly [string, JsonValue]>;
}

// ---------------------------------------------------------------------------
// Writers

const HEX_UPPER = '0123456789ABCDEF';
const HEX_LOWER = '0123456789abcdef';
/** Characters that can be copied as they are (printable ASCII except `"` and `\`). */
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

function quote(s: string, hex: string): string {
  if (PLAIN.test(s)) return `"${s}"`;
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    switch (c) {
      case 0x22: out += '\\"'; break;
      case 0x5c: out += '\\\\'; break;
      case 0x08: out += '\\b'; break;
      case 0x0c: out += '\\f'; break;
      case 0x0a: out += '\\n'; break;
      case 0x0d: out += '\\r'; break;
      case 0x09: out += '\\t'; break;
      default:
        if (c < 0x20 || c >= 0x7f) {
          // UTF-16 code units: a non-BMP character becomes its surrogate pair,
          // exactly as both QEMU and Python write it.
          out += '\\u' + hex[(c >> 12) & 15] + hex[(c >> 8) & 15] + hex[(c >> 4) & 15] + hex[c & 15];
        } else {
          out += s[i];
        }
    }
  }
  return out + '"';
}

function numberText(v: number): string {
  if (!Number.isInteger(v)) throw new TypeError(`cannot write non-integer number ${v} as JSON; use RawJsonNumber`);
  return Object.is(v, -0) ? '0' : String(v);
}

/**
 * Key/value pairs of a Map or plain object; `undefined` members are skipped,
 * like JSON.stringify. With `dedupe`, duplicate parsed keys collapse the way
 * Python's OrderedDict sees them (first position, last value).
 */
function entriesOf(v: object, dedupe = false): Iterable<readonly [unknown, unknown]> {
  if (v instanceof Map) return v.entries();
  const pairs = (v as JsonObject)[JSON_PAIRS];
  if (pairs) return dedupe ? new Map(pairs).entries() : pairs;
  const out: [string, unknown][] = [];
  for (const k of Object.keys(v)) {
    const x = (v as Record<string, unknown>)[k];
    if (x !== undefined) out.push([k, x]);
  }
  return out;
}

function keyText(k: unknown, hex: string): string {
  if (typeof k !== 'string') throw new TypeError(`JSON object keys must be strings, got ${typeof k}`);
  return quote(k, hex);
}

/** Text of a non-container value, or undefined for arrays/objects. */
function scalarText(v: unknown, hex: string): string | undefined {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'boolean': return v ? 'true' : 'false';
    case 'number': return numberText(v);
    case 'bigint': return v.toString();
    case 'string': return quote(v, hex);
    case 'object': return v instanceof RawJsonNumber ? v.text : undefined;
  }
  throw new TypeError(`cannot write a ${typeof v} as JSON`);
}

/**
 * Serialises `value` exactly like QEMU's compact JSON writer: `{"a": 1, "b": [1, 2]}`.
 * Key order is insertion order (use a `Map` for integer-like keys).
 */
export function qemuJson(value: unknown): string {
  const parts: string[] = [];
  const write = (v: unknown): void => {
    const s = scalarText(v, HEX_UPPER);
    if (s !== undefined) {
      parts.push(s);
    } else if (Array.isArray(v)) {
      parts.push('[');
      for (let i = 0; i < v.length; i++) {
        if (i) parts.push(', ');
        write(v[i]);
      }
      parts.push(']');
    } else {
      parts.push('{');
      let first = true;
      for (const [k, x] of entriesOf(v as object)) {
        if (!first) parts.push(', ');
        first = false;
        parts.push(keyText(k, HEX_UPPER), ': ');
        write(x);
      }
      parts.push('}');
    }
  };
  write(value);
  return parts.join('');
}

/**
 * Serialises `value` like Python's `json.dumps(value, indent=4, separators=(',', ': '))`
 * — the text `analyze-migration.py` prints (it adds one `\n` after it).
 */
export function analyserJson(value: unknown): string {
  const parts: string[] = [];
  const write = (v: unknown, depth: number): void => {
    const s = scalarText(v, HEX_LOWER);
    if (s !== undefined) {
      parts.push(s);
      return;
    }
    const inner = '\n' + ' '.repeat(4 * (depth + 1));
    const outer = '\n' + ' '.repeat(4 * depth);
    if (Array.isArray(v)) {
      if (v.length === 0) {
        parts.push('[]');
        return;
      }
      parts.push('[');
      for (let i = 0; i < v.length; i++) {
        parts.push(i ? ',' + inner : inner);
        write(v[i], depth + 1);
      }
      parts.push(outer, ']');
      return;
    }
    let first = true;
    for (const [k, x] of entriesOf(v as object, true)) {
      parts.push(first ? '{' + inner : ',' + inner, keyText(k, HEX_LOWER), ': ');
      first = false;
      write(x, depth + 1);
    }
    parts.push(first ? '{}' : outer + '}');
  };
  write(value, 0);
  return parts.join('');
}

// ---------------------------------------------------------------------------
// Parser

/** A JSON syntax or limit problem; `index` is the UTF-16 index in the text. */
export class JsonSyntaxError extends Error {
  override readonly name = 'JsonSyntaxError';
  constructor(message: string, readonly index: number) {
    super(message);
  }
}

/** Options of {@link parseJsonPreservingOrder}. */
export interface JsonParseOptions {
  /** Deepest nesting accepted (default 512); deeper input is rejected, not overflowed. */
  maxDepth?: number;
  /** Receives each object and array with the index of its opening bracket (plus {@link positionBase}). */
  positions?: WeakMap<object, number>;
  /** Added to every index given to {@link positions} (default 0). */
  positionBase?: number;
}

/** Canonical array-index keys are the ones JS objects move to the front. */
const INTEGER_KEY = /^(?:0|[1-9][0-9]{0,9})$/;

/**
 * Parses RFC 8259 JSON. Objects are plain objects in key order; an object with
 * duplicate or integer-like keys also carries its exact pairs under
 * {@link JSON_PAIRS} (values as Python's `object_pairs_hook=OrderedDict`
 * would see them: last value wins). Integers are numbers when safe, bigints
 * otherwise; other numbers are {@link RawJsonNumber}s.
 */
export function parseJsonPreservingOrder(text: string, options: JsonParseOptions = {}): JsonValue {
  const maxDepth = options.maxDepth ?? 512;
  const positions = options.positions;
  const base = options.positionBase ?? 0;
  let i = 0;
  const n = text.length;

  const fail = (msg: string, at = i): never => {
    throw new JsonSyntaxError(msg, at);
  };
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const expect = (lit: string): void => {
    if (text.startsWith(lit, i)) i += lit.length;
    else fail(`expected '${lit}'`);
  };

  const str = (): string => {
    const start = ++i; // after the opening quote
    let out = '';
    let from = start;
    for (;;) {
      if (i >= n) fail('unterminated string', start - 1);
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        out += text.slice(from, i++);
        return out;
      }
      if (c < 0x20) fail('control character in string');
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(from, i);
      const e = text[i + 1];
      i += 2;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          const h = text.slice(i, i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('bad \\u escape', i - 2);
          out += String.fromCharCode(parseInt(h, 16));
          i += 4;
          break;
        }
        default:
          fail('bad escape', i - 2);
      }
      from = i;
    }
  };

  const num = (): JsonValue => {
    const m = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
    m.lastIndex = i;
    const r = m.exec(text);
    if (!r) return fail('unexpected character');
    i = m.lastIndex;
    const t = r[0];
    if (r[1] !== undefined || r[2] !== undefined || t === '-0') return new RawJsonNumber(t);
    const v = Number(t);
    return Number.isSafeInteger(v) ? v : BigInt(t);
  };

  const value = (depth: number): JsonValue => {
    ws();
    if (i >= n) fail('unexpected end of JSON');
    const c = text[i];
    if (c === '{' || c === '[') {
      if (depth >= maxDepth) fail(`nesting deeper than ${maxDepth}`);
      return c === '{' ? object(depth + 1) : array(depth + 1);
    }
    if (c === '"') return str();
    if (c === 't') return expect('true'), true;
    if (c === 'f') return expect('false'), false;
    if (c === 'n') return expect('null'), null;
    return num();
  };

  const array = (depth: number): JsonValue[] => {
    const out: JsonValue[] = [];
    positions?.set(out, base + i);
    i++;
    ws();
    if (text[i] === ']') {
      i++;
      return out;
    }
    for (;;) {
      out.push(value(depth));
      ws();
      if (text[i] === ',') i++;
      else if (text[i] === ']') {
        i++;
        return out;
      } else fail("expected ',' or ']'");
    }
  };

  const object = (depth: number): JsonObject => {
    const out: JsonObject = {};
    positions?.set(out, base + i);
    i++;
    ws();
    if (text[i] === '}') {
      i++;
      return out;
    }
    // The exact pairs are kept only once a key repeats or is integer-like (rare): until then the
    // object's own key order is the text's.
    let pairs: [string, JsonValue][] | null = null;
    for (;;) {
      ws();
      if (text[i] !== '"') fail('expected a key string');
      const k = str();
      ws();
      expect(':');
      const v = value(depth);
      if (!pairs && (Object.prototype.hasOwnProperty.call(out, k) || INTEGER_KEY.test(k))) {
        pairs = Object.keys(out).map((key) => [key, out[key] as JsonValue]);
      }
      pairs?.push([k, v]);
      // A "__proto__" key must become data, not a prototype: defineProperty for it alone, as it
      // turns the object into a slower, larger dictionary.
      if (k === '__proto__') Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
      else out[k] = v;
      ws();
      if (text[i] === ',') i++;
      else if (text[i] === '}') {
        i++;
        break;
      } else fail("expected ',' or '}'");
    }
    if (pairs) Object.defineProperty(out, JSON_PAIRS, { value: pairs, enumerable: false });
    return out;
  };

  const v = value(0);
  ws();
  if (i < n) fail('trailing characters after JSON value');
  return v;
}
