/**
 * The check of the configuration item, which comes before every section: the machine type.
 * @module
 */
import type { Anomaly } from './anomalies.js';
import { machineTypeLines, type MessageStyle } from './load-messages.js';

/**
 * The configuration item's machine type check: QEMU compares the first `len(src)` characters,
 * so it passes when the received name is a prefix of the local one (`virt` vs `virt-7.2`) and
 * fails otherwise. `dst` must be the destination's canonical name (`virt-7.2`, not `virt`).
 * Returns null when the check passes; `qemuText` is what QEMU prints, in `style`.
 */
export function compareMachineType(src: string, dst: string, style: MessageStyle = 'report'): Anomaly | null {
  if (dst.startsWith(src)) return null;
  return {
    kind: 'machine-type',
    fatal: true,
    id: null,
    reg: null,
    name: null,
    message: `the stream was saved with machine type '${src}'; the destination runs '${dst}'`,
    qemuText: machineTypeLines(style, src, dst).join('\n'),
    detail: { received: src, local: dst },
  };
}
