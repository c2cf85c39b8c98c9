/**
 * The merge of one vCPU: QEMU's `cpu_post_load` loop, reproduced cursor for cursor, with every
 * outcome recorded instead of stopping at the first failure.
 *
 * Cursor `i` walks the destination's ascending list, cursor `v` the incoming list in stream
 * order. Incoming id above the destination's: the destination register is missing (`i++`).
 * Below: the incoming id is not on the destination (`v++`). Equal: the value is taken (both).
 * When one list runs out the rest of the other is handled by the loader's rules. Each entry of
 * both lists is visited once; policies are consulted by one `Map` lookup, and only for
 * anomalies (and for `require-value` rules when there are any).
 * @module
 */
import { hex64, idRegisterFields, isIdRegister, regName } from '../regs/index.js';
import type { Anomaly, AnomalyKind } from './anomalies.js';
import { decideOnlyInStream, missingTolerance, policyRef, type MatchContext } from './context.js';
import { measuredSlots, type MeasuredSlots } from './cpreg-slots.js';
import { generationVersion, measuredVcpuSlots, type MeasuredVcpuSlots } from './vcpu-slots.js';
import type { DestinationCpu } from './destination.js';
import { countBound } from './loaders.js';
import { isNarrow, maskingWrite, rawWriteKind, readsBack, type RawWriteKind, type SlotContent } from './raw-access.js';

/** Inputs of one merge, already checked (destination sorted, arrays paired). */
export interface MergeInput {
  instance: number;
  ids: readonly bigint[];
  values: readonly bigint[];
  count: number;
  dest: DestinationCpu;
}

/** Outputs of one merge. */
export interface MergeOutput {
  anomalies: Anomaly[];
  matched: number;
  /** The count check failed (QEMU stops before the merge). */
  countFailed: boolean;
  /** The values the merge took from the stream, by destination id. */
  taken: Map<bigint, bigint>;
  /** The first incoming id QEMU fails on inside its merge loop (QEMU ≤ 10.2 stops there), or null. */
  stoppedAt: bigint | null;
  /** Lines QEMU prints during the merge, in order. */
  lines: string[];
}

