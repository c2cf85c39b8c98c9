/**
 * The check of the configuration item, which comes before every section: the machine type.
 * @module
 */
import type { Anomaly } from './anomalies.js';
import { capabilityLines, machineTypeLines, type MessageStyle } from './load-messages.js';

/**
 * The capabilities QEMU 10.x and 11.1 validate (`should_validate_capability`), in QEMU's enum
 * order: the stream-format ones, which source and destination must set alike.
 */
const VALIDATED_CAPABILITIES = ['x-ignore-shared', 'mapped-ram'] as const;

/**
 * The configuration item's capability check: a stream that lists capabilities (its
 * `configuration/capabilities` subsection) loads only into a QEMU that set exactly those it
 * validates. `dst` is what the destination's own stream lists (how it was started when it saved).
 * Returns null when they agree or the stream lists none (then QEMU checks nothing).
 */
export function compareCapabilities(src: readonly string[], dst: readonly string[], style: MessageStyle = 'report'): Anomaly | null {
  if (src.length === 0) return null;
  const mismatches = VALIDATED_CAPABILITIES.filter((c) => src.includes(c) !== dst.includes(c)).map((name) => ({ name, local: dst.includes(name) }));
  if (mismatches.length === 0) return null;
  const what = mismatches.map((m) => `${m.name} ${m.local ? 'off' : 'on'} in the stream, ${m.local ? 'on' : 'off'} on the destination`).join('; ');
  return {
    kind: 'capabilities',
    fatal: true,
    id: null,
    reg: null,
    name: null,
    message: `the stream-format capabilities differ (${what}): QEMU loads a stream only with the capabilities it was saved with`,
    qemuText: capabilityLines(style, mismatches).join('\n'),
    detail: { received: src.join(','), local: dst.join(',') },
  };
}

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
