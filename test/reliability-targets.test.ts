/**
 * Output targets, as an operator running as root would meet them: whatever `-o` names, a regular
 * file is replaced atomically, a FIFO or character device is written through and stays what it
 * is, anything else is refused with exit 2 — and the input is never the output, whatever name
 * (hard link, symbolic link, bind mount, standard output) it goes by. Device nodes are made by
 * the tests in a temp dir, never the real /dev ones.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeSync, lstatSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, linkSync, writeFileSync, chmodSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SAMPLES_DIR } from './helpers/samples.js';
import { canMknod, IS_ROOT, mkfifo, mknod, run } from './helpers/reliability.js';

const SAMPLE = join(SAMPLES_DIR, 'qemu-7.2', 'virt-7.2_max.mig');
const data = readFileSync(SAMPLE);
let dir: string;
let input: string;
let noMknod: string | null;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vmstate-targets-'));
  input = join(dir, 'in.mig');
  writeFileSync(input, data);
  chmodSync(input, 0o644);
  noMknod = canMknod(dir);
  if (noMknod) console.log(`device-node cases skipped: ${noMknod}`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** No temporary or stray file left in `d` besides `keep`. */
function only(d: string, keep: string[]): void {
  expect(readdirSync(d).sort()).toEqual([...keep].sort());
}

function unchangedInput(): void {
  expect(readFileSync(input).equals(data)).toBe(true);
}

function noStack(stderr: string): void {
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stderr).not.toContain('internal error');
}

describe('regular files', () => {
  it('a new file is written whole and an existing one replaced (a new inode), byte for byte', async () => {
    const d = mkdtempSync(join(dir, 'reg-'));
    const out = join(d, 'out.mig');
    expect((await run(['rewrite', input, '-o', out])).code).toBe(0);
    expect(readFileSync(out).equals(data)).toBe(true);
    const ino = statSync(out).ino;
    expect((await run(['rewrite', input, '-o', out])).code).toBe(0);
    expect(readFileSync(out).equals(data)).toBe(true);
    expect(statSync(out).ino).not.toBe(ino);
    only(d, ['out.mig']);
  });

  it('a symbolic link to a regular file stays a link; the file it names is replaced', async () => {
    const d = mkdtempSync(join(dir, 'symreg-'));
    writeFileSync(join(d, 'real.mig'), 'old');
    symlinkSync('real.mig', join(d, 'link.mig'));
    const r = await run(['rewrite', input, '-o', join(d, 'link.mig')]);
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(join(d, 'link.mig')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(d, 'real.mig')).equals(data)).toBe(true);
    only(d, ['link.mig', 'real.mig']);
  });

  it('a dangling symbolic link is not followed: exit 2, nothing created', async () => {
    const d = mkdtempSync(join(dir, 'dangle-'));
    symlinkSync(join(d, 'nowhere.mig'), join(d, 'link.mig'));
    const r = await run(['rewrite', input, '-o', join(d, 'link.mig')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`vmstate: ${join(d, 'link.mig')} is a symbolic link to a missing file: not followed (name the file itself)\n`);
    only(d, ['link.mig']);
  });

  it('a directory is refused: exit 2', async () => {
    const d = mkdtempSync(join(dir, 'dir-'));
    const r = await run(['rewrite', input, '-o', d]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`vmstate: ${d} is a directory: name the output file\n`);
    only(d, []);
  });
});

describe('streams: written through, never replaced', () => {
  it('a FIFO: its reader gets the stream byte for byte, and it stays a FIFO', async () => {
    const d = mkdtempSync(join(dir, 'fifo-'));
    const fifo = join(d, 'out.fifo');
    mkfifo(fifo);
    const got: Buffer[] = [];
    const reader = new Promise<void>((resolve, reject) => {
      createReadStream(fifo).on('data', (c) => got.push(c as Buffer)).on('end', resolve).on('error', reject);
    });
    const r = await run(['rewrite', input, '-o', fifo]);
    await reader;
    expect(r.code, r.stderr).toBe(0);
    expect(Buffer.concat(got).equals(data)).toBe(true);
    expect(lstatSync(fifo).isFIFO()).toBe(true);
    only(d, ['out.fifo']);
  });

  it('a character device (1,3 like /dev/null, made here): written to, still that device', async (ctx) => {
    if (noMknod) return ctx.skip();
    const d = mkdtempSync(join(dir, 'chr-'));
    const nul = join(d, 'null');
    mknod(nul, 'c', 1, 3);
    const r = await run(['rewrite', input, '-o', nul]);
    expect(r.code, r.stderr).toBe(0);
    const st = lstatSync(nul);
    expect(st.isCharacterDevice()).toBe(true);
    expect(st.rdev).toBe(statSync('/dev/null').rdev);
    only(d, ['null']);
  });

  it('a symbolic link to a character device: written through, link and node kept', async (ctx) => {
    if (noMknod) return ctx.skip();
    const d = mkdtempSync(join(dir, 'symchr-'));
    mknod(join(d, 'null'), 'c', 1, 3);
    symlinkSync('null', join(d, 'link'));
    const r = await run(['rewrite', input, '-o', join(d, 'link')]);
    expect(r.code, r.stderr).toBe(0);
    expect(lstatSync(join(d, 'link')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(d, 'null')).isCharacterDevice()).toBe(true);
    only(d, ['link', 'null']);
  });

  it('a device that fails writes (1,7 like /dev/full, made here): exit 2 naming it and ENOSPC, no stack trace', async (ctx) => {
    if (noMknod) return ctx.skip();
    const d = mkdtempSync(join(dir, 'full-'));
    const full = join(d, 'full');
    mknod(full, 'c', 1, 7);
    const r = await run(['rewrite', input, '-o', full]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`vmstate: cannot write ${full} (character device): ENOSPC\n`);
    expect(lstatSync(full).isCharacterDevice()).toBe(true);
    only(d, ['full']);
  });
});

