#!/usr/bin/env node
// evaluate.mjs — what the tool says about the real-KVM table (samples/truth/kvm-table.json).
//
//   node samples/kvm/evaluate.mjs check      run `vmstate check` on every row (without --loader: the
//                                            check infers the destination's QEMU and kernel) and write
//                                            samples/kvm/check-vs-kvm.json: verdict and "QEMU would print"
//                                            lines against QEMU's real verdict and stderr
//   node samples/kvm/evaluate.mjs rewrites   for every row real KVM refused, run the rewrite the tool
//                                            suggests (`rewrite SRC --dest DEST --strip-unknown
//                                            --adopt-dest-values id-regs --strip-unknown-subsections
//                                            --loader L`) and write the rewritten streams to
//                                            CACHE/rewrites/ and their list to samples/kvm/rewrite-cases.json
//                                            (then `make-kvm.py rewrites` loads them in their real
//                                            destinations and `make-kvm.py collect` adds those rows)
//   node samples/kvm/evaluate.mjs rewrites2  for every rewrite row real KVM still refused, the same rewrite
//                                            plus adopting the destination's values of every other register
//                                            whose value differs and that KVM validates (CCSIDR cache
//                                            geometry, PSCI_VERSION and the other firmware registers):
//                                            CACHE/rewrites2/ and samples/kvm/rewrite-cases-2.json
//                                            (`make-kvm.py rewrites --round 2` loads them)
//   node samples/kvm/evaluate.mjs suggested [--round N] [--no-loader] [--changed-from M]
//                                            for every row real KVM refused, ask `vmstate check --json`
//                                            for its next step and run the `vmstate rewrite` command it
//                                            suggests, as printed: CACHE/rewritesN/ and
//                                            samples/kvm/rewrite-cases-N.json (`make-kvm.py rewrites
//                                            --round N` loads them, `make-kvm.py collect-round --round N`
//                                            adds the rows); rows the check offers no command for are
//                                            listed with its reason. Round 3 (the default) passed
//                                            --loader = the destination's QEMU; round 5 is
//                                            `--round 5 --no-loader`: the check run as a user would, the
//                                            destination's QEMU, KVM and kernel inferred; --changed-from M
//                                            keeps only the rows whose command differs from round M's
//   node samples/kvm/evaluate.mjs classes    for every round-3 row real KVM still refused, the same command
//                                            with the other classes of guest-visible values added to
//                                            --adopt-dest-values (cache-geometry, psci-version, fw-workarounds,
//                                            hypercall-bitmaps): CACHE/rewrites4/ and rewrite-cases-4.json
//                                            (`make-kvm.py rewrites --round 4`, then `collect-round --round 4`)
//   node samples/kvm/evaluate.mjs facts      print the cpreg facts of the committed KVM streams as
//                                            Markdown (counts, ids only in one kernel generation, values
//                                            that differ: ID registers with fields, cache geometry,
//                                            firmware pseudo-registers) for FINDINGS.md
//   node samples/kvm/evaluate.mjs summary    print the load matrix (cause of every refusal) and the
//                                            check-vs-reality tables as Markdown for FINDINGS.md
// Options: --cache DIR (default $KVM_CACHE or /work/kvm-cache); check: --fresh re-checks every row (by
// default rows already in check-vs-kvm.json with the same outcome are kept). Needs `npm run build` and `xz`.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const samples = join(root, 'samples');
const cli = join(root, 'dist', 'cli', 'main.js');
const args = process.argv.slice(2);
const mode = args[0];
const cache = args.includes('--cache') ? args[args.indexOf('--cache') + 1] : (process.env.KVM_CACHE ?? '/work/kvm-cache');
const LOADER = { '7.2': 'qemu-7.2', '10.0': 'qemu-10.0', '11.1': 'qemu-11.1' };
const table = JSON.parse(readFileSync(join(samples, 'truth', 'kvm-table.json'), 'utf8'));
const work = mkdtempSync(join(tmpdir(), 'vmstate-kvm-eval-'));
process.on('exit', () => rmSync(work, { recursive: true, force: true }));

const plain = new Map();
/** The uncompressed stream of a committed `kvm/…mig.xz` sample (or a cache path as is). */
function streamFile(p) {
  if (!p.endsWith('.xz')) return p;
  let f = plain.get(p);
  if (!f) {
    f = join(work, p.replace(/[/]/g, '__').replace(/\.xz$/, ''));
    writeFileSync(f, execFileSync('xz', ['-dc', join(samples, p)], { maxBuffer: 1 << 30 }));
    plain.set(p, f);
  }
  return f;
}

