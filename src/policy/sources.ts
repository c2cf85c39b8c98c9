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

/** Builds the policy list from command-line sources. */
export function policiesFrom(p: PolicyInputs): Policy[] {
  const out: Policy[] = [];
  for (const name of p.presets ?? []) out.push(presetPolicy(name));
  for (const [src, text] of p.files ?? []) out.push(parsePolicyJson(text, src));
  if (p.compat?.length) out.push(parseQemuProperties(p.compat, '--compat'));
  return out;
}
