/** The accelerators a stream can come from; they name two timer ids differently. */
export const ACCELS = ['tcg', 'kvm'] as const;

/** The accelerator that wrote a stream; it changes the meaning of two timer ids. */
export type Accel = (typeof ACCELS)[number];