function run(argv) {
  const r = spawnSync(process.execPath, [cli, ...argv], { encoding: 'utf8', maxBuffer: 1 << 28 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The lines after "QEMU would print:" in check's human output. */
function wouldPrint(text) {
  const lines = text.split('\n');
  const i = lines.indexOf('QEMU would print:');
  if (i < 0) return [];
  const out = [];
  for (const l of lines.slice(i + 1)) {
    if (!l.startsWith('  ')) break;
    out.push(l.slice(2));
  }
  return out;
}

function checkRow(row, extra = []) {
  const src = row.phase === 'rewrites' ? join(cache, (row.round ?? 1) > 1 ? `rewrites${row.round}` : 'rewrites', basename(row.variant.file)) : streamFile(row.source);
  const dest = streamFile(row.destSample);
  const loader = LOADER[row.dest.qemu];
  // As a user would: no --loader, --accel or --kernel (the check infers them from the destination).
  const base = ['check', src, '--dest', dest, ...extra];
  const j = run([...base, '--json']);
  let rep = null;
  try {
    rep = JSON.parse(j.stdout);
  } catch {
    return { error: (j.stderr || j.stdout).trim().split('\n')[0] };
  }
  // what `vmstate check` prints without --json
  const predicted = wouldPrint(run(base).stdout);
  // QEMU's lines minus the per-register warnings the checker does not list one by one
  const real = row.stderr;
  const realCrash = row.result === 'crash';
  return {
    verdict: rep.verdict,
    agrees: rep.verdict === (row.result === 'accept' ? 'accept' : 'reject') || (realCrash && rep.verdict === 'reject'),
    linesEqual: JSON.stringify(predicted) === JSON.stringify(real),
    lastLineEqual: (predicted.at(-1) ?? null) === (real.at(-1) ?? null),
    wouldPrint: predicted,
    reasons: rep.cpus
      .flatMap((c) => c.anomalies.filter((a) => a.fatal).map((a) => `${a.kind} ${a.name ?? a.id}`))
      .filter((v, i, a) => a.indexOf(v) === i)
      .slice(0, 12),
    accel: rep.accel,
    loaderUsed: rep.loader,
    loaderInferred: rep.facts?.loader?.name ?? null,
    loaderExpected: loader,
    kernelInferred: rep.facts?.kernel?.version ?? null,
  };
}

if (mode === 'check') {
  const out = [];
  // rows already checked (same id, same QEMU outcome) are kept unless --fresh: the streams are committed
  const prevPath = join(here, 'check-vs-kvm.json');
  const prev = !args.includes('--fresh') && existsSync(prevPath) ? new Map(JSON.parse(readFileSync(prevPath, 'utf8')).rows.map((r) => [r.id, r])) : new Map();
  for (const row of table.rows) {
    const old = prev.get(row.id);
    if (old && old.result === row.result && JSON.stringify(old.stderr) === JSON.stringify(row.stderr)) {
      out.push(old);
      continue;
    }
    const plainRes = checkRow(row);
    const res = { id: row.id, phase: row.phase, result: row.result, stderr: row.stderr, check: plainRes };
    if (row.dest.qemu === '11.1') res.checkWithPreset = checkRow(row, ['--preset', 'qemu-11.1-host']);
    out.push(res);
    process.stderr.write(`${row.result.padEnd(7)} ${String(plainRes.verdict).padEnd(7)} ${plainRes.agrees ? ' ' : 'X'} ${row.id}\n`);
  }
  const p = join(here, 'check-vs-kvm.json');
  writeFileSync(p + '.part', JSON.stringify({ description: 'vmstate check SRC --dest DEST (no --loader: the destination QEMU and kernel inferred) on every row of samples/truth/kvm-table.json; 11.1 rows also with --preset qemu-11.1-host', rows: out }, null, 1) + '\n');
  renameSync(p + '.part', p);
  const n = out.length;
  const agree = out.filter((r) => r.check.agrees).length;
  const lines = out.filter((r) => r.check.linesEqual).length;
  console.log(`${n} rows: verdict agrees on ${agree}, "QEMU would print" equals QEMU's lines on ${lines}`);
} else if (mode === 'rewrites') {
  const dir = join(cache, 'rewrites');
  mkdirSync(dir, { recursive: true });
  const seen = new Set();
  const cases = [];
  for (const row of table.rows) {
    if (row.phase === 'rewrites' || row.result === 'accept') continue;
    const key = `${row.source} ${row.destSample} ${row.dest.machine}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const loader = LOADER[row.dest.qemu];
    const id = `rewrite/${row.id}`;
    const file = join(dir, id.replace(/[/]/g, '__') + '.mig');
    const flags = ['--strip-unknown', '--adopt-dest-values', 'id-regs', '--strip-unknown-subsections', '--loader', loader];
    rmSync(file, { force: true });
    const r = run(['rewrite', streamFile(row.source), '-o', file, '--dest', streamFile(row.destSample), ...flags, '--json']);
    let rep = null;
    try {
      rep = JSON.parse(r.stdout);
    } catch {
      rep = null;
    }
    const written = r.status === 0 && existsSync(file);
    const c = {
      id,
      case: `${row.case} rewritten for ${row.dest.l1}`,
      title: `${row.title}, after \`rewrite ${flags.join(' ')}\``,
      source: row.source,
      variant: { rewriteOf: row.id, flags, file: basename(file), toolExit: r.status, predicted: written ? 'accept' : 'reject', toolMessage: written ? null : (r.stderr || r.stdout).trim().split('\n').slice(0, 6) , edits: rep?.cpus?.[0] ? { removed: rep.cpus[0].removed.map((x) => x.name ?? x.id), changed: rep.cpus[0].changed.map((x) => x.name ?? x.id), droppedSubsections: rep.cpus[0].droppedSubsections, refused: rep.cpus[0].refused } : null },
      dest: { ...row.dest, combo: `${{ '6.1': 'bookworm', '6.12': 'trixie', '7.2': 'sid' }[row.dest.kernel]}_${{ '7.2': 'bookworm', '10.0': 'trixie', '11.1': 'sid' }[row.dest.qemu]}` },
      destSample: row.destSample,
      file: written ? file : null,
      sha256: written ? createHash('sha256').update(readFileSync(file)).digest('hex') : null,
    };
    cases.push(c);
    process.stderr.write(`${c.variant.predicted.padEnd(7)} ${id}\n`);
  }
  const p = join(here, 'rewrite-cases.json');
  writeFileSync(p, JSON.stringify({ description: 'rewrites the tool suggests for the real-KVM failures; make-kvm.py rewrites loads the written ones', cases: cases.map((c) => ({ ...c, file: c.file ? basename(c.file) : null })) }, null, 1) + '\n');
  console.log(`${cases.length} failing rows: the tool writes ${cases.filter((c) => c.file).length} (predicts accept), refuses ${cases.filter((c) => !c.file).length}`);
} else if (mode === 'rewrites2') {
  await rewrites2();
} else if (mode === 'suggested') {
  suggested();
} else if (mode === 'classes') {
  classes();
} else if (mode === 'facts') {
  await facts();
} else if (mode === 'summary') {
  await summary();
} else {
  console.error('usage: evaluate.mjs check|rewrites|rewrites2|suggested [--round N] [--no-loader] [--changed-from M]|classes|facts|summary [--cache DIR]');
  process.exit(2);
}

/** The cpreg facts of the committed streams, as Markdown tables. */
async function facts() {
  const { decodeStream: decodeFile } = await import(join(root, 'dist', 'index.js'));
  const { regName, idRegisterFields, isIdRegister, hex64 } = await import(join(root, 'dist', 'regs', 'index.js'));
  const dirs = Object.keys(table.l1);
  const kernels = ['6.1', '6.12', '7.2'];
  const qemus = ['7.2', '10.0', '11.1'];
  const l0 = table.rows[0].source.split('/')[1];
  const lists = new Map();
  for (const d of dirs) {
    for (const f of ['virt-7.2_host_gic3', 'virt-7.2_host_gic3_paused', 'virt-7.2_host_gichost', `virt-${d.split('_q')[1]}_host_gic3`]) {
      const p = `kvm/${l0}/${d}/${f}.mig.xz`;
      if (!existsSync(join(samples, p))) continue;
      const s = await decodeFile(streamFile(p));
      lists.set(`${d}/${f}`, { ids: s.cpus[0].ids, map: new Map(s.cpus[0].ids.map((id, i) => [id, s.cpus[0].values[i]])), subs: s.cpus[0].subsections?.map((x) => x.name) ?? [] });
    }
  }
  const name = (id) => regName(id, 'kvm') ?? hex64(id);
  const out = [];
  out.push(`### cpreg counts (cpu 0; \`-cpu host\`, L0 = ${l0.replace('l0-', 'QEMU ')} \`-cpu max\`)`, '');
  out.push('| kernel \\\\ QEMU | ' + qemus.join(' | ') + ' |', '|---|' + qemus.map(() => '---|').join(''));
  for (const k of kernels) {
    out.push(`| ${k} | ` + qemus.map((q) => {
      const c = [...lists.entries()].filter(([n]) => n.startsWith(`k${k}_q${q}/`)).map(([n, v]) => `${v.ids.length}`);
      return [...new Set(c)].join(', ');
    }).join(' | ') + ' |');
  }
  out.push('', 'Every stream of one L1 (virt-7.2 and native machine, GIC v3 and `host`, ran or paused) has the same id list.', '');
  // ids per kernel (same QEMU 11.1): union over QEMUs to show QEMU-independence
  const base = (k, q) => lists.get(`k${k}_q${q}/virt-7.2_host_gic3`);
  const sameAcrossQemu = kernels.every((k) => qemus.every((q) => JSON.stringify(base(k, q)?.ids.map(String)) === JSON.stringify(base(k, '11.1')?.ids.map(String))));
  out.push(`The id list depends on the kernel only: for each kernel the three QEMU versions save ${sameAcrossQemu ? 'the same ids' : 'DIFFERENT ids (see below)'}.`, '');
  const l61 = base('6.1', '11.1');
  if (l61) {
    const groups = new Map();
    for (const id of l61.ids) {
      const g = { 0x11n: 'CCSIDR (demux)', 0x13n: 'system registers', 0x14n: 'firmware', 0x16n: 'firmware feature bitmaps' }[(id >> 16n) & 0xfffn] ?? 'other';
      groups.set(g, [...(groups.get(g) ?? []), name(id)]);
    }
    out.push(`The kernel 6.1 list (${l61.ids.length} ids, in stream order; 6.12 and 7.2 add the ids listed below and drop none):`, '');
    for (const [g, names] of groups) out.push(`* ${g} (${names.length}): ${names.join(', ')}`);
    out.push('');
  }
  for (const [a, b] of [['6.1', '6.12'], ['6.12', '7.2'], ['6.1', '7.2']]) {
    const A = base(a, '11.1'), B = base(b, '11.1');
    if (!A || !B) continue;
    const onlyA = A.ids.filter((id) => !B.map.has(id));
    const onlyB = B.ids.filter((id) => !A.map.has(id));
    out.push(`#### kernel ${a} → ${b} (QEMU 11.1 streams)`, '');
    out.push(`Only in ${a} (${onlyA.length}): ${onlyA.map((id) => `\`${name(id)}\``).join(', ') || '—'}`, '');
    out.push(`Only in ${b} (${onlyB.length}): ${onlyB.map((id) => `${'`'}${name(id)}${'`'} = ${'`'}0x${B.map.get(id).toString(16)}${'`'}`).join(', ') || '—'}`, '');
    out.push('| register | id | ' + a + ' | ' + b + ' | fields |', '|---|---|---|---|---|');
    for (const id of A.ids) {
      const va = A.map.get(id), vb = B.map.get(id);
      if (vb === undefined || va === vb) continue;
      const n = name(id);
      const grp = (id >> 16n) & 0xfffn;
      const interesting = isIdRegister(id) || grp === 0x11n || grp === 0x14n || grp === 0x16n;
      if (!interesting) continue;
      const psci = (v) => `${v >> 16n}.${v & 0xffffn}`;
      const f = n === 'PSCI_VERSION' ? `PSCI ${psci(va)} → ${psci(vb)}` : grp === 0x14n || grp === 0x16n ? '' : idRegisterFields(id, va, vb).map((x) => `${x.field} ${x.a}→${x.b}`).join(', ');
      out.push(`| \`${n}\` | \`${hex64(id)}\` | \`0x${va.toString(16)}\` | \`0x${vb.toString(16)}\` | ${f} |`);
    }
    out.push('');
  }
  // firmware pseudo-registers per kernel
  out.push('#### Firmware pseudo-registers (QEMU 11.1 streams)', '', '| register | ' + kernels.join(' | ') + ' |', '|---|' + kernels.map(() => '---|').join(''));
  const fw = new Set();
  for (const k of kernels) for (const id of base(k, '11.1')?.ids ?? []) if (((id >> 16n) & 0xfffn) === 0x14n || ((id >> 16n) & 0xfffn) === 0x16n) fw.add(id);
  for (const id of [...fw].sort((x, y) => (x < y ? -1 : 1))) {
    out.push(`| \`${name(id)}\` | ` + kernels.map((k) => { const v = base(k, '11.1')?.map.get(id); return v === undefined ? '—' : `0x${v.toString(16)}`; }).join(' | ') + ' |');
  }
  out.push('');
  // values that differ between QEMU versions on one kernel
  out.push('#### Same kernel, different QEMU (virt-7.2 streams): registers whose values differ', '');
  for (const k of kernels) {
    const diffs = new Set();
    for (const q of qemus) for (const q2 of qemus) {
      const A = base(k, q), B = base(k, q2);
      if (!A || !B || q === q2) continue;
      for (const id of A.ids) { const vb = B.map.get(id); if (vb !== undefined && vb !== A.map.get(id) && (isIdRegister(id) || ((id >> 16n) & 0xfffn) !== 0x13n)) diffs.add(name(id)); }
    }
    out.push(`* kernel ${k}: ${[...diffs].map((n) => `\`${n}\``).join(', ') || 'no ID register or firmware register differs'}`);
  }
  out.push('');
  console.log(out.join('\n'));
}

/** Short cause of a refusal, from QEMU's own lines. */
function cause(row) {
  const e = row.stderr;
  const m = e.map((l) => l.match(/Invalid value (\d+) expecting positive value <= (\d+)/)).find(Boolean);
  if (m) return `count ${m[1]} > ${m[2]}`;
  if (e.some((l) => l.includes('Machine type received'))) return 'machine type';
  if (row.result === 'crash') return `crash (signal ${row.signal})`;
  const put = e.some((l) => l.startsWith('Failed to put registers after init'));
  if (put) {
    const regs = [...new Set(e.filter((l) => l.startsWith('Could not set register')))];
    if (!regs.length) return 'put after init (no register named)';
    const unknown = regs.filter((l) => l.includes('unknown to KVM')).length;
    const parts = [regs.length - unknown && `${regs.length - unknown} value(s) refused`, unknown && `${unknown} unknown to KVM`].filter(Boolean);
    return `put after init: ${parts.join(', ')}`;
  }
  const last = e.at(-1) ?? '';
  if (last.includes('No such file or directory')) return 'unknown subsection (ENOENT)';
  if (last.includes('Operation not permitted')) return 'cpreg write (EPERM)';
  if (last.includes('post load hook failed')) return 'post-load (11.1)';
  return last.slice(0, 60);
}

/** QEMU 11.1's register text under KVM ("system register op0:3 …", "demuxed reg 60…", "fw reg 0") → KVM id. */
function qemuRegId(text) {
  let m = text.match(/^system register op0:(\d+) op1:(\d+) crn:(\d+) crm:(\d+) op2:(\d+)/);
  if (m) {
    const [o0, o1, n, mm, o2] = m.slice(1).map(BigInt);
    return 0x6030000000130000n | (o0 << 14n) | (o1 << 11n) | (n << 7n) | (mm << 3n) | o2;
  }
  m = text.match(/^demuxed reg ([0-9a-f]+)/);
  if (m) return BigInt('0x' + m[1]);
  m = text.match(/^fw reg (\d+)/);
  if (m) return 0x6030000000140000n | BigInt(m[1]);
  m = text.match(/^fw feat reg (\d+)/);
  if (m) return 0x6030000000160000n | BigInt(m[1]);
  return null;
}

/** The registers KVM refused in a row ("Could not set register …"), named, unique, in QEMU's order. */
function refused(row, regName) {
  const out = [];
  for (const l of row.stderr) {
    const m = l.match(/^Could not set register (.*?)(?:: unknown to KVM| to ([0-9a-f]+) \(is ([0-9a-f]+)\))$/);
    if (!m) continue;
    const id = qemuRegId(m[1]);
    const n = id === null ? m[1] : (regName(id, 'kvm') ?? m[1]);
    const t = m[2] ? `${n} ${m[2]}→is ${m[3]}` : `${n} unknown`;
    if (!out.includes(t)) out.push(t);
  }
  return out;
}

async function summary() {
  const { regName } = await import(join(root, 'dist', 'regs', 'index.js'));
  const hosts = Object.keys(table.l1);
  const rows = table.rows;
  const cell = (r) => (r ? (r.result === 'accept' ? '**accept**' : cause(r)) : '—');
  const rewriteCell = (r) => (r.result === 'accept' ? '**accept**' : `${cause(r)}${refused(r, regName).length ? ': ' + refused(r, regName).join(', ') : ''}`);
  const out = [];
  out.push('### virt-7.2 (GICv3) streams: source host (row) → destination host (column)', '');
  out.push('| source \\\\ dest | ' + hosts.join(' | ') + ' |', '|---|' + hosts.map(() => '---|').join(''));
  for (const s of hosts) {
    out.push(`| ${s} | ` + hosts.map((d) => cell(rows.find((r) => r.phase !== 'rewrites' && r.id === `${d}/${s}/virt-7.2_host_gic3`))).join(' | ') + ' |');
  }
  out.push('', '### Native machine types (`-M virt`: virt-10.0, virt-11.1), same QEMU, across kernels', '');
  for (const r of rows.filter((x) => x.phase === 'loads' && !x.case.includes('virt-7.2'))) out.push(`* ${r.id}: ${cell(r)}`);
  out.push('');
  out.push('### What KVM refused (QEMU 11.1 destinations, `Could not set register …`, each printed once per attempt)', '');
  out.push('| row (destination/source/stream) | registers (stream value → destination value, or unknown to KVM) |', '|---|---|');
  const seenPairs = new Set();
  for (const r of rows.filter((x) => x.phase === 'loads' && x.dest.qemu === '11.1')) {
    const src = r.source.split('/')[2].replace(/_q.*/, '');
    const key = `${src}→k${r.dest.kernel} ${r.case.split('/')[1]}`;
    const list = refused(r, regName);
    if (!list.length || seenPairs.has(key + list.join())) continue;
    seenPairs.add(key + list.join());
    out.push(`| ${r.id} | ${list.map((x) => `\`${x}\``).join(', ')} |`);
  }
  out.push('');
  const rw = rows.filter((r) => r.phase === 'rewrites');
  if (rw.length) {
    out.push('### Loads of rewritten streams (round 1: the rewrite the tool suggested then; round 2: + CCSIDR, PSCI_VERSION; round 3: the next step `check --loader` printed before the KVM model; round 4: round 3 + every class of guest-visible value; round 5: the next step `check` prints with the KVM model, run as a user would; round 6: the round-5 commands that changed once a register hidden by an ID field calls for the ID registers only)', '');
    out.push('| round | rows | a command written | tool predicted accept | real KVM loaded | wrong accepts (predicted accept, refused) |', '|---|---|---|---|---|---|');
    for (const n of [...new Set(rw.map((r) => r.round ?? 1))].sort((a, b) => a - b)) {
      const x = rw.filter((r) => (r.round ?? 1) === n);
      const pa = x.filter((r) => r.variant.predicted === 'accept' && r.result);
      out.push(`| ${n} | ${x.length} | ${x.filter((r) => r.result).length} | ${pa.length} | ${x.filter((r) => r.result === 'accept').length} | ${pa.filter((r) => r.result !== 'accept').length} |`);
    }
    out.push('', '| row (destination/source/stream) | round | tool predicted | real KVM |', '|---|---|---|---|');
    for (const r of rw) out.push(`| ${r.id.replace(/^(rewrite2?|suggested\d*|classes)\//, '')} | ${r.round ?? 1} | ${r.variant.predicted} | ${r.result ? rewriteCell(r) : 'not loaded: ' + (r.variant.suggestion?.reason ?? r.variant.toolMessage?.at(-1) ?? 'no command')} |`);
    out.push('');
  }
  const cp = join(here, 'check-vs-kvm.json');
  if (existsSync(cp)) {
    const cv = JSON.parse(readFileSync(cp, 'utf8')).rows;
    const byPhase = (ph) => cv.filter((r) => r.phase === ph);
    out.push('### `vmstate check` against real KVM', '');
    out.push('| rows | verdict agrees | "QEMU would print" = QEMU\'s lines | last line agrees |', '|---|---|---|---|');
    for (const ph of ['saves', 'loads', 'rewrites']) {
      const x = byPhase(ph);
      if (!x.length) continue;
      out.push(`| ${ph} (${x.length}) | ${x.filter((r) => r.check.agrees).length} | ${x.filter((r) => r.check.linesEqual).length} | ${x.filter((r) => r.check.lastLineEqual).length} |`);
    }
    out.push('', 'Rows where the verdict or the lines differ (`check SRC --dest DEST`, no `--loader`; 11.1 rows also with `--preset qemu-11.1-host`):', '');
    out.push('| row | real | check | check + preset | check\'s fatal findings (first) | QEMU\'s last line | check\'s last line |', '|---|---|---|---|---|---|---|');
    for (const r of cv) {
      if (r.check.agrees && r.check.linesEqual) continue;
      const pre = r.checkWithPreset ? r.checkWithPreset.verdict : '';
      out.push(`| ${r.id} | ${r.result} | ${r.check.verdict}${r.check.agrees ? '' : ' ✗'} | ${pre} | ${(r.check.reasons ?? []).slice(0, 4).join('; ')} | ${(r.stderr.at(-1) ?? '').slice(0, 90)} | ${(r.check.wouldPrint?.at(-1) ?? '').slice(0, 90)} |`);
    }
    out.push('');
  }
  console.log(out.join('\n'));
}

