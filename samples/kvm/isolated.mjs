#!/usr/bin/env node
// isolated.mjs — the streams of the isolated KVM cases (samples/kvm/isolated-cases.json): each is
// a committed KVM stream with one documented edit, made to show one mechanism on its own that the
// matrix only shows mixed with others (QEMU 11.1's failure flag when no write is refused; QEMU
// 10.0's post-init put after a failed merge). make-isolated.py loads them in real KVM.
//
//   node samples/kvm/isolated.mjs streams   write CACHE/isolated/<file> for every case and check
//                                           its SHA-256 against the case (a new case: prints it)
// Options: --cache DIR (default $KVM_CACHE or /work/kvm-cache). Needs `npm run build` and `xz`.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const samples = join(root, 'samples');
const args = process.argv.slice(2);
const cache = args.includes('--cache') ? args[args.indexOf('--cache') + 1] : (process.env.KVM_CACHE ?? '/work/kvm-cache');
const { rewriteStream, loadDestination } = await import(join(root, 'dist', 'index.js'));
const { applyVariant } = await import(join(samples, 'truth', 'variants.mjs'));

/** Writes the stream of one case (`edit.kind`: `rewrite` with explicit edits, or `variant` ops) to `out`. */
export async function makeCase(c, out, plain) {
  const src = plain(c.source);
  if (c.edit.kind === 'rewrite') {
    const e = c.edit;
    await rewriteStream(src, out, { dest: await loadDestination(plain(c.destSample)), strip: e.strip ?? [], adopt: e.adopt ?? [], force: true, loader: e.loader });
  } else {
    await applyVariant(src, c.edit.ops, out);
  }
  return createHash('sha256').update(readFileSync(out)).digest('hex');
}

if (args[0] === 'streams') {
  const cases = JSON.parse(readFileSync(join(here, 'isolated-cases.json'), 'utf8')).cases;
  const work = mkdtempSync(join(tmpdir(), 'vmstate-kvm-iso-'));
  const plain = (rel) => {
    const f = join(work, rel.replace(/[/]/g, '__').replace(/\.xz$/, ''));
    writeFileSync(f, execFileSync('xz', ['-dc', join(samples, rel)], { maxBuffer: 1 << 30 }));
    return f;
  };
  const dir = join(cache, 'isolated');
  mkdirSync(dir, { recursive: true });
  let bad = 0;
  try {
    for (const c of cases) {
      const sha = await makeCase(c, join(dir, c.file), plain);
      const ok = sha === c.sha256;
      if (!ok) bad++;
      console.log(`${ok ? 'ok ' : 'NEW'} ${c.id} ${sha}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.exit(bad ? 1 : 0);
}
