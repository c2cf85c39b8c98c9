/**
 * QEMU generations: destination QEMUs that differ in their register definitions (TCG's
 * read-back, ./raw-access.ts) and in the `cpu` subsections they know (spec §5.3, plus
 * `cpu/fpmr` seen in QEMU 11.1 streams). A destination refuses a subsection it does not
 * know; one that merely was not needed when its own stream was saved is fine, so a saved
 * stream alone under-states what a destination accepts.
 * @module
 */
import type { CpuSubsection } from './destination.js';

/** Generations with their own register definitions and `cpu` subsection sets. */
export type QemuGeneration = '7.2' | '10.x' | '11.1';

/** How messages name the QEMU versions of a generation. */
export const GENERATION_VERSIONS: Readonly<Record<QemuGeneration, string>> = {
  '7.2': '7.2',
  '10.x': '10.0 … 10.2',
  '11.1': '11.1',
};

const A_PROFILE_72 = ['cpu/vfp', 'cpu/iwmmxt', 'cpu/m', 'cpu/thumb2ee', 'cpu/pmsav7-rnr', 'cpu/pmsav7', 'cpu/pmsav8', 'cpu/m-security', 'cpu/sve', 'cpu/sme', 'cpu/serror', 'cpu/irq-line-state'];
const M_NESTED = ['cpu/m/faultmask-primask', 'cpu/m/csselr', 'cpu/m/scr', 'cpu/m/other-sp', 'cpu/m/v8m', 'cpu/m/fp', 'cpu/m/mve'];
const LIST_10 = [
  'cpu/vfp', 'cpu/vfp/fpcr_fpsr', 'cpu/m', ...M_NESTED, 'cpu/thumb2ee', 'cpu/pmsav7-rnr', 'cpu/pmsav7', 'cpu/pmsav8', 'cpu/pmsav8/pmsav8r',
  'cpu/m-security', 'cpu/sve', 'cpu/sme', 'cpu/zt0', 'cpu/serror', 'cpu/irq-line-state', 'cpu/wfxt-timer', 'cpu/syndrome64', 'cpu/pstate64',
];

const VERSIONS: Record<string, number> = { 'cpu/vfp': 3, 'cpu/m': 4 };

function withVersions(names: string[]): CpuSubsection[] {
  return names.map((name) => ({ name, version: VERSIONS[name] ?? 1 }));
}

/** Known `cpu` subsections of a generation. */
export const KNOWN_CPU_SUBSECTIONS: Readonly<Record<QemuGeneration, CpuSubsection[]>> = {
  '7.2': withVersions([...A_PROFILE_72, ...M_NESTED]),
  '10.x': withVersions(LIST_10),
  '11.1': withVersions([...LIST_10, 'cpu/fpmr']),
};

/** Union of two subsection lists, the first's versions winning. */
export function unionSubsections(a: readonly CpuSubsection[], b: readonly CpuSubsection[]): CpuSubsection[] {
  const seen = new Map(a.map((s) => [s.name, s]));
  for (const s of b) if (!seen.has(s.name)) seen.set(s.name, s);
  return [...seen.values()];
}

/**
 * A subsection a generation knows but loads into an object that exists only when its CPU has
 * the feature; when the destination's own stream lacks the subsection (no such object), QEMU
 * does not refuse an incoming one: it dies on an assertion.
 */
export interface CrashingSubsection {
  name: string;
  /** Why the destination has nothing to load it into. */
  why: string;
  /** What QEMU prints before it aborts. */
  qemuText: string;
}

/** Per generation, the subsections that crash a destination without the object behind them. */
export const CRASHING_CPU_SUBSECTIONS: Readonly<Record<QemuGeneration, readonly CrashingSubsection[]>> = {
  '7.2': [],
  // machine.c: vmstate_wfxt_timer is VMSTATE_TIMER_PTR(wfxt_timer), needed only when
  // cpu->wfxt_timer exists (FEAT_WFxT); QEMU 11.1 sends it for every CPU. Observed on 10.0.13
  // with 11.1.3's cortex-a15 and cortex-a57 streams (SIGABRT).
  '10.x': [
    {
      name: 'cpu/wfxt-timer',
      why: 'the destination CPU has no WFxT timer (no FEAT_WFxT: its own stream has no cpu/wfxt-timer), and VMSTATE_TIMER_PTR loads into the missing timer',
      qemuText: "migration/vmstate.c:172: vmstate_load_state: Assertion `first_elem || !n_elems || !size' failed.",
    },
  ],
  '11.1': [],
};
