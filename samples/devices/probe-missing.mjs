// Which of the registers a destination has and a stream lacks make a real load fail on their own?
// For each such register R, every other missing register is inserted with the destination's value
// (sorted position, every vCPU) and the result is loaded into the real destination: a refusal means
// that R missing is enough to fail. One load per missing register, one at a time.
//
// Usage: node samples/devices/probe-missing.mjs IN DEST_SAMPLE -- QMP_SAVE_LOAD_ARGS...
//   QMP_SAVE_LOAD_ARGS: everything `samples/qmp-save.py load` needs except -i and --json
//   (e.g. --chroot /work/qemu-trees/sid -M virt-7.2,gic-version=3,its=on -c max -- -bios ...).
// Prints one line per register (fails alone | loads alone), then a summary. Needs `npm run build`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { decodeStream as decodeFile, regName } from '../../dist/index.js';
import { hex64 } from '../../dist/regs/format.js';
import { applyVariant } from '../truth/variants.mjs';

const sep = process.argv.indexOf('--');
const [input, destPath] = process.argv.slice(2, sep < 0 ? undefined : sep);
if (sep < 0 || !input || !destPath) {
  console.error('usage: probe-missing.mjs IN DEST_SAMPLE -- QMP_SAVE_LOAD_ARGS...');
  process.exit(2);
}
const loadArgs = process.argv.slice(sep + 1);
const QMP_SAVE = join(import.meta.dirname, '..', 'qmp-save.py');
const [src, dest] = [await decodeFile(input), await decodeFile(destPath)];
const have = new Set(src.cpus[0].ids);
const d = dest.cpus[0];
const missing = d.ids.map((id, i) => ({ id, value: d.values[i] })).filter(({ id }) => !have.has(id));
const dir = mkdtempSync(join(tmpdir(), 'vmstate-probe-'));
const summary = { failsAlone: [], loadsAlone: [] };
try {
  for (const m of missing) {
    const out = join(dir, 'probe.mig');
    const ops = missing.filter((x) => x !== m).map((x) => ({ op: 'insert', id: hex64(x.id), value: hex64(x.value) }));
    await applyVariant(input, ops, out);
    // the load arguments end with `-- <extra QEMU args>`: -i and --json go before them
    const at = loadArgs.indexOf('--');
    const argv = at < 0 ? [...loadArgs, '-i', out, '--json'] : [...loadArgs.slice(0, at), '-i', out, '--json', ...loadArgs.slice(at)];
    const r = spawnSync('python3', [QMP_SAVE, 'load', ...argv], { encoding: 'utf8' });
    const verdict = JSON.parse(r.stdout).verdict;
    if (verdict !== 'accept' && verdict !== 'reject') throw new Error(`load of ${regName(m.id, 'tcg')}: ${r.stdout}`);
    const entry = `${regName(m.id, 'tcg') ?? hex64(m.id)} (${hex64(m.id)} = ${hex64(m.value)})`;
    console.log(`${verdict === 'accept' ? 'loads alone' : 'fails alone'}  ${entry}`);
    (verdict === 'accept' ? summary.loadsAlone : summary.failsAlone).push(entry);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(JSON.stringify(summary));
