/**
 * `vmstate check` against real QEMU on guests that ran, with devices: every row of
 * samples/truth/devices-table.json (loads of the device samples into QEMU 7.2, 10.0 and 11.1, of
 * the tool's rewrites of the failed ones, of hand edits of those, of the rewrites `check`
 * suggested for them, run as printed) and of device-probes.json
 * (small edits that make a device section or subsection not fit, destinations without a device
 * or a vCPU). Each stream is rebuilt and checked against the table's SHA-256
 * (test/helpers/device-rows.ts), then checked against the destination's own saved stream. The
 * verdict must be QEMU's, and "QEMU would print" QEMU's lines, in QEMU's order.
 *
 * Where check's verdict is `depends` (registers read back from memory QEMU never initialised),
 * QEMU's outcome must be one of the ways the load can end, and QEMU's lines that way's lines.
 * Streams loaded many times (repeat-loads.json) must have every way they ended among check's.
 * `VMSTATE_KEEP_ROWS=DIR` keeps every rebuilt stream in DIR (for samples/devices/repeat-loads.py).
 * A mapped-ram row's destination sample is the one its QEMU saved when started with the same
 * capabilities (none for `caps-none`). Not checked: the rewrite rows with nothing written (no
 * load to compare).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkStream, type CheckResult } from '../src/check/check.js';
import { loadDestination, type Destination } from '../src/destination/load.js';
import { SAMPLES_DIR } from './helpers/samples.js';
import { LOADER, mappedRam, materialize, unpacked, type DeviceRow } from './helpers/device-rows.js';

const TRUTH = join(SAMPLES_DIR, 'truth');
const DEVICES = join(SAMPLES_DIR, 'devices');
const table: DeviceRow[] = JSON.parse(readFileSync(join(TRUTH, 'devices-table.json'), 'utf8')).rows;
const probes: DeviceRow[] = JSON.parse(readFileSync(join(TRUTH, 'device-probes.json'), 'utf8')).rows;
/** One stream loaded many times into its row's destination: every way it ended, and how often. */
interface RepeatRow {
  id: string;
  sha256: string;
  busy: number;
  times: number;
  ways: { result: 'accept' | 'reject' | 'crash'; stderr: string[]; count: number }[];
}
const repeats: RepeatRow[] = JSON.parse(readFileSync(join(TRUTH, 'repeat-loads.json'), 'utf8')).rows;
const keep = process.env.VMSTATE_KEEP_ROWS;
const manifest = new Map<string, string>(
  (JSON.parse(readFileSync(join(DEVICES, 'manifest.json'), 'utf8')).samples as { file: string; sha256: string }[]).map((e) => [e.file, e.sha256]),
);
const rows = [...table, ...probes];
const byId = new Map(rows.map((r) => [r.id, r]));
/** Loads of a mapped-ram stream into a QEMU started without the capability. */
const capsNone = (r: DeviceRow) => mappedRam(r) && r.id.endsWith('/caps-none');
const checked = rows.filter((r) => r.result !== null);

let root = '';
let scratch = '';
const results = new Map<string, CheckResult | Error>();

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'vmstate-devtruth-'));
  scratch = join(root, 'rows');
  execFileSync('mkdir', [scratch]);
  for (const a of ['uboot', 'edk2', 'probe-dests']) execFileSync('tar', ['-xJf', join(DEVICES, `${a}.tar.xz`), '-C', root]);
  const dests = new Map<string, Promise<Destination>>();
  const destOf = (p: string) => {
    let d = dests.get(p);
    if (!d) dests.set(p, (d = loadDestination(unpacked(root, p))));
    return d;
  };
  // One row at a time: a rebuilt stream is removed as soon as it has been checked.
  for (const r of checked) {
    try {
      const { path, temporary } = await materialize(r, byId, root, scratch);
      results.set(r.id, await checkStream(path, await destOf(r.destSample!), { loader: LOADER[r.dest.qemu], name: r.id }));
      if (keep) copyFileSync(path, join(keep, `${r.id.replace(/[/+]/g, '_')}.mig`));
      if (temporary) unlinkSync(path);
    } catch (e) {
      results.set(r.id, e as Error);
    }
  }
}, 1_800_000);

afterAll(() => {
  if (root) rmSync(root, { recursive: true, force: true });
});

/** QEMU's outcome in check's words. */
const outcomeOf = (r: DeviceRow) => (r.result === 'accept' ? 'load' : r.result === 'crash' ? 'crash' : 'refuse');

/** Every way check says the load can end. */
const waysOf = (c: CheckResult) => (c.alternatives.length ? c.alternatives : [{ outcome: c.outcome, qemuError: c.qemuError, qemuLines: c.qemuLines }]);

