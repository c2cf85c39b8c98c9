#!/usr/bin/env node
// Bytes a decode reads from a stream file, counted in the process (every sequential chunk and
// every positioned read), for `inspect`/`regs`/`check`'s decode (tail-first) and `verify`'s
// (the whole stream). Prints JSON: { tailFirst: {bytes, mode}, whole: {bytes, mode} }.
//
//   node bench/bytes-read.mjs STREAM
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { FileSource } = await import(join(ROOT, 'dist/wire/source.js'));
const { decodeStream } = await import(join(ROOT, 'dist/stream/decode.js'));

async function counted(path, fullWalk) {
  const f = await FileSource.open(path);
  let n = 0;
  const src = {
    size: f.size,
    async read() {
      const c = await f.read();
      if (c) n += c.length;
      return c;
    },
    async readAt(p, l) {
      const b = await f.readAt(p, l);
      n += b.length;
      return b;
    },
    skip: (k) => f.skip(k),
    release: (c) => f.release(c),
    close: () => f.close(),
  };
  try {
    const d = await decodeStream(src, { fullWalk });
    return { bytes: n, mode: d.walk.mode };
  } finally {
    await f.close();
  }
}

const path = process.argv[2];
if (!path) throw new Error('usage: node bench/bytes-read.mjs STREAM');
process.stdout.write(JSON.stringify({ tailFirst: await counted(path, false), whole: await counted(path, true) }) + '\n');
