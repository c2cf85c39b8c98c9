/**
 * A vmdesc at the cap (64 MiB by default) costs at most 3× its size in memory, whatever it holds:
 * QEMU-formatted JSON padded to the cap is parsed within that; JSON whose parse would take more
 * (`[{},{},…]`, `[0,0,…]`, QEMU's own device records repeated to megabytes) or that holds a string
 * no vmdesc has (megabytes long) is refused with a LimitError, after one pass over its bytes. Measured in a fresh process: peak RSS (maxRSS)
 * during the decode less the RSS before it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLES_DIR } from './helpers/samples.js';
import { DEFAULT_LIMITS } from '../src/stream/decode.js';

const base = readFileSync(join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_max.mig'));
const CAP = DEFAULT_LIMITS.maxVmdesc;
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmstate-memory-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The real stream up to its vmdesc, and its vmdesc's JSON text. */
function split(): { head: Buffer; json: string } {
  let p = base.length - 7;
  while (!(base[p] === 6 && base.readUInt32BE(p + 1) === base.length - p - 5)) p--;
  return { head: base.subarray(0, p), json: base.subarray(p + 5).toString('latin1') };
}

/** Writes the real stream with its vmdesc replaced by `json` (exactly `CAP` bytes long). */
function withVmdesc(name: string, json: string): string {
  expect(json.length).toBe(CAP);
  const { head } = split();
  const len = Buffer.alloc(5);
  len[0] = 6;
  len.writeUInt32BE(json.length, 1);
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat([head, len, Buffer.from(json, 'latin1')]));
  return path;
}

/** Decodes `path` in a fresh process: what it threw (or 'ok') and the RSS it grew by at its peak. */
function measure(path: string): { outcome: string; growth: number } {
  const api = JSON.stringify(join(import.meta.dirname, '..', 'dist', 'index.js'));
  const script = `
    import { decodeStream } from ${api};
    const before = process.memoryUsage().rss;
    let outcome = 'ok';
    try { await decodeStream(${JSON.stringify(path)}); } catch (e) { outcome = e.name + ': ' + e.message; }
    console.log(JSON.stringify({ outcome, growth: process.resourceUsage().maxRSS * 1024 - before }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { outcome: string; growth: number };
}

describe(`a vmdesc at the cap (${CAP} bytes)`, { timeout: 120_000 }, () => {
  const { json } = split();
  const open = json.slice(0, -1);

  it('QEMU JSON padded with spaces to the cap: decoded, within 3× its size', () => {
    const m = measure(withVmdesc('spaces.mig', open + ' '.repeat(CAP - json.length) + '}'));
    console.log(`padded vmdesc at the cap: peak RSS grew by ${(m.growth / 2 ** 20).toFixed(0)} MiB = ${(m.growth / CAP).toFixed(2)}× its size`);
    expect(m.outcome).toBe('ok');
    expect(m.growth).toBeLessThanOrEqual(3 * CAP);
  });

  it('one string that fills the cap: refused (QEMU writes names, not megabytes), within 3× its size', () => {
    const head = open + ', "pad": "';
    const tail = '"' + ' '.repeat(1 << 20) + '}';
    const m = measure(withVmdesc('string.mig', head + 'a'.repeat(CAP - head.length - tail.length) + tail));
    console.log(`one long string at the cap: peak RSS grew by ${(m.growth / 2 ** 20).toFixed(0)} MiB = ${(m.growth / CAP).toFixed(2)}× its size`);
    expect(m.outcome).toMatch(/^LimitError: vmdesc string length \d+ exceeds the cap 65536 \(MAX_VMDESC_STRING\) \(at byte \d+, in vmdesc\)$/);
    expect(m.growth).toBeLessThanOrEqual(3 * CAP);
  });

  for (const [name, unit] of [['empty objects', '{},'], ['numbers', '0,'], ['empty arrays', '[],']] as const) {
    it(`${name} to the cap: a LimitError after one pass, within 3× its size`, () => {
      const head = open + ', "pad": [';
      const count = Math.floor((CAP - head.length - 2) / unit.length);
      let body = head + unit.repeat(count).slice(0, -1);
      body += ' '.repeat(CAP - body.length - 2) + ']}';
      const m = measure(withVmdesc(`${name}.mig`, body));
      console.log(`${name} at the cap: peak RSS grew by ${(m.growth / 2 ** 20).toFixed(0)} MiB = ${(m.growth / CAP).toFixed(2)}× its size`);
      expect(m.outcome).toMatch(/^LimitError: vmdesc parsed in memory \(estimated bytes\) \d+ exceeds the cap \d+ \(its length, at least 16 MiB\) \(at byte \d+, in vmdesc\)$/);
      expect(m.growth).toBeLessThanOrEqual(3 * CAP);
    });
  }

  it("QEMU's own device records repeated to the cap: refused the same way", () => {
    const { json: j } = split();
    const devices = JSON.parse(j).devices as unknown[];
    const records = j.slice(j.indexOf('"devices": [') + 12, -2);
    const copies = Math.floor((CAP - j.length) / (records.length + 2));
    let body = j.slice(0, -2) + (', ' + records).repeat(copies) + ']}';
    body = body.slice(0, -1) + ' '.repeat(CAP - body.length) + '}';
    expect(devices.length).toBeGreaterThan(0);
    const m = measure(withVmdesc('records.mig', body));
    expect(m.outcome).toMatch(/^LimitError: vmdesc parsed in memory/);
    expect(m.growth).toBeLessThanOrEqual(3 * CAP);
  });
});
