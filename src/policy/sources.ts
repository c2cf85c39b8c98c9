/**
 * Policies as named on a command line: preset names, policy JSON documents, QEMU property
 * strings, in that order.
 * @module
 */
import type { Policy } from './policy.js';
import { parsePolicyJson, parseQemuProperties } from './parse.js';
import { presetPolicy } from './presets.js';

/** Policy sources as given on the command line. */
export interface PolicyInputs {
  /** Policy JSON documents: [source name, text]. */
  files?: [string, string][];
  /** QEMU property strings (`x-mig-safe-missing-regs=…`). */
  compat?: string[];
  /** Preset names. */
  presets?: string[];
}

/**
 * Policies from where a user names them: built-in presets, policy JSON documents
 * (schemas/policy.schema.json), QEMU property strings — in that order.
 *
 * @example
 * ```ts
 * import { policiesFrom } from 'vmstate';
 * const policies = policiesFrom({
 *   presets: ['kernel-compat-10.1'],
 *   files: [['mine.json', '{"rules": [{"kind": "hidden", "reg": "TCR2_EL1"}]}']],
 *   compat: ['x-mig-safe-missing-regs=0x603000000013c513'],
 * });
 * console.log(policies.map((p) => `${p.name}: ${p.rules.length}`).join(', '));
 * // prints: kernel-compat-10.1: 4, mine.json: 1, --compat: 1
 * ```
 * @throws UsageError for an unknown preset, a malformed document or property string.
 */
export function policiesFrom(p: PolicyInputs): Policy[] {
  const out: Policy[] = [];
  for (const name of p.presets ?? []) out.push(presetPolicy(name));
  for (const [src, text] of p.files ?? []) out.push(parsePolicyJson(text, src));
  if (p.compat?.length) out.push(parseQemuProperties(p.compat, '--compat'));
  return out;
}
