// Deterministic variants of real migration streams, for the load truth table.
//
// A variant is a pure function of a sample's bytes and a variant spec (JSON data):
// the cpreg list of every vCPU is edited by the same ops, in order, and the stream is
// rewritten with the library's rewriter (every other byte is copied unchanged, the
// trailing vmdesc is patched). Needs `npm run build` (imports the built library from ../../dist/;
// rewriteFile is an internal module, reached by its path).
//
// Spec: null (unmodified copy), one op, or an array of ops. Ops (ids and values are
// hex strings, "0x..."; `name` is resolved with lookupRegs()):
//
//   {"op":"insert","id"|"name","value"}     insert before the first entry whose id is greater
//                                           (the sorted position); the id must be absent
//   {"op":"append","id"|"name","value"}     add at the end whatever the order; id must be absent
//   {"op":"remove","id"|"name"|"ids":[...]} remove; every named id must be present (a name
//                                           removes each of its ids that is present, at least one)
//   {"op":"set","id"|"name","value"}        replace the value (a name: each of its present ids)
//   {"op":"set","values":{"0x..":"0x..",...}}  several at once; every id must be present
//   {"op":"xor","id"|"name","mask"}         flip bits of the value
//   {"op":"swap-adjacent","index":k}        exchange entries k and k+1 (k < 0 counts from the end:
//                                           -2 swaps the last two)
//   {"op":"duplicate","index":k}            insert a copy of entry k right after it
//   {"op":"empty"}                          no registers at all (count 0)
//   {"op":"strip-subsection","name":"cpu/wfxt-timer"}  drop a cpu subsection (must be present)
//   {"op":"count","value":n}                after everything else, overwrite the be32
//                                           cpreg_vmstate_array_len field with n (the arrays
//                                           written are those of the edited list; use with
//                                           "empty" for a negative count)
//
// Export: applyVariant(inputPath, spec, outputPath) -> summary of what was written.
import { readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { decodeStream, lookupRegs } from '../../dist/index.js';
import { rewriteFile } from '../../dist/rewrite/rewrite-file.js';
import { hex64 } from '../../dist/regs/format.js';

const U64 = (1n << 64n) - 1n;

/** Parses "0x..." (or a decimal string / number) into an unsigned 64-bit bigint. */
export function big(v, what = 'value') {
  if (typeof v === 'bigint') return v & U64;
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt.asUintN(64, BigInt(v));
  if (typeof v === 'string' && /^(0x[0-9a-f]{1,16}|[0-9]+)$/i.test(v.trim())) return BigInt(v.trim());
  throw new Error(`variant: bad ${what} ${JSON.stringify(v)}`);
}

/** The ops of a spec, as an array (null/undefined = no op). */
export function specOps(spec) {
  if (spec === null || spec === undefined) return [];
  const ops = Array.isArray(spec) ? spec : [spec];
  for (const op of ops) {
    if (!op || typeof op !== 'object' || typeof op.op !== 'string') throw new Error(`variant: bad op ${JSON.stringify(op)}`);
  }
  return ops;
}

function resolveName(name) {
  const ids = lookupRegs(String(name));
  if (!ids.length) throw new Error(`variant: unknown register name ${name}`);
  return ids;
}

/**
 * Ids an op addresses: `id`, `ids` or `name`. A name stands for each of its ids present in the
 * list (at least one), or with `single` for its only id.
 */
function targetIds(op, list, { single = false } = {}) {
  let ids;
  if (op.id !== undefined) ids = [big(op.id, 'id')];
  else if (op.ids !== undefined) ids = op.ids.map((x) => big(x, 'id'));
  else if (op.name !== undefined) {
    ids = resolveName(op.name);
    if (single) {
      if (ids.length !== 1) throw new Error(`variant: ${op.name} names ${ids.length} ids (${ids.map(hex64).join(', ')}); give "id"`);
    } else {
      ids = ids.filter((id) => list.some((e) => e.id === id));
      if (!ids.length) throw new Error(`variant: no register named ${op.name} in the list`);
    }
  } else throw new Error(`variant: op ${op.op} needs "id", "ids" or "name"`);
  return ids;
}

function indexOf(list, id, op) {
  const i = list.findIndex((e) => e.id === id);
  if (i < 0) throw new Error(`variant: ${op.op}: ${hex64(id)} is not in the list`);
  return i;
}

/**
 * Applies the ops to one vCPU's list. Pure: returns new arrays.
 * @returns {{ids: bigint[], values: bigint[], dropSubsections: string[], count: number|null}}
 */
export function applyOpsToList(ids, values, spec, subsections = null) {
  let list = ids.map((id, i) => ({ id, value: values[i] }));
  const drop = [];
  let count = null;
  for (const op of specOps(spec)) {
    switch (op.op) {
      case 'insert':
      case 'append': {
        const [id] = targetIds(op, list, { single: true });
        if (list.some((e) => e.id === id)) throw new Error(`variant: ${op.op}: ${hex64(id)} is already in the list`);
        const e = { id, value: big(op.value) };
        if (op.op === 'append') list = [...list, e];
        else {
          const at = list.findIndex((x) => x.id > id);
          list = at < 0 ? [...list, e] : [...list.slice(0, at), e, ...list.slice(at)];
        }
        break;
      }
      case 'remove': {
        const gone = targetIds(op, list);
        for (const id of gone) indexOf(list, id, op);
        const set = new Set(gone);
        list = list.filter((e) => !set.has(e.id));
        break;
      }
      case 'set':
      case 'xor': {
        let pairs;
        if (op.op === 'set' && op.values !== undefined) {
          pairs = Object.entries(op.values).map(([k, v]) => [big(k, 'id'), big(v)]);
        } else {
          const arg = op.op === 'set' ? big(op.value) : big(op.mask, 'mask');
          pairs = targetIds(op, list).map((id) => [id, arg]);
        }
        list = list.slice();
        for (const [id, arg] of pairs) {
          const i = indexOf(list, id, op);
          list[i] = { id, value: op.op === 'set' ? arg : (list[i].value ^ arg) & U64 };
        }
        break;
      }
      case 'swap-adjacent': {
        const k = op.index;
        if (!Number.isInteger(k)) throw new Error('variant: swap-adjacent needs an integer "index"');
        const i = k < 0 ? list.length + k : k;
        if (i < 0 || i + 1 >= list.length) throw new Error(`variant: swap-adjacent index ${k} out of range for ${list.length} entries`);
        list = list.slice();
        [list[i], list[i + 1]] = [list[i + 1], list[i]];
        break;
      }
      case 'duplicate': {
        const k = op.index;
        if (!Number.isInteger(k)) throw new Error('variant: duplicate needs an integer "index"');
        const i = k < 0 ? list.length + k : k;
        if (i < 0 || i >= list.length) throw new Error(`variant: duplicate index ${k} out of range for ${list.length} entries`);
        list = [...list.slice(0, i + 1), { ...list[i] }, ...list.slice(i + 1)];
        break;
      }
      case 'empty':
        list = [];
        break;
      case 'strip-subsection': {
        if (typeof op.name !== 'string') throw new Error('variant: strip-subsection needs "name"');
        if (subsections && !subsections.some((s) => s.name === op.name)) {
          throw new Error(`variant: strip-subsection: ${op.name} is not in the cpu section`);
        }
        if (!drop.includes(op.name)) drop.push(op.name);
        break;
      }
      case 'count':
        if (!Number.isInteger(op.value) || op.value < -0x80000000 || op.value > 0x7fffffff) {
          throw new Error('variant: count needs an int32 "value"');
        }
        count = op.value;
        break;
      default:
        throw new Error(`variant: unknown op ${op.op}`);
    }
  }
  return { ids: list.map((e) => e.id), values: list.map((e) => e.value), dropSubsections: drop, count };
}

/** SHA-256 over a vCPU list (ids then values, be64), for comparing lists compactly. */
export function listDigest(ids, values) {
  const b = Buffer.alloc(16 * ids.length);
  ids.forEach((id, i) => b.writeBigUInt64BE(id, 8 * i));
  values.forEach((v, i) => b.writeBigUInt64BE(v, 8 * (ids.length + i)));
  return createHash('sha256').update(b).digest('hex');
}

export function fileDigest(path) {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/**
 * Writes the variant of `inputPath` described by `spec` to `outputPath`.
 * @returns {Promise<{cpus: {instance:number, count:number, digest:string|null}[], dropped: string[], sha256: string}>}
 */
export async function applyVariant(inputPath, spec, outputPath) {
  const ops = specOps(spec);
  const planned = [];
  if (!ops.length) {
    copyFileSync(inputPath, outputPath);
    for (const cpu of (await decodeStream(outputPath)).cpus) {
      planned.push({ instance: cpu.instance, ids: cpu.ids, values: cpu.values, dropSubsections: [], count: null });
    }
  } else {
    await rewriteFile(inputPath, outputPath, {
      // Variants may put ids out of order or repeat them on purpose: QEMU's answer is the point.
      unorderedEdits: true,
      editCpu: (cpu) => {
        const r = applyOpsToList(cpu.ids, cpu.values, ops, cpu.subsections);
        planned.push({ instance: cpu.instance, ...r });
        const edit = { ids: r.ids, values: r.values };
        if (r.dropSubsections.length) edit.dropSubsections = r.dropSubsections;
        return edit;
      },
    });
    const counts = planned.filter((p) => p.count !== null);
    if (counts.length) {
      // The rewritten stream has the edited list; find each count field and overwrite it.
      const written = await decodeStream(outputPath);
      const buf = readFileSync(outputPath);
      for (const p of counts) {
        const cpu = written.cpus.find((c) => c.instance === p.instance);
        if (!cpu) throw new Error(`variant: cpu ${p.instance} not found in the rewritten stream`);
        buf.writeInt32BE(p.count, cpu.countOffset);
      }
      writeFileSync(outputPath, buf);
    }
  }
  return {
    cpus: planned.map((p) => ({ instance: p.instance, count: p.count ?? p.ids.length, digest: p.count === null ? listDigest(p.ids, p.values) : null })),
    dropped: [...new Set(planned.flatMap((p) => p.dropSubsections))],
    sha256: fileDigest(outputPath),
  };
}
