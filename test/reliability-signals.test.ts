/**
 * Signals in the middle of a rewrite: SIGINT, SIGTERM and SIGHUP end it by that signal (a shell
 * reports 130, 143 and 129) and leave no temporary file; SIGKILL leaves none either, as the output
 * is unnamed (O_TMPFILE) until it is complete. The rewrite is held mid-way by a stalled pipe on
 * its standard input (a blocking read), with the output's unnamed file open (seen in
 * /proc/PID/fd) when the signal comes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { CLI } from './helpers/cli.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLES_DIR } from './helpers/samples.js';
import { openFilesIn, start, until } from './helpers/reliability.js';

const data = readFileSync(join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_max.mig'));
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmstate-signals-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Starts a pipe-to-file rewrite into `d`, feeds it half the stream and waits until its output is open. */
async function heldRewrite(d: string) {
  const r = start(['rewrite', '-', '-o', join(d, 'out.mig')], { stdin: 'pipe' });
  r.child.stdin!.on('error', () => {}); // EPIPE once it is killed
  r.child.stdin!.write(data.subarray(0, data.length >> 1));
  let open: string[] = [];
  await until(() => (open = openFilesIn(r.child.pid!, d)).length > 0, 20_000, 'the output to be opened');
  return { r, open };
}

describe('signals mid-rewrite', () => {
  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    it(`${sig}: ended by it at once (status ${code}), no temporary file, no output`, async () => {
      const d = mkdtempSync(join(dir, `${sig}-`));
      const { r, open } = await heldRewrite(d);
      // The output under construction has no name: /proc shows it as "DIR/#INODE (deleted)".
      expect(open).toHaveLength(1);
      expect(open[0]).toMatch(new RegExp(`^\\d+:${d}/#\\d+ \\(deleted\\)$`));
      expect(readdirSync(d)).toEqual([]);
      r.child.kill(sig);
      const res = await r.done;
      r.child.stdin!.destroy();
      expect([res.code, res.signal]).toEqual([null, sig]);
      expect(readdirSync(d)).toEqual([]);
    });
  }

  it('a shell reports 130 for SIGINT, 143 for SIGTERM, 129 for SIGHUP', async () => {
    const d = mkdtempSync(join(dir, 'shell-'));
    const fifo = join(d, 'in.fifo');
    spawnSync('mkfifo', [fifo]);
    // The writer holds the FIFO open without writing: the rewrite blocks in a read.
    const sh = `exec 3<>"${fifo}"; for s in INT TERM HUP; do "$0" "$1" rewrite "${fifo}" -o "${d}/out.mig" & p=$!; sleep 1; kill -$s $p; wait $p; echo "$s $?"; done`;
    const r = spawnSync('bash', ['-c', sh, process.execPath, CLI], { encoding: 'utf8' });
    expect(r.stdout).toBe('INT 130\nTERM 143\nHUP 129\n');
    expect(readdirSync(d)).toEqual(['in.fifo']);
  });

  it('SIGKILL: nothing left either (the output never had a name)', async () => {
    const d = mkdtempSync(join(dir, 'SIGKILL-'));
    const { r } = await heldRewrite(d);
    r.child.kill('SIGKILL');
    const res = await r.done;
    r.child.stdin!.destroy();
    expect(res.signal).toBe('SIGKILL');
    expect(readdirSync(d)).toEqual([]);
  });

  it('the unnamed file is 0600 while it is written', async () => {
    const d = mkdtempSync(join(dir, 'mode-'));
    const { r, open } = await heldRewrite(d);
    const fd = open[0]!.split(':')[0];
    expect(statSync(`/proc/${r.child.pid}/fd/${fd}`).mode & 0o777).toBe(0o600);
    r.child.kill('SIGTERM');
    await r.done;
    r.child.stdin!.destroy();
  });

  it('completed, the same run names the file: whole, byte for byte', async () => {
    const d = mkdtempSync(join(dir, 'done-'));
    const { r } = await heldRewrite(d);
    r.child.stdin!.end(data.subarray(data.length >> 1));
    const res = await r.done;
    expect(res.code, res.stderr).toBe(0);
    expect(readdirSync(d)).toEqual(['out.mig']);
    expect(readFileSync(join(d, 'out.mig')).equals(data)).toBe(true);
  });
});

describe('where no unnamed file can be made: a named 0600 temporary, removed on signals', () => {
  // The fallback for file systems without O_TMPFILE, driven directly: the CLI's own handlers.
  const script = (d: string) => `
    import { AtomicFile } from ${JSON.stringify(join(import.meta.dirname, '..', 'dist', 'wire', 'atomic-file.js'))};
    import { installSignalHandlers } from ${JSON.stringify(join(import.meta.dirname, '..', 'dist', 'cli', 'signals.js'))};
    import { writeSync } from 'node:fs';
    installSignalHandlers();
    const f = AtomicFile.create(${JSON.stringify(join(d, 'out.mig'))}, { mode: 0o644, named: true });
    writeSync(f.fd, Buffer.alloc(1 << 20));
    console.log(f.tempPath);
    setInterval(() => {}, 1000);
  `;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${sig}: the temporary removed, then ended by the signal`, async () => {
      const d = mkdtempSync(join(dir, `named-${sig}-`));
      const child = spawn(process.execPath, ['--input-type=module', '-e', script(d)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => (out += c.toString()));
      await until(() => out.includes('\n'), 20_000, 'the temporary');
      const tmp = out.trim();
      expect(tmp.startsWith(join(d, '.out.mig.vmstate-'))).toBe(true);
      expect(statSync(tmp).mode & 0o777).toBe(0o600);
      const done = new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_c, s) => resolve(s)));
      child.kill(sig);
      expect(await done).toBe(sig);
      expect(readdirSync(d)).toEqual([]);
    });
  }
});
