/** `--cpu N`: one vCPU, named by its cpu section instance. */
import { UsageError } from '../../errors.js';

/**
 * Checks that `--cpu` (if given) names a vCPU of every stream, before anything is printed:
 * a usage error naming the stream and the instances it has.
 */
export function onlyCpu(cpu: number | undefined, streams: [path: string, cpus: readonly { instance: number }[]][]): void {
  if (cpu === undefined) return;
  for (const [path, cpus] of streams) {
    if (!cpus.some((c) => c.instance === cpu)) {
      throw new UsageError(`--cpu ${cpu}: no such vCPU in ${path === '-' ? 'standard input' : path} (instances: ${cpus.map((c) => c.instance).join(', ') || 'none'})`);
    }
  }
}
