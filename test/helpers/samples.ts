/** The real sample streams committed under samples/. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const SAMPLES_DIR = join(import.meta.dirname, '..', '..', 'samples');

/** Every `samples/qemu-*\/*.mig`, as `{ name: 'qemu-7.2/virt-7.2_max', path }`. */
export function samplePaths(): { name: string; path: string }[] {
  const out: { name: string; path: string }[] = [];
  for (const d of readdirSync(SAMPLES_DIR).filter((x) => x.startsWith('qemu-')).sort()) {
    for (const f of readdirSync(join(SAMPLES_DIR, d)).filter((x) => x.endsWith('.mig')).sort()) {
      out.push({ name: `${d}/${f.replace(/\.mig$/, '')}`, path: join(SAMPLES_DIR, d, f) });
    }
  }
  return out;
}

const cache = new Map<string, Buffer>();
/** A sample's bytes (cached). */
export function sampleBytes(path: string): Buffer {
  let b = cache.get(path);
  if (!b) cache.set(path, (b = readFileSync(path)));
  return b;
}