describe('refused: exit 2, the node untouched', () => {
  let server: Server;
  let sockDir: string;
  beforeAll(async () => {
    sockDir = mkdtempSync(join(dir, 'sock-'));
    server = createServer();
    await new Promise<void>((r) => server.listen(join(sockDir, 'out.sock'), r));
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('a socket', async () => {
    const sock = join(sockDir, 'out.sock');
    const r = await run(['rewrite', input, '-o', sock]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`vmstate: refusing to write to ${sock}: it is a socket (outputs are regular files, FIFOs, character devices or standard output)\n`);
    expect(lstatSync(sock).isSocket()).toBe(true);
    only(sockDir, ['out.sock']);
  });

  it('a block device (7,0, made here)', async (ctx) => {
    if (noMknod) return ctx.skip();
    const d = mkdtempSync(join(dir, 'blk-'));
    const blk = join(d, 'loop');
    mknod(blk, 'b', 7, 0);
    const r = await run(['rewrite', input, '-o', blk]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('it is a block device');
    expect(lstatSync(blk).isBlockDevice()).toBe(true);
    only(d, ['loop']);
  });
});

describe('the input is never the output', () => {
  const refusals = (r: { code: number | null; stderr: string }) => {
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^vmstate: refusing to write over the input /);
    noStack(r.stderr);
    unchangedInput();
  };

  it('by its own name, a hard link, a symbolic link, or a path through ..', async () => {
    const ino = statSync(input).ino;
    const mtime = statSync(input).mtimeMs;
    linkSync(input, join(dir, 'hard.mig'));
    symlinkSync(input, join(dir, 'sym.mig'));
    mkdirSync(join(dir, 'sub'));
    for (const out of [input, join(dir, 'hard.mig'), join(dir, 'sym.mig'), join(dir, 'sub', '..', 'in.mig')]) {
      refusals(await run(['rewrite', input, '-o', out]));
    }
    // Nothing was written anywhere: same inode, same times.
    expect(statSync(input).ino).toBe(ino);
    expect(statSync(input).mtimeMs).toBe(mtime);
    rmSync(join(dir, 'hard.mig'));
    rmSync(join(dir, 'sym.mig'));
  });

  it('through a bind mount of its directory (mount --bind)', async (ctx) => {
    if (!IS_ROOT) {
      console.log('bind-mount case skipped: not root');
      return ctx.skip();
    }
    const a = mkdtempSync(join(dir, 'bind-a-'));
    const b = mkdtempSync(join(dir, 'bind-b-'));
    const m = spawnSync('mount', ['--bind', a, b]);
    if (m.status !== 0) {
      console.log(`bind-mount case skipped: mount --bind refused here: ${m.stderr.toString().trim()}`);
      return ctx.skip();
    }
    try {
      writeFileSync(join(a, 'guest.mig'), data);
      const r = await run(['rewrite', join(a, 'guest.mig'), '-o', join(b, 'guest.mig')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`vmstate: refusing to write over the input ${join(a, 'guest.mig')} (${join(b, 'guest.mig')} is the same file): choose another output path\n`);
      expect(readFileSync(join(a, 'guest.mig')).equals(data)).toBe(true);
      only(a, ['guest.mig']);
    } finally {
      spawnSync('umount', [b]);
    }
  });

  it('as standard output (`-o -` appending to the input) and as standard input', async () => {
    const fd = openSync(input, 'a');
    try {
      const r = await run(['rewrite', input, '-o', '-'], { stdout: fd });
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`vmstate: refusing to write over the input ${input}: standard output is that file\n`);
    } finally {
      closeSync(fd);
    }
    unchangedInput();
    const fd0 = openSync(input, 'r');
    try {
      refusals(await run(['rewrite', '-', '-o', input], { stdin: fd0 }));
    } finally {
      closeSync(fd0);
    }
  });

  it('profile -o refuses the stream it reads, too', async () => {
    const r = await run(['profile', input, '-o', input]);
    expect(r.code).toBe(2);
    unchangedInput();
  });
});
