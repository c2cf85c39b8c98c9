#!/usr/bin/env node
// Reading page contents versus skipping them, on a cached stream: what `inspect` would gain by
// seeking over every guest page instead of reading through it.
//
//   node bench/skip-vs-read.mjs [STREAM]     (default: the 1 GiB stream of bench/run.mjs)
//
// "read all" reads the whole file sequentially in 128 KiB chunks into one reused buffer (what
// the reader does). "skip pages" makes one small positioned read per 4 KiB page record, at the
// stride of a run of PAGE records (4 KiB + 8-byte header), which is the least a walk that
// never reads page contents must do. Both are blocking reads, the cheapest kind from Node.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';

const path = process.argv[2] ?? join(process.env.VMSTATE_BENCH_DIR || '/var/tmp/vmstate-bench', 'qemu-7.2-virt-max-1024m-seed1.mig');
const fd = openSync(path, 'r');
const size = fstatSync(fd).size;

function time(label, fn) {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const n = fn();
  const c = process.cpuUsage(c0);
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(12)} ${String(n).padStart(8)} reads  ${ms.toFixed(0).padStart(6)} ms wall  ${((c.user + c.system) / 1000).toFixed(0).padStart(6)} ms CPU`);
  return ms;
}

// Warm the page cache first, so both measure memory, not the disk.
const warm = Buffer.allocUnsafeSlow(1 << 20);
for (let p = 0; p < size; p += warm.length) readSync(fd, warm, 0, warm.length, p);

const chunk = Buffer.allocUnsafeSlow(128 << 10);
const header = Buffer.allocUnsafeSlow(64);
for (let round = 0; round < 3; round++) {
  time('read all', () => {
    let n = 0;
    for (let p = 0; p < size; p += chunk.length, n++) readSync(fd, chunk, 0, chunk.length, p);
    return n;
  });
  time('skip pages', () => {
    let n = 0;
    for (let p = 0; p < size; p += 4096 + 8, n++) readSync(fd, header, 0, header.length, p);
    return n;
  });
}
closeSync(fd);
