/**
 * What an output promises besides its bytes: permissions (never wider than the input, the umask
 * applied, never wider than the file it replaces, owner kept as root), standard output (typed
 * write errors with exit 2, a reader gone = 141, a closed standard output an error, a known
 * rejection refused before the first byte), and inputs that change while they are read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, closeSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, appendFileSync, truncateSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLES_DIR } from './helpers/samples.js';
import { CLI } from './helpers/cli.js';
import { canMknod, IS_ROOT, mknod, run } from './helpers/reliability.js';
import { rewriteFile } from '../src/rewrite/rewrite-file.js';
import { VmstateError } from '../src/errors.js';

const SAMPLE = join(SAMPLES_DIR, 'qemu-10.0', 'virt-7.2_cortex-a57.mig');
const DEST_72 = join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_cortex-a57.mig');
const data = readFileSync(SAMPLE);
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmstate-output-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function inputWithMode(name: string, mode: number): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  chmodSync(p, mode);
  return p;
}

const mode = (p: string) => statSync(p).mode & 0o7777;

describe('permissions', () => {
  it('0600 in → 0600 out under umask 022 (cp keeps it too); 0644 in → 0600 under umask 077', async () => {
    const secret = inputWithMode('secret.mig', 0o600);
    expect((await run(['rewrite', secret, '-o', join(dir, 'secret-out.mig')], { umask: 0o022 })).code).toBe(0);
    expect(mode(join(dir, 'secret-out.mig'))).toBe(0o600);
    const open = inputWithMode('open.mig', 0o644);
    expect((await run(['rewrite', open, '-o', join(dir, 'open-077.mig')], { umask: 0o077 })).code).toBe(0);
    expect(mode(join(dir, 'open-077.mig'))).toBe(0o600);
    expect((await run(['rewrite', open, '-o', join(dir, 'open-022.mig')], { umask: 0o022 })).code).toBe(0);
    expect(mode(join(dir, 'open-022.mig'))).toBe(0o644);
  });

  it('no setuid/setgid/sticky bits carried over; from a pipe, the mode of a new file', async () => {
    const odd = inputWithMode('odd.mig', 0o4755);
    expect((await run(['rewrite', odd, '-o', join(dir, 'odd-out.mig')])).code).toBe(0);
    expect(mode(join(dir, 'odd-out.mig'))).toBe(0o755);
    // A pipe has no mode to inherit: 0666 less the umask, as any created file.
    const r = spawnSync('sh', ['-c', `umask 027; cat "$2" | exec "$0" "$1" rewrite - -o "$3"`, process.execPath, CLI, SAMPLE, join(dir, 'piped.mig')]);
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(mode(join(dir, 'piped.mig'))).toBe(0o640);
  });

  it('replacing a file never widens it: a 0600 target stays 0600 under a 0644 input', async () => {
    const open = inputWithMode('open2.mig', 0o644);
    const target = join(dir, 'kept.mig');
    writeFileSync(target, 'old');
    chmodSync(target, 0o600);
    expect((await run(['rewrite', open, '-o', target])).code).toBe(0);
    expect(mode(target)).toBe(0o600);
    expect(readFileSync(target).equals(data)).toBe(true);
  });

  it('as root, replacing another user\'s file keeps its owner and group', async (ctx) => {
    if (!IS_ROOT) {
      console.log('owner case skipped: not root (only root can give a file away)');
      return ctx.skip();
    }
    const open = inputWithMode('open3.mig', 0o644);
    const target = join(dir, 'theirs.mig');
    writeFileSync(target, 'old');
    chownSync(target, 65534, 65534);
    expect((await run(['rewrite', open, '-o', target])).code).toBe(0);
    expect([statSync(target).uid, statSync(target).gid]).toEqual([65534, 65534]);
  });
});

describe('standard output', () => {
  it('a device that fails every write (1,7 like /dev/full, made here): exit 2, typed, no stack trace', async (ctx) => {
    const why = canMknod(dir);
    if (why) {
      console.log(`/dev/full case skipped: ${why}`);
      return ctx.skip();
    }
    const full = join(dir, 'full');
    mknod(full, 'c', 1, 7);
    for (const args of [['rewrite', SAMPLE, '-o', '-'], ['inspect', SAMPLE], ['regs', SAMPLE]]) {
      const fd = openSync(full, 'w');
      try {
        const r = await run(args, { stdout: fd });
        expect(r.code, args.join(' ')).toBe(2);
        expect(r.stderr, args.join(' ')).toMatch(/^vmstate: cannot write (the stream )?to standard output: ENOSPC\n$/);
      } finally {
        closeSync(fd);
      }
    }
  });

  it('a reader that goes away: 141, like SIGPIPE, and nothing else said', () => {
    const r = spawnSync('bash', ['-c', `"$0" "$1" rewrite "$2" -o - | head -c 100 >/dev/null; echo "\${PIPESTATUS[0]}"`, process.execPath, CLI, SAMPLE], { encoding: 'utf8' });
    expect(r.stdout).toBe('141\n');
    expect(r.stderr).toBe('');
  });

  it('a closed standard output (>&-) is an error, not a stream written nowhere', () => {
    for (const args of [['rewrite', SAMPLE, '-o', '-'], ['inspect', SAMPLE]]) {
      const r = spawnSync('bash', ['-c', `"$0" "$@" >&-; echo "status $?" >&2`, process.execPath, CLI, ...args], { encoding: 'utf8' });
      expect(r.stderr).toMatch(/^vmstate: cannot write (the stream )?to standard output: it is closed\nstatus 2\n$/);
    }
  });

  it('-o - with a known rejection (--dest): exit 1 before the first byte; --force writes it', async () => {
    // QEMU 7.2 rejects the 10.0 cortex-a57 stream as it is (the truth table's row for it).
    const r = await run(['rewrite', SAMPLE, '-o', '-', '--dest', DEST_72]);
    expect(r.code).toBe(1);
    expect(r.stdout.length).toBe(0);
    expect(r.stderr).toContain('nothing written');
    const f = await run(['rewrite', SAMPLE, '-o', '-', '--dest', DEST_72, '--force']);
    expect(f.code).toBe(0);
    expect(f.stdout.equals(data)).toBe(true);
  });

  it('-o - from a pipe cannot know first: the stream goes out, exit 1, and the message says so', () => {
    const r = spawnSync('sh', ['-c', `exec "$0" "$1" rewrite - -o - --dest "$2" --quiet`, process.execPath, CLI, DEST_72], { input: data });
    expect(r.status).toBe(1);
    expect(r.stdout.equals(data)).toBe(true);
    expect(r.stderr.toString()).toContain('it was written to standard output all the same');
  });

  it('-o - of a truncated file: exit 2 and not one byte out; from a pipe, what was read went out (documented)', async () => {
    const cut = join(dir, 'cut.mig');
    writeFileSync(cut, data.subarray(0, data.length - 100));
    const r = await run(['rewrite', cut, '-o', '-']);
    expect(r.code).toBe(2);
    expect(r.stdout.length).toBe(0);
    const p = spawnSync('sh', ['-c', `exec "$0" "$1" rewrite - -o -`, process.execPath, CLI], { input: data.subarray(0, data.length - 100) });
    expect(p.status).toBe(2);
    expect(p.stdout.length).toBeGreaterThan(0);
  });
});

describe('an input that changes while it is read', () => {
  for (const change of ['append', 'overwrite', 'truncate'] as const) {
    it(`${change} mid-rewrite: exit 2 naming the change, nothing written (file and stream outputs)`, async () => {
      // The stream: a character device like /dev/null, made here (never the real one).
      const nul = join(dir, `null-${change}`);
      const outputs: ('file' | 'stream')[] = canMknod(dir) ? ['file', 'stream'] : ['file'];
      if (outputs.length === 1) console.log(`stream case skipped: ${canMknod(dir)}`);
      else mknod(nul, 'c', 1, 3);
      for (const output of outputs) {
        const input = join(dir, `moving-${change}-${output}.mig`);
        writeFileSync(input, data);
        const out = output === 'file' ? join(dir, `moving-out-${change}.mig`) : nul;
        let done = false;
        const err = await rewriteFile(input, out, {
          // Changed once the decoder is past the first sections: bytes it already read.
          onProgress: (at) => {
            if (done || at < 4096) return;
            done = true;
            if (change === 'append') appendFileSync(input, 'x');
            else if (change === 'truncate') truncateSync(input, data.length);
            else {
              const fd = openSync(input, 'r+');
              try {
                writeFileSync(fd, Buffer.from([data[0]!]));
              } finally {
                closeSync(fd);
              }
            }
          },
        }).catch((e: unknown) => e);
        expect(done).toBe(true);
        expect(err, `${change} → ${output}`).toBeInstanceOf(VmstateError);
        expect((err as VmstateError).message).toMatch(new RegExp(`^the input ${input} changed while it was read \\(.+\\): nothing written$`));
        if (output === 'file') expect(readdirSync(dir).filter((f) => f.startsWith('moving-out') || f.includes('.tmp'))).toEqual([]);
      }
    });
  }
});