async function rewrites2() {
  const { decodeStream: decodeFile } = await import(join(root, 'dist', 'index.js'));
  const { regName } = await import(join(root, 'dist', 'regs', 'index.js'));
  const dir = join(cache, 'rewrites2');
  mkdirSync(dir, { recursive: true });
  const cases = [];
  for (const row of table.rows.filter((r) => r.phase === 'rewrites' && (r.round ?? 1) === 1 && r.result !== 'accept')) {
    const first = join(cache, 'rewrites', row.variant.file);
    const dest = streamFile(row.destSample);
    const a = (await decodeFile(first)).cpus[0];
    const b = (await decodeFile(dest)).cpus[0];
    const bv = new Map(b.ids.map((id, i) => [id, b.values[i]]));
    const extra = [];
    a.ids.forEach((id, i) => {
      const grp = (id >> 16n) & 0xfffn;
      const v = bv.get(id);
      if (v !== undefined && v !== a.values[i] && (grp === 0x11n || grp === 0x14n || grp === 0x16n)) extra.push(regName(id, 'kvm'));
    });
    if (!extra.length) {
      process.stderr.write(`nothing more to adopt: ${row.id}\n`);
      continue;
    }
    const loader = LOADER[row.dest.qemu];
    const flags = ['--strip-unknown', '--adopt-dest-values', ['id-regs', ...extra].join(','), '--strip-unknown-subsections', '--loader', loader];
    const id = row.id.replace(/^rewrite\//, 'rewrite2/');
    const file = join(dir, id.replace(/[/]/g, '__') + '.mig');
    rmSync(file, { force: true });
    const r = run(['rewrite', streamFile(row.source), '-o', file, '--dest', dest, ...flags, '--json']);
    let rep = null;
    try { rep = JSON.parse(r.stdout); } catch { rep = null; }
    const written = r.status === 0 && existsSync(file);
    cases.push({
      id,
      case: row.case,
      title: row.title.replace(/after `rewrite[^`]*`/, `after \`rewrite ${flags.join(' ')}\``),
      source: row.source,
      variant: { rewriteOf: row.variant.rewriteOf, round: 2, flags, file: written ? basename(file) : null, toolExit: r.status, predicted: written ? 'accept' : 'reject', toolMessage: written ? null : (r.stderr || r.stdout).trim().split('\n').slice(0, 6), edits: rep?.cpus?.[0] ? { removed: rep.cpus[0].removed.map((x) => x.name ?? x.id), changed: rep.cpus[0].changed.map((x) => x.name ?? x.id), droppedSubsections: rep.cpus[0].droppedSubsections, refused: rep.cpus[0].refused } : null },
      dest: { ...row.dest, combo: `${{ '6.1': 'bookworm', '6.12': 'trixie', '7.2': 'sid' }[row.dest.kernel]}_${{ '7.2': 'bookworm', '10.0': 'trixie', '11.1': 'sid' }[row.dest.qemu]}` },
      destSample: row.destSample,
      file: written ? basename(file) : null,
      sha256: written ? createHash('sha256').update(readFileSync(file)).digest('hex') : null,
    });
    process.stderr.write(`${written ? 'accept ' : 'reject '} ${id} (+${extra.join(',')})\n`);
  }
  writeFileSync(join(here, 'rewrite-cases-2.json'), JSON.stringify({ description: 'second rewrite of the rewrites real KVM still refused: also adopt the destination values of the cache geometry and firmware registers', cases }, null, 1) + '\n');
  console.log(`${cases.length} second rewrites, ${cases.filter((c) => c.file).length} written`);
}

