// Inserts, in sorted position and in every vCPU, the registers a destination has and a stream
// lacks that are constants on the destination (their raw write is ignored and they read back
// a fixed value: ID registers, RMR_ELx, ...), with the destination's values. A hand edit for real
// loads: what a rewrite that supplies missing constants would produce.
//
// Usage: node samples/devices/add-missing-const.mjs IN DEST_SAMPLE GENERATION OUT
//   GENERATION: the destination's register generation as the library names it (7.2, 10.x, 11.1);
//   "constant" is the library's classification from QEMU's sources (src/match/raw-access.ts).
// Prints {"inserted": [{"id", "name", "value"}...]} and writes OUT only when something is inserted.
// Needs `npm run build`.
import { decodeStream as decodeFile, regName } from '../../dist/index.js';
import { hex64 } from '../../dist/regs/format.js';
import { rawWriteKind } from '../../dist/match/raw-access.js';
import { applyVariant } from '../truth/variants.mjs';

const [input, destPath, generation, output] = process.argv.slice(2);
if (!output) {
  console.error('usage: add-missing-const.mjs IN DEST_SAMPLE GENERATION OUT');
  process.exit(2);
}
const [src, dest] = [await decodeFile(input), await decodeFile(destPath)];
const have = new Set(src.cpus[0].ids);
const d = dest.cpus[0];
const inserted = d.ids
  .map((id, i) => ({ id, value: d.values[i] }))
  .filter(({ id }) => !have.has(id) && rawWriteKind(id, generation) === 'const');
if (inserted.length) {
  await applyVariant(input, inserted.map(({ id, value }) => ({ op: 'insert', id: hex64(id), value: hex64(value) })), output);
}
console.log(JSON.stringify({ inserted: inserted.map(({ id, value }) => ({ id: hex64(id), name: regName(id, 'tcg'), value: hex64(value) })) }));
