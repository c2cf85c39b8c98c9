/** The `dump` report: device state in the shape of QEMU's analyser (`-d state` / `-d desc`). */
import type { DecodedStream } from '../stream/decode.js';
import { ramSectionState, stateDump, type DumpObject, type DumpSection, type DumpValue } from '../stream/dump-format.js';
import { UsageError } from '../errors.js';

/** `-d state`: one member per section, `"<idstr> (<section id>)"`, in stream order. */
export function stateReport(s: DecodedStream): DumpObject {
  const parts: (DumpSection & { offset: number })[] = [];
  for (const it of s.iterative) {
    if (it.name === 'ram' && s.ram) parts.push({ offset: it.offset, sectionId: it.sectionId, name: it.name, state: ramSectionState(s.ram.blocks) });
  }
  for (const d of s.devices) {
    if (d.state === null) throw new UsageError(`no vmdesc describes section '${d.name}' (instance ${d.instanceId}): dump needs the stream's vmdesc`);
    parts.push({ offset: d.offset, sectionId: d.sectionId, name: d.name, state: d.state as DumpValue });
  }
  parts.sort((a, b) => a.offset - b.offset);
  return stateDump(parts);
}