/** The rewrite `vmstate check` itself suggests for every refused load (round 3), run as printed. */
/**
 * Rounds 3 and 5: for every row real KVM refused, the next step `vmstate check --json` suggests, run as
 * printed. Round 3 named the destination's QEMU (`--loader`); with --no-loader (round 5) the check is
 * run as a user would, the destination's QEMU, KVM and kernel inferred. Output: CACHE/rewrites<N>/ and
 * samples/kvm/rewrite-cases-<N>.json; ids `suggested/…` (round 3) or `suggested<N>/…`.
 */
function suggested() {
  const round = args.includes('--round') ? Number(args[args.indexOf('--round') + 1]) : 3;
  const withLoader = !args.includes('--no-loader');
  if (!Number.isInteger(round) || round < 3) {
    console.error('evaluate.mjs suggested: --round N (N >= 3)');
    process.exit(2);
  }
  // --changed-from M: only the rows whose printed command differs from round M's (the tool changed since)
  const from = args.includes('--changed-from') ? Number(args[args.indexOf('--changed-from') + 1]) : null;
  const before = from === null ? null : new Map(JSON.parse(readFileSync(join(here, `rewrite-cases-${from}.json`), 'utf8')).cases.map((c) => [c.variant.rewriteOf, c]));
  const dir = join(cache, `rewrites${round}`);
  mkdirSync(dir, { recursive: true });
  const seen = new Set();
  const cases = [];
  let same = 0;
  for (const row of table.rows) {
    if (row.phase === 'rewrites' || row.result === 'accept') continue;
    const key = `${row.source} ${row.destSample} ${row.dest.machine}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const loader = LOADER[row.dest.qemu];
    const [src, dest] = [streamFile(row.source), streamFile(row.destSample)];
    const chk = run(['check', src, '--dest', dest, ...(withLoader ? ['--loader', loader] : []), '--json']);
    const sg = JSON.parse(chk.stdout).suggestion;
    // The command as printed, with the committed names for the streams and OUT for the output.
    const named = (argv) => argv.map((a, i) => (a === src ? row.source : a === dest ? row.destSample : argv[i - 1] === '-o' ? 'OUT' : a));
    if (before && JSON.stringify(before.get(row.id)?.variant.argv ?? null) === JSON.stringify(sg?.argv ? named(sg.argv) : null)) {
      same++;
      continue;
    }
    const id = `${round === 3 ? 'suggested' : `suggested${round}`}/${row.id}`;
    const file = join(dir, id.replace(/[/]/g, '__') + '.mig');
    rmSync(file, { force: true });
    let r = null;
    let rep = null;
    if (sg?.argv) {
      const argv = sg.argv.slice(1).map((a, i, all) => (all[i - 1] === '-o' ? file : a));
      r = run([...argv, '--json']);
      try { rep = JSON.parse(r.stdout); } catch { rep = null; }
    }
    const written = !!r && r.status === 0 && existsSync(file);
    // The options of the printed command: all but the program, the verb, the source and `-o`/`--dest` with their values.
    const flags = sg?.argv
      ? sg.argv.slice(2).filter((a, i, all) => a !== src && !['-o', '--dest'].includes(a) && !['-o', '--dest'].includes(all[i - 1]))
      : null;
    cases.push({
      id,
      case: `${row.case} rewritten for ${row.dest.l1}`,
      title: `${row.title}, after the rewrite \`vmstate check\`${withLoader ? '' : ' (destination inferred)'} suggests${flags ? ` (\`${flags.join(' ')}\`)` : ': none'}`,
      source: row.source,
      variant: {
        rewriteOf: row.id, round, flags, argv: sg?.argv ? named(sg.argv) : null, file: written ? basename(file) : null,
        toolExit: r ? r.status : null, predicted: sg?.predictedVerdict ?? null,
        suggestion: sg ? { reason: sg.reason, effects: sg.effects } : null,
        toolMessage: r && !written ? (r.stderr || r.stdout).trim().split('\n').slice(-6) : null,
        edits: rep?.cpus?.[0] ? { removed: rep.cpus[0].removed.map((x) => x.name ?? x.id), changed: rep.cpus[0].changed.map((x) => x.name ?? x.id), inserted: rep.cpus[0].inserted.map((x) => x.name ?? x.id), droppedSubsections: rep.cpus[0].droppedSubsections.map((x) => x.name), refused: rep.cpus[0].refused, adopted: rep.adopted.map((a) => a.class) } : null,
      },
      dest: { ...row.dest, combo: `${{ '6.1': 'bookworm', '6.12': 'trixie', '7.2': 'sid' }[row.dest.kernel]}_${{ '7.2': 'bookworm', '10.0': 'trixie', '11.1': 'sid' }[row.dest.qemu]}` },
      destSample: row.destSample,
      file: written ? basename(file) : null,
      sha256: written ? createHash('sha256').update(readFileSync(file)).digest('hex') : null,
    });
    process.stderr.write(`${(written ? 'written' : sg?.argv ? 'FAILED' : 'none').padEnd(8)} ${id}${flags ? ' ' + flags.join(' ') : ''}\n`);
  }
  const how = (withLoader ? '(loader = the destination\'s QEMU)' : 'run as a user would (no --loader: the destination\'s QEMU, KVM and kernel inferred)') + (from === null ? '' : `, where it differs from round ${from}'s command,`);
  writeFileSync(join(here, `rewrite-cases-${round}.json`), JSON.stringify({ description: `the rewrite \`vmstate check\` ${how} suggests for each real-KVM failure (its next step, run as printed); make-kvm.py rewrites --round ${round} loads the written ones`, cases }, null, 1) + '\n');
  console.log(`${cases.length} failing rows${from === null ? '' : ` whose command differs from round ${from}'s (${same} the same)`}: a command suggested for ${cases.filter((c) => c.variant.argv).length}, written ${cases.filter((c) => c.file).length}`);
}

/** Round 4: the suggested command (round 3) that real KVM refused, adopting every other class too. */
function classes() {
  const dir = join(cache, 'rewrites4');
  mkdirSync(dir, { recursive: true });
  const more = ['cache-geometry', 'psci-version', 'fw-workarounds', 'hypercall-bitmaps'];
  const cases = [];
  for (const row of table.rows.filter((r) => r.phase === 'rewrites' && r.round === 3 && r.result !== 'accept' && r.variant.argv)) {
    const [src, dest] = [streamFile(row.source), streamFile(row.destSample)];
    const argv = row.variant.argv.slice(1).map((a) => (a === row.source ? src : a === row.destSample ? dest : a));
    const k = argv.indexOf('--adopt-dest-values');
    if (k >= 0) argv[k + 1] = [...argv[k + 1].split(','), ...more].join(',');
    else argv.push('--adopt-dest-values', more.join(','));
    const id = row.id.replace(/^suggested\//, 'classes/');
    const file = join(dir, id.replace(/[/]/g, '__') + '.mig');
    argv[argv.indexOf('-o') + 1] = file;
    rmSync(file, { force: true });
    const r = run([...argv, '--json']);
    let rep = null;
    try { rep = JSON.parse(r.stdout); } catch { rep = null; }
    const written = r.status === 0 && existsSync(file);
    const named = argv.map((a) => (a === src ? row.source : a === dest ? row.destSample : a === file ? 'OUT' : a));
    const flags = named.slice(named.indexOf('--loader'));
    cases.push({
      id,
      case: row.case,
      title: row.title.replace(/, after the rewrite .*$/, `, after \`rewrite ${flags.join(' ')}\` (the suggested command, every class of guest-visible value adopted)`),
      source: row.source,
      variant: {
        rewriteOf: row.variant.rewriteOf, round: 4, flags, argv: ['vmstate', ...named], file: written ? basename(file) : null, toolExit: r.status,
        predicted: written ? rep?.check?.verdict ?? null : null, toolMessage: written ? null : (r.stderr || r.stdout).trim().split('\n').slice(-6),
        edits: rep?.cpus?.[0] ? { removed: rep.cpus[0].removed.map((x) => x.name ?? x.id), changed: rep.cpus[0].changed.map((x) => x.name ?? x.id), inserted: rep.cpus[0].inserted.map((x) => x.name ?? x.id), droppedSubsections: rep.cpus[0].droppedSubsections.map((x) => x.name), refused: rep.cpus[0].refused, adopted: rep.adopted.map((a) => a.class) } : null,
      },
      dest: { ...row.dest, combo: `${{ '6.1': 'bookworm', '6.12': 'trixie', '7.2': 'sid' }[row.dest.kernel]}_${{ '7.2': 'bookworm', '10.0': 'trixie', '11.1': 'sid' }[row.dest.qemu]}` },
      destSample: row.destSample,
      file: written ? basename(file) : null,
      sha256: written ? createHash('sha256').update(readFileSync(file)).digest('hex') : null,
    });
    process.stderr.write(`${(written ? 'written' : 'FAILED').padEnd(8)} ${id} ${rep?.adopted?.map((a) => a.class).join(',') ?? ''}\n`);
  }
  writeFileSync(join(here, 'rewrite-cases-4.json'), JSON.stringify({ description: 'the suggested rewrites (round 3) real KVM refused, with every class of guest-visible value adopted; make-kvm.py rewrites --round 4 loads them', cases }, null, 1) + '\n');
  console.log(`${cases.length} refused suggestions re-done, ${cases.filter((c) => c.file).length} written`);
}