describe('the tables', () => {
  it('name a destination sample for every row that is checked, and rows for rewrites and edits that exist', () => {
    for (const r of checked) expect(r.destSample, r.id).not.toBeNull();
    for (const r of rows) if (r.kind === 'edit' && !r.edit!.patches) expect(byId.has(r.edit!.of!), r.id).toBe(true);
  });

  it('hold probes for each QEMU version', () => {
    for (const q of ['7.2', '10.0', '11.1']) expect(probes.filter((p) => p.dest.qemu === q).length, q).toBeGreaterThanOrEqual(10);
  });
});

describe.each(checked.map((r) => [`${r.id}: ${r.result}`, r] as const))('%s', (_name, r) => {
  const result = (): CheckResult => {
    const c = results.get(r.id);
    if (c instanceof Error) throw c;
    return c!;
  };

  it("gives QEMU's verdict", () => {
    const c = result();
    const want = r.result === 'accept' ? 'accept' : 'reject';
    if (c.verdict === 'depends') {
      // Open only where a register is read back from memory QEMU never initialised.
      expect(c.devices.flatMap((d) => d.anomalies).some((a) => a.kind === 'missing-stale')).toBe(true);
      expect(waysOf(c).map((w) => w.outcome)).toContain(outcomeOf(r));
    } else {
      expect(c.verdict).toBe(want);
      expect(c.outcome).toBe(outcomeOf(r));
    }
    if (r.result === 'crash') expect(c.warnings.join('\n')).toMatch(/aborts/);
  });

  it('says what QEMU printed, line for line', () => {
    const ways = waysOf(result()).filter((w) => w.outcome === outcomeOf(r));
    expect(ways.length, `no way of ending as QEMU's (${outcomeOf(r)})`).toBeGreaterThan(0);
    // With several (a later uncertain vCPU refusing), QEMU's must be one of them.
    if (ways.length === 1) expect(ways[0]!.qemuLines).toEqual(r.stderr);
    else expect(ways.map((w) => w.qemuLines)).toContainEqual(r.stderr);
  });
});

describe('streams loaded again and again (repeat-loads.json)', () => {
  const resultOf = (result: RepeatRow['ways'][number]['result']) => outcomeOf({ result } as DeviceRow);
  it('are rows of the table, with the stream the row loaded', () => {
    expect(repeats.length).toBeGreaterThan(0);
    for (const x of repeats) {
      const r = byId.get(x.id)!;
      const sha =
        r.kind === 'load' ? manifest.get(r.source) : r.kind === 'suggested' ? r.suggestion!.sha256 : r.kind === 'rewrite' ? r.rewrite!.sha256 : r.edit!.sha256;
      expect(sha, x.id).toBe(x.sha256);
      expect(x.ways.reduce((n, w) => n + w.count, 0), x.id).toBe(x.times);
    }
  });

  it.each(repeats.map((x) => [`${x.id} (${x.times} loads, ${x.busy} busy)`, x] as const))('%s: every way it ended is one check names', (_n, x) => {
    const c = results.get(x.id) as CheckResult;
    expect(c).toBeDefined();
    if (new Set(x.ways.map((w) => w.result)).size > 1) expect(c.verdict).toBe('depends');
    const ways = waysOf(c);
    for (const w of x.ways) expect(ways.filter((v) => v.outcome === resultOf(w.result)).map((v) => v.qemuLines), `${x.id}: ${w.result}`).toContainEqual(w.stderr);
  });

  it('include a stream QEMU loaded one time and refused another, and one it refused every time', () => {
    expect(repeats.some((x) => new Set(x.ways.map((w) => w.result)).size > 1)).toBe(true);
    expect(repeats.some((x) => x.ways.length === 1 && x.times >= 10)).toBe(true);
  });
});

describe('rows that are not checked', () => {
  it('a mapped-ram stream against a destination whose capabilities are not known: check says what the destination must set', async () => {
    const r = rows.find(capsNone)!;
    expect(r.stderr[0]).toBe('Capability mapped-ram is off, but received capability is on');
    const dest = await loadDestination(unpacked(root, r.destSample!));
    delete dest.model.capabilities;
    const c = await checkStream(unpacked(root, r.source), dest);
    expect(c.warnings.join('\n')).toContain(`else QEMU refuses: '${r.stderr[0]}'`);
  });

  it('rewrites that wrote nothing, even with --force, and failed loads with no rewrite suggested, have no load', () => {
    for (const r of rows.filter((x) => x.result === null)) {
      expect(['rewrite', 'suggested'], r.id).toContain(r.kind);
      if (r.kind === 'suggested') expect(r.suggestion!.argv, r.id).toBeNull();
    }
  });
});
