import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { vmstate } from './helpers/cli.js';
import { samplePaths, sampleBytes } from './helpers/samples.js';

const GOLDEN = join(import.meta.dirname, 'golden');

describe("dump equals QEMU's analyser output (as parsed JSON)", () => {
  for (const s of samplePaths()) {
    const [dir, name] = s.name.split('/') as [string, string];
    const base = join(GOLDEN, dir.replace('qemu-', ''), name);
    it(`${s.name} -d state`, () => {
      const r = vmstate(['dump', s.path]);
      expect(r.code, r.stderr).toBe(0);
      const ours = JSON.parse(r.stdout);
      if (existsSync(`${base}.state.json`)) {
        expect(ours).toEqual(JSON.parse(readFileSync(`${base}.state.json`, 'utf8')));
      } else {
        // The analyser cannot read QEMU 7.2 aarch64 streams; ours still has every section.
        expect(s.name.startsWith('qemu-7.2/')).toBe(true);
        expect(Object.keys(ours).filter((k) => k.startsWith('cpu (')).length).toBe(2);
        expect(ours[Object.keys(ours)[0]!]['section sizes']['mach-virt.ram']).toBe('0x0000000004000000');
      }
      // The same from a pipe.
      const p = vmstate(['dump', '-'], sampleBytes(s.path));
      expect(p.code, p.stderr).toBe(0);
      expect(p.stdout).toBe(r.stdout);
    });
    it(`${s.name} -d desc`, () => {
      const r = vmstate(['dump', s.path, '--desc']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toEqual(JSON.parse(readFileSync(`${base}.desc.json`, 'utf8')));
    });
  }
});
