/**
 * The names destination loaders are chosen by — one table. Each loader family (its semantics
 * and QEMU's messages are in ./loaders.ts) has its own name and aliases that name one QEMU
 * generation of it (whose register definitions and `cpu` subsections are in
 * ./generations.ts). The command line's `--loader` choices, the table in docs/loaders.md
 * (scripts/gen-loaders.mjs) and the check schema's `loader` values come from here. Light on
 * purpose: the command line reads it at start-up.
 * @module
 */
import { UsageError } from '../errors.js';
import type { QemuGeneration } from './generations.js';

/** Loader families. */
export type LoaderName = 'legacy' | 'series-v6' | 'qemu-11.1';

/** A name a loader is chosen by, and the QEMU generation it names. */
export interface LoaderAlias {
  name: string;
  /** Whose register definitions and `cpu` subsections the destination has; null: either of 7.2 and 10.x. */
  generation: QemuGeneration | null;
}

/** The loader families and their names: the family's own name first, then the aliases. */
export const LOADER_FAMILIES: readonly { loader: LoaderName; names: readonly LoaderAlias[] }[] = [
  {
    loader: 'legacy',
    names: [
      { name: 'legacy', generation: null },
      { name: 'qemu-7.2', generation: '7.2' },
      { name: 'qemu-10.0', generation: '10.x' },
      { name: 'qemu-10.2', generation: '10.x' },
    ],
  },
  { loader: 'series-v6', names: [{ name: 'series-v6', generation: '10.x' }] },
  { loader: 'qemu-11.1', names: [{ name: 'qemu-11.1', generation: '11.1' }] },
];

/** Every accepted loader name: each family's own name first, then the aliases. */
export const LOADER_CHOICES: readonly string[] = [
  ...LOADER_FAMILIES.map((f) => f.names[0]!.name),
  ...LOADER_FAMILIES.flatMap((f) => f.names.slice(1).map((n) => n.name)),
];

const BY_NAME = new Map(LOADER_FAMILIES.flatMap((f) => f.names.map((alias) => [alias.name, { loader: f.loader, alias }] as const)));

/**
 * The family and alias entry of a loader name (case-insensitive).
 * @throws UsageError (`data.reason` `unknown-loader`)
 */
export function lookupLoader(name: string): { loader: LoaderName; alias: LoaderAlias } {
  const hit = BY_NAME.get(name.trim().toLowerCase());
  if (!hit) throw new UsageError(`unknown loader '${name}' (known: ${[...BY_NAME.keys()].join(', ')})`, { reason: 'unknown-loader', loader: name });
  return hit;
}