/** Binary search in an ascending id list. */
function hasId(ids: readonly bigint[], id: bigint): boolean {
  let lo = 0;
  let hi = ids.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = ids[mid]!;
    if (x === id) return true;
    if (x < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return false;
}

/** Where the value a missing register is written from comes from, per loader slot model. */
const SLOT_NOTE = {
  zero: 'TCG raw-writes the value slot, which the destination never filled; on QEMU 7.2 … 10.2 it is fresh heap memory and reads 0 (measured)',
  measured: (m: MeasuredSlots): string =>
    `TCG raw-writes the value slot, which the destination never filled; it holds stale heap data, here as measured on ${m.image.qemu.replace(/^QEMU emulator version /, 'QEMU ')} for this register list`,
  unknown:
    'TCG raw-writes the value slot, which the destination never filled; it holds stale heap data (reused memory), so the register reads back only by chance',
  vcpu: (m: MeasuredVcpuSlots, instance: number, cell: SlotContent): string =>
    `TCG raw-writes the value slot, which the destination never filled; vCPU ${instance}'s slots were measured on ${m.images[0]!.qemu.replace(/^QEMU emulator version /, 'QEMU ')} for this register list${cell === 'unknown' ? ', and this one differed between runs' : ''} (scripts/measure-vcpu-slots.py)`,
} as const;

/** What a value slot holds, in words. */
const slotText = (slot: SlotContent): string =>
  slot === 'wide' ? 'a value of 2^32 or more' : slot === 'unknown' ? 'stale data' : hex64(slot);

const STRUCTURAL_MESSAGE = { duplicate: 'repeated id', unsorted: 'lower than an id before it' } as const;

/** One vCPU's merge. Create, call {@link run} once. */
export class CpuMerge {
  private readonly out: Anomaly[] = [];
  /** Read-back failures come after the merge in QEMU, so they are appended last. */
  private readonly readBack: Anomaly[] = [];
  /** Failing ids only in the stream (11.1 may clear them afterwards). */
  private readonly onlyFatal: Anomaly[] = [];
  private readonly postLoadFailure: string;
  private hiddenCursor = 0;
  /** Highest incoming id so far (ids are ≥ 0). */
  private highest = -1n;
  private kUnexpected = 0;
  private kMissing = 0;
  private lastOnlyFailed = false;
  /** The destination's measured value slots (QEMU 11.1), looked up on the first missing register. */
  private slots: MeasuredSlots | null | undefined;
  /** This vCPU's measured value slots, where the destination was measured per vCPU. */
  private vcpuSlots: MeasuredVcpuSlots | null | undefined;
  private readonly taken = new Map<bigint, bigint>();
  private stoppedAt: bigint | null = null;
  /** QEMU's per-register lines in walk order. */
  private readonly lines: string[] = [];

  constructor(
    private readonly ctx: MatchContext,
    private readonly input: MergeInput,
  ) {
    this.postLoadFailure = ctx.spec.text.failure(input.instance, 'post-load');
  }

  /** Runs the count check and the merge. */
  run(): MergeOutput {
    const countFailed = this.checkCount();
    const matched = this.merge();
    this.applyFailFlag();
    this.out.push(...this.readBack);
    return { anomalies: this.out, matched, countFailed, taken: this.taken, stoppedAt: this.stoppedAt, lines: this.lines };
  }

  private anomaly(kind: AnomalyKind, fatal: boolean, id: bigint, message: string, qemuText: string | null): Anomaly {
    return {
      kind,
      fatal,
      id: hex64(id),
      reg: id,
      name: regName(id, this.ctx.accel),
      message,
      qemuText,
      instance: this.input.instance,
    };
  }

  /** A fatal anomaly's QEMU text: its own line (if QEMU prints one), then how the load ends. */
  private withFailure(line: string | null): string {
    return line ? `${line}\n${this.postLoadFailure}` : this.postLoadFailure;
  }

  /** How the destination's TCG raw-writes `id` (a register the destination declares constant is `const`). */
  private kindOf(id: bigint): RawWriteKind {
    if (this.input.dest.constant?.has(id) === true) return 'const';
    return rawWriteKind(id, this.ctx.generation);
  }

  /** The value slot of destination register `i` before the load (TCG). */
  private slotOf(i: number): { slot: SlotContent; others?: readonly SlotContent[]; note: string } {
    const { spec } = this.ctx;
    if (this.vcpuSlots === undefined) {
      // A measurement of this very vCPU comes first: vCPUs of one destination can differ.
      const qemu = spec.slotQemu ?? generationVersion(this.ctx.generation);
      this.vcpuSlots = qemu ? measuredVcpuSlots(this.input.dest.ids, qemu, this.input.instance) : null;
    }
    if (this.vcpuSlots) {
      const cell = this.vcpuSlots.cells[i]!;
      const note = SLOT_NOTE.vcpu(this.vcpuSlots, this.input.instance, cell);
      const others = this.vcpuSlots.others?.[i];
      return others?.length ? { slot: cell, others, note } : { slot: cell, note };
    }
    if (spec.valueSlot === 'zero') return { slot: 0n, note: SLOT_NOTE.zero };
    if (this.slots === undefined) this.slots = spec.slotQemu ? measuredSlots(this.input.dest.ids, spec.slotQemu) : null;
    const cell = this.slots?.cells[i];
    if (this.slots && cell !== undefined && cell !== 'unknown') return { slot: cell, note: SLOT_NOTE.measured(this.slots) };
    return { slot: 'unknown', note: SLOT_NOTE.unknown };
  }

  private checkCount(): boolean {
    const { spec, hidden, safeMissing } = this.ctx;
    const { count, dest, instance } = this.input;
    let hiddenOnDest = 0;
    for (const id of hidden) if (hasId(dest.ids, id)) hiddenOnDest++;
    const bound = countBound(spec, dest.ids.length - hiddenOnDest, safeMissing);
    if (count >= 0 && (bound === null || count <= bound)) return false;
    this.out.push({
      kind: 'count-bound',
      fatal: true,
      id: null,
      reg: null,
      name: null,
      instance,
      message:
        bound === null
          ? `negative register count ${count}: QEMU allocates the arrays from it and aborts`
          : `the stream has ${count} registers; the destination accepts at most ${bound}`,
      qemuText: spec.text.count(count, bound),
      detail: bound === null ? { count } : { count, bound },
    });
    return true;
  }

  private merge(): number {
    const { ids: I, dest } = this.input;
    const L = dest.ids;
    const m = L.length;
    const n = I.length;
    const hiding = this.ctx.hidden.length > 0;
    const checkRequire = this.ctx.checkRequire;
    let i = 0;
    let v = 0;
    let matched = 0;
    while (i < m && v < n) {
      const lid = L[i]!;
      if (hiding && this.skipHidden(lid)) {
        i++;
        continue;
      }
      const id = I[v]!;
      if (id > lid) {
        this.missing(i++);
        continue;
      }
      if (checkRequire) this.requireValue(v);
      if (id < lid) {
        this.onlyInStream(v++, false);
        continue;
      }
      // Same id: the incoming value goes into this slot.
      if (id > this.highest) this.highest = id;
      matched++;
      this.taken.set(lid, this.input.values[v]!);
      if (dest.values) this.compareValue(i, v);
      i++;
      v++;
    }
    for (; i < m; i++) if (!(hiding && this.skipHidden(L[i]!))) this.missing(i);
    for (; v < n; v++) {
      if (checkRequire) this.requireValue(v);
      this.onlyInStream(v, true);
    }
    return matched;
  }

  /**
   * The incoming value must read back after TCG's raw write: a constant register (ARM_CP_CONST,
   * or a write-ignored one) only as the destination's own value, a 32-bit AArch32 register only
   * below 2^32. Under KVM the kernel takes the write instead: ./kvm-load.ts judges it after the
   * merge.
   */
  private compareValue(i: number, v: number): void {
    if (this.ctx.accel === 'kvm') return;
    const { dest, values, ids } = this.input;
    const dv = dest.values![i];
    const value = values[v]!;
    if (dv === undefined || dv === null || dv === value) return;
    const id = ids[v]!;
    const kind = this.kindOf(id);
    if (readsBack(id, value, kind, dv) !== false) return;
    const message =
      kind === 'const' || kind === 'ignore'
        ? `constant register: incoming ${hex64(value)}, destination ${hex64(dv)}`
        : `32-bit register: incoming ${hex64(value)} does not fit, it reads back truncated`;
    const a: Anomaly = {
      ...this.anomaly('value-mismatch', true, id, message, this.withFailure(null)),
      index: v,
      value,
      expected: dv,
    };
    if (isIdRegister(id)) a.fields = idRegisterFields(id, value, dv);
    this.readBack.push(a);
  }

  private requireValue(v: number): void {
    const id = this.input.ids[v]!;
    const rule = this.ctx.set.get(id)?.requireValue;
    if (!rule) return;
    const value = this.input.values[v]!;
    if ((value & rule.mask!) === rule.value) return;
    const message =
      `value ${hex64(value)} fails ${rule.source}'s require-value ` +
      `(mask ${hex64(rule.mask!)}, value ${hex64(rule.value!)})`;
    this.out.push({
      ...this.anomaly('policy-violation', true, id, message, null),
      index: v,
      value,
      policy: policyRef(rule),
      note: 'checked by this tool; QEMU does not check it',
    });
  }

  private onlyInStream(v: number, tail: boolean): void {
    const { spec, accel, set } = this.ctx;
    const id = this.input.ids[v]!;
    const value = this.input.values[v]!;
    const structural = id === this.highest ? 'duplicate' : id < this.highest ? 'unsorted' : null;
    if (id > this.highest) this.highest = id;
    const extra: Partial<Anomaly> = { index: v, value };
    if (structural) extra.knownToDestination = hasId(this.input.dest.ids, id);

    if (tail && spec.tail === 'ignore') {
      const message = structural
        ? `${structural} id after the destination's last register: ignored`
        : "above the destination's last register: ignored";
      this.out.push({ ...this.anomaly(structural ?? 'ignored-tail', false, id, message, null), ...extra });
      return;
    }

    const d = decideOnlyInStream(this.ctx, set.get(id), value);
    if (d.tolerated) {
      this.lastOnlyFailed = false;
      const message = `not on the destination; tolerated by ${d.tolerated.source} (${d.tolerated.kind})`;
      this.out.push({
        ...this.anomaly(structural ?? 'tolerated', false, id, message, null),
        ...extra,
        policy: policyRef(d.tolerated),
      });
      return;
    }

    this.lastOnlyFailed = true;
    let message: string = structural ? STRUCTURAL_MESSAGE[structural] : 'not on the destination';
    if (d.violated) {
      message =
        `not on the destination, and value ${hex64(value)} fails ${d.violated.source}'s test ` +
        `(mask ${hex64(d.violated.mask!)}, value ${hex64(d.violated.value!)})`;
    }
    const kind = structural ?? (d.violated ? 'policy-violation' : 'unexpected');
    const line = spec.text.unexpected(id, accel, this.kUnexpected++);
    if (line) this.lines.push(line);
    if (!tail && this.stoppedAt === null) this.stoppedAt = id;
    const a: Anomaly = { ...this.anomaly(kind, true, id, message, this.withFailure(line)), ...extra };
    if (d.violated) a.policy = policyRef(d.violated);
    else if (d.unhonoured) {
      a.policy = policyRef(d.unhonoured);
      a.note = `${d.unhonoured.source} would tolerate it, but loader ${spec.name} ignores '${d.unhonoured.kind}' rules`;
    }
    this.out.push(a);
    this.onlyFatal.push(a);
  }

  private missing(i: number): void {
    const { spec, accel, set } = this.ctx;
    const { dest } = this.input;
    const id = dest.ids[i]!;
    const tol = missingTolerance(this.ctx, set.get(id));
    const line = tol ? null : spec.text.missing(id, accel, this.kMissing++);
    if (line) this.lines.push(line);

    let note: string | undefined;
    if (accel === 'tcg') {
      const dv = dest.values?.[i] ?? null;
      const kind = this.kindOf(id);
      const { slot, others, note: slotNote } = this.slotOf(i);
      // On another start the slot may hold what another vCPU's held when measured (see
      // MeasuredVcpuSlots.others): every content it can hold must agree.
      const measured = readsBack(id, slot, kind, dv);
      const back = others?.some((o) => readsBack(id, o, kind, dv) !== measured) ? null : measured;
      const fixed = kind === 'const' || kind === 'ignore';
      const stale = slot === 'unknown' || slot === 'wide';
      // Stale heap data (text, pointers, sizes) equals a register's non-zero constant only by
      // coincidence: that is a failure. Anything else the slot decides is open.
      const fails = back === false || (back === null && fixed && (dv === null || (stale && dv !== 0n)));
      const open = !fails && back === null && (fixed || isNarrow(id) || kind === 'writefn' || kind === 'rawfn');
      if (fails) {
        const mask = maskingWrite(id, kind);
        const what = fixed ? 'constant register' : mask ? `register whose write keeps only bits ${hex64(mask.keeps)}${mask.exact ? '' : ' (at most)'}` : '32-bit register';
        const message =
          fixed && dv === null
            ? `${what} missing from the stream; its slot reads back only if it holds the constant (unknown here)`
            : back === false
            ? fixed
              ? `${what} missing from the stream; its value slot holds ${slotText(slot)}, which does not read back as ${hex64(dv!)}`
              : `${what} missing from the stream; its value slot holds ${slotText(slot)}, which does not read back ${mask ? 'through that write' : 'in 32 bits'}`
            : `${what} missing from the stream; its value slot holds stale data, which reads back as ${hex64(dv!)} only by coincidence`;
        const a: Anomaly = { ...this.anomaly('missing-const', true, id, message, this.withFailure(line)), note: slotNote };
        if (dv !== null) a.expected = dv;
        if (tol) a.policy = policyRef(tol);
        this.readBack.push(a);
        return;
      }
      if (open) {
        const what = fixed ? `the constant ${hex64(dv!)}` : isNarrow(id) ? 'a value below 2^32' : 'a value its write function keeps (0 does)';
        const holds = others && measured !== null ? `held ${slotText(slot)} where measured and ${others.map(slotText).join(' or ')} in another vCPU's array` : `holds ${slotText(slot)}`;
        const message = `missing from the stream; it reads back only if its value slot, which ${holds}, holds ${what} when QEMU loads: QEMU may load or refuse`;
        const a: Anomaly = { ...this.anomaly('missing-stale', false, id, message, this.withFailure(line)), note: slotNote, detail: { outcome: 'depends' } };
        if (dv !== null) a.expected = dv;
        if (tol) a.policy = policyRef(tol);
        this.readBack.push(a);
        return;
      }
      if (back === null) note = `${slotNote}; the register's raw write runs a guest write function that may change it`;
    }
    if (tol) {
      const message = `not in the stream; tolerated by ${tol.source} (${tol.kind})`;
      this.out.push({ ...this.anomaly('tolerated', false, id, message, null), policy: policyRef(tol) });
      return;
    }
    const message = `not in the stream; keeps ${accel === 'kvm' ? 'the value KVM gave it at reset' : 'its value slot'}`;
    const a = this.anomaly('missing', false, id, message, line);
    if (note) a.note = note;
    this.out.push(a);
  }

  /** Skips (and reports) a destination register hidden by policy; the hidden list is walked once. */
  private skipHidden(id: bigint): boolean {
    const hidden = this.ctx.hidden;
    while (this.hiddenCursor < hidden.length && hidden[this.hiddenCursor]! < id) this.hiddenCursor++;
    if (hidden[this.hiddenCursor] !== id) return false;
    const rule = this.ctx.set.get(id)!.hidden!;
    const message = `hidden on the destination by ${rule.source}: neither expected nor accepted`;
    this.out.push({ ...this.anomaly('tolerated', false, id, message, null), policy: policyRef(rule) });
    return true;
  }

  /** QEMU 11.1 assigns its failure flag per id, so a tolerated id after a failing one clears it. */
  private applyFailFlag(): void {
    const { spec, accel } = this.ctx;
    if (spec.failFlag !== 'last' || this.lastOnlyFailed) return;
    for (const a of this.onlyFatal) {
      a.fatal = false;
      a.qemuText = spec.text.unexpected(a.reg!, accel, 0);
      a.note = `QEMU prints the error but loads anyway: a later tolerated id clears the failure (${spec.versions})`;
    }
  }
}
