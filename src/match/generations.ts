/**
 * QEMU generations: destination QEMUs that differ in their register definitions (TCG's
 * read-back, ./raw-access.ts) and in the device state they know (the descriptions of each are
 * src/destination/known-devices.generated.ts).
 * @module
 */

/** Generations with their own register definitions and `cpu` subsection sets. */
export type QemuGeneration = '7.2' | '10.x' | '11.1';

/** How messages name the QEMU versions of a generation. */
export const GENERATION_VERSIONS: Readonly<Record<QemuGeneration, string>> = {
  '7.2': '7.2',
  '10.x': '10.0 … 10.2',
  '11.1': '11.1',
};

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
