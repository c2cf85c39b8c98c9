/**
 * The known containers, in the order they are tried. Adding one: its module, and a line here.
 * @module
 */
import type { Container } from './container.js';
import { libvirtSave, type LibvirtSaveInfo } from './libvirt-save.js';

/** Every container format vmstate reads and writes. */
export const CONTAINERS: readonly Container[] = [libvirtSave];

/** What an input can be wrapped in: one of the registered containers' infos (told apart by `kind`). */
export type KnownContainerInfo = LibvirtSaveInfo;

/** Leading bytes that tell every known container apart. */
export const HEAD_SIZE = Math.max(...CONTAINERS.map((c) => c.headSize));

/** The container an input starting with `head` is in, or undefined for a bare stream. */
export function detectContainer(head: Buffer): Container | undefined {
  return CONTAINERS.find((c) => c.detect(head));
}

/** The container of a given kind. */
export function containerOfKind(kind: string): Container | undefined {
  return CONTAINERS.find((c) => c.kind === kind);
}
