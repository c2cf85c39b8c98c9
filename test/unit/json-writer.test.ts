import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { analyserJson, JSON_PAIRS, JsonSyntaxError, parseJsonPreservingOrder, qemuJson, RawJsonNumber, type JsonObject } from '../../src/stream/json-writer.js';

const hasPython = spawnSync('python3', ['-c', 'pass']).status === 0;

describe('qemuJson', () => {
  it('writes QEMU compact spacing', () => {
    expect(qemuJson({ a: 1, b: [1, 2, { c: 'x' }], d: {}, e: [] })).toBe('{"a": 1, "b": [1, 2, {"c": "x"}], "d": {}, "e": []}');
    expect(qemuJson([])).toBe('[]');
    expect(qemuJson({ t: true, f: false, n: null, neg: -5, z: -0 })).toBe('{"t": true, "f": false, "n": null, "neg": -5, "z": 0}');
  });

  it('escapes like json-writer.c: short escapes, then \\uXXXX in UPPERCASE for < 0x20 and >= 0x7F', () => {
    expect(qemuJson('a"b\\c/d')).toBe('"a\\"b\\\\c/d"');
    expect(qemuJson('\b\f\n\r\t')).toBe('"\\b\\f\\n\\r\\t"');
    expect(qemuJson('\x00\x1f\x7f\u00e9\u20ac')).toBe('"\\u0000\\u001F\\u007F\\u00E9\\u20AC"');
    expect(qemuJson('\u{1F600}')).toBe('"\\uD83D\\uDE00"');
  });

  it('keeps Map order for any key, writes bigints and raw numbers exactly', () => {
    expect(qemuJson(new Map<string, unknown>([['2', 'b'], ['1', 'a'], ['x', 12345678901234567890n]]))).toBe('{"2": "b", "1": "a", "x": 12345678901234567890}');
    expect(qemuJson(new RawJsonNumber('1.5e3'))).toBe('1.5e3');
  });

  it('skips undefined members and rejects what JSON cannot hold', () => {
    expect(qemuJson({ a: undefined, b: 1 })).toBe('{"b": 1}');
    expect(() => qemuJson(1.5)).toThrow(TypeError);
    expect(() => qemuJson(() => 1)).toThrow(TypeError);
  });
});

describe('analyserJson', () => {
  const sample = new Map<string, unknown>([
    ['ram (1)', new Map([['section sizes', new Map([['mach-virt.ram', '0x0000000004000000']])]])],
    ['dev (2)', new Map<string, unknown>([['a', ['0x01', '0x02']], ['b', true], ['c', []], ['d', new Map()], ['e', 'caf\u00e9\x7f']])],
  ]);

  it('writes Python json.dumps(indent=4, separators=(",", ": "))', () => {
    expect(analyserJson(sample)).toBe(
      [
        '{',
        '    "ram (1)": {',
        '        "section sizes": {',
        '            "mach-virt.ram": "0x0000000004000000"',
        '        }',
        '    },',
        '    "dev (2)": {',
        '        "a": [',
        '            "0x01",',
        '            "0x02"',
        '        ],',
        '        "b": true,',
        '        "c": [],',
        '        "d": {},',
        '        "e": "caf\\u00e9\\u007f"',
        '    }',
        '}',
      ].join('\n'),
    );
  });

  it.skipIf(!hasPython)('agrees with python3 byte for byte', () => {
    const value = {
      s: 'x"y\\z\n\u0001\u00ff\u{1F600}/',
      n: [0, -1, 9007199254740993n],
      nested: [[], {}, [{ k: [true, false, null] }]],
    };
    const text = qemuJson(value);
    const py = spawnSync('python3', ['-c', 'import json,sys; print(json.dumps(json.loads(sys.stdin.read()), indent=4, separators=(",", ": ")), end="")'], { input: text, encoding: 'utf8' });
    expect(py.status).toBe(0);
    expect(analyserJson(value)).toBe(py.stdout);
    const compact = spawnSync('python3', ['-c', 'import json,sys; print(json.dumps(json.loads(sys.stdin.read())), end="")'], { input: text, encoding: 'utf8' });
    // Python's compact default differs from QEMU only in the case of \u hex digits.
    expect(compact.stdout.replace(/\\u([0-9a-f]{4})/g, (_, h: string) => '\\u' + h.toUpperCase())).toBe(text);
  });
});

describe('parseJsonPreservingOrder', () => {
  it('round-trips integer-like keys and duplicates through qemuJson', () => {
    const text = '{"b": 1, "10": 2, "2": 3, "b": 4}';
    const v = parseJsonPreservingOrder(text) as JsonObject;
    expect(qemuJson(v)).toBe(text);
    expect(v['b']).toBe(4); // last value wins, as in Python
    expect(v[JSON_PAIRS]).toHaveLength(4);
    // The analyser's view collapses duplicates (first position, last value).
    expect(analyserJson(v)).toBe('{\n    "b": 4,\n    "10": 2,\n    "2": 3\n}');
  });

  it('keeps big integers and non-integers exact', () => {
    const v = parseJsonPreservingOrder('[9007199254740991, 9007199254740993, -18446744073709551615, 1.50, 2e10]') as unknown[];
    expect(v[0]).toBe(9007199254740991);
    expect(v[1]).toBe(9007199254740993n);
    expect(v[2]).toBe(-18446744073709551615n);
    expect(v[3]).toBeInstanceOf(RawJsonNumber);
    expect(qemuJson(v)).toBe('[9007199254740991, 9007199254740993, -18446744073709551615, 1.50, 2e10]');
  });

  it('decodes escapes and keeps a "__proto__" key as data', () => {
    const v = parseJsonPreservingOrder('{"__proto__": {"x": 1}, "s": "\\u00e9\\uD83D\\uDE00\\/\\n"}') as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__', 's']);
    expect(v['s']).toBe('\u00e9\u{1F600}/\n');
  });

  it('reports syntax errors with their index, and caps nesting', () => {
    const at = (t: string) => {
      try {
        parseJsonPreservingOrder(t);
      } catch (e) {
        expect(e).toBeInstanceOf(JsonSyntaxError);
        return (e as JsonSyntaxError).index;
      }
      throw new Error('no error');
    };
    expect(at('{"a": 1,}')).toBe(8);
    expect(at('{"a" 1}')).toBe(5);
    expect(at('[1, 2')).toBe(5);
    expect(at('"abc')).toBe(0);
    expect(at('{"a": "\x01"}')).toBe(7);
    expect(at('[01]')).toBe(2);
    expect(at('{} x')).toBe(3);
    expect(at('"\\x"')).toBe(1);
    expect(at('[tru]')).toBe(1);
    expect(at('')).toBe(0);
    expect(at('['.repeat(600) + ']'.repeat(600))).toBe(512);
    expect(parseJsonPreservingOrder('['.repeat(10) + ']'.repeat(10), { maxDepth: 10 })).toBeDefined();
  });

  it('records positions of containers', () => {
    const positions = new WeakMap<object, number>();
    const v = parseJsonPreservingOrder('{"a": [1, {"b": 2}]}', { positions }) as { a: [number, object] };
    expect(positions.get(v)).toBe(0);
    expect(positions.get(v.a)).toBe(6);
    expect(positions.get(v.a[1])).toBe(10);
  });
});
