/**
 * What a destination QEMU prints when the load of a section fails outside the cpreg arrays — an
 * unknown section or subsection, a version it cannot load, a machine type that differs — per
 * loader family, line for line. Every text was observed (samples/truth/device-probes.json,
 * devices-table.json, truth-table.json); the few that were not say so.
 *
 * QEMU 7.2 … 10.2 report each error where it happens (`error_report`) and end with
 * `load of migration failed: <errno>`. QEMU 11.1 passes an error up the call chain, each level
 * prefixing its context, and prints it once: `load of migration failed: <errno>: <chain>`.
 * @module
 */
import type { LoaderName } from './loader-names.js';
import type { SubsectionRef } from './device-sections.js';

/** `report`: QEMU 7.2 … 10.2; `chain`: QEMU 11.1. */
export type MessageStyle = 'report' | 'chain';

const STYLE: Readonly<Record<LoaderName, MessageStyle>> = { legacy: 'report', 'series-v6': 'report', 'qemu-11.1': 'chain' };

/** The message style of a loader family. */
export function messageStyle(loader: LoaderName): MessageStyle {
  return STYLE[loader];
}

const instanceLine = (idstr: string, instance: number): string =>
  `error while loading state for instance 0x${instance.toString(16)} of device '${idstr}'`;

const end = (errno: string, chain?: string): string => `load of migration failed: ${errno}${chain ? `: ${chain}` : ''}`;

const EINVAL = 'Invalid argument';
const ENOENT = 'No such file or directory';

/**
 * QEMU 7.2 … 10.2 name every struct field a failing nested load sits in, innermost first
 * (`Failed to load arm_gicv3:cpu`, from vmstate_load_state's field loop).
 */
const fieldLines = (ref: SubsectionRef): string[] => ref.fields.map((f) => `Failed to load ${f.vmsd}:${f.field}`).reverse();

/** savevm.c qemu_loadvm_section_start_full: no registered section of that idstr and instance. */
export function unknownSectionLines(style: MessageStyle, idstr: string, instance: number): string[] {
  const tail = `or instance '${idstr}' ${instance}. Make sure that your current VM setup matches your saved VM setup, including any hotplugged devices`;
  return style === 'report' ? [`Unknown savevm section ${tail}`, end(EINVAL)] : [end(EINVAL, `Unknown section ${tail}`)];
}

/** savevm.c: the section's version is above the destination's. */
export function sectionVersionLines(style: MessageStyle, idstr: string, version: number, local: number): string[] {
  const what = `unsupported version ${version} for '${idstr}' v${local}`;
  return style === 'report' ? [`savevm: ${what}`, end(EINVAL)] : [end(EINVAL, what)];
}

/**
 * vmstate.c vmstate_load_state: a version below the description's minimum. 7.2 … 10.2 print two
 * spaces before the minimum (observed).
 */
export function versionTooOldLines(style: MessageStyle, vmsd: string, idstr: string, instance: number, version: number, minimum: number, ref?: SubsectionRef): string[] {
  if (style === 'report') {
    return [`${vmsd}: incoming version_id ${version} is too old for local minimum version_id  ${minimum}`, ...(ref ? fieldLines(ref) : []), instanceLine(idstr, instance), end(EINVAL)];
  }
  const what = `${vmsd}: incoming version_id ${version} is too old for local minimum version_id ${minimum}`;
  // A subsection's is wrapped like a too-new one (not observed: no probe lowers a subsection version).
  return [end(EINVAL, `${instanceLine(idstr, instance)}: ${ref ? `Loading VM subsection '${ref.name}' in '${ref.parent}' failed: ${what}` : what}`)];
}

/** vmstate.c vmstate_load_state: a subsection version above the destination's. */
export function subsectionVersionLines(style: MessageStyle, ref: SubsectionRef, local: number, idstr: string, instance: number): string[] {
  const what = `${ref.name}: incoming version_id ${ref.version & 0xff} is too new for local version_id ${local}`;
  if (style === 'report') return [what, ...fieldLines(ref), instanceLine(idstr, instance), end(EINVAL)];
  return [end(EINVAL, `${instanceLine(idstr, instance)}: Loading VM subsection '${ref.name}' in '${ref.parent}' failed: ${what}`)];
}

/**
 * vmstate.c vmstate_subsection_load: the name is not in the parent's subsection list. 7.2 … 10.2
 * print nothing for the subsection itself (a trace point) and fail with ENOENT; 11.1 names it and
 * fails with EINVAL.
 */
export function unknownSubsectionLines(style: MessageStyle, ref: SubsectionRef, idstr: string, instance: number): string[] {
  if (style === 'report') return [...fieldLines(ref), instanceLine(idstr, instance), end(ENOENT)];
  return [end(EINVAL, `${instanceLine(idstr, instance)}: VM subsection '${ref.name}' in '${ref.parent}' does not exist`)];
}

/** The configuration section's machine type check (migration/savevm.c configuration_post_load). */
export function machineTypeLines(style: MessageStyle, received: string, local: string): string[] {
  const what = `Machine type received is '${received}' and local is '${local}'`;
  return style === 'report' ? [what, end(EINVAL)] : [end(EINVAL, `post load hook failed for: configuration, version_id: 1, minimum_version: 0: ${what}`)];
}

/**
 * savevm.c configuration_validate_capabilities: one line per capability QEMU validates whose state
 * differs (in QEMU's enum order), then the end; 11.1's chain names the configuration's post-load.
 */
export function capabilityLines(style: MessageStyle, mismatches: readonly { name: string; local: boolean }[]): string[] {
  const lines = mismatches.map((m) => `Capability ${m.name} is ${m.local ? 'on' : 'off'}, but received capability is ${m.local ? 'off' : 'on'}`);
  const last = style === 'report' ? end(EINVAL) : end(EINVAL, 'post load hook failed for: configuration, version_id: 1, minimum_version: 0: Failed to validate capabilities');
  return [...lines, last];
}

/**
 * savevm.c check_section_footer: after the fields and subsections QEMU read, the next byte is not
 * the section's footer (it read a layout other than the one sent).
 */
export function footerLines(style: MessageStyle, idstr: string, sectionId: number): string[] {
  const line = `Missing section footer for ${idstr}`;
  return style === 'report' ? [line, end(EINVAL)] : [line, end(EINVAL, `Section footer error, section_id: ${sectionId}`)];
}
