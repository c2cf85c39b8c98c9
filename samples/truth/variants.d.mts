/** Types of variants.mjs (see its header for the op list). */
export type VariantOp = { op: string; [k: string]: unknown };
export type VariantSpec = VariantOp | VariantOp[] | null;

export interface ListEdit {
  ids: bigint[];
  values: bigint[];
  dropSubsections: string[];
  /** Raw value for the count field, or null to write the list's length. */
  count: number | null;
}

export interface VariantSummary {
  cpus: { instance: number; count: number; digest: string | null }[];
  dropped: string[];
  sha256: string;
}

export function big(v: unknown, what?: string): bigint;
export function specOps(spec: VariantSpec | undefined): VariantOp[];
export function applyOpsToList(ids: bigint[], values: bigint[], spec: VariantSpec, subsections?: { name: string }[] | null): ListEdit;
export function listDigest(ids: bigint[], values: bigint[]): string;
export function fileDigest(path: string): string;
export function applyVariant(inputPath: string, spec: VariantSpec, outputPath: string): Promise<VariantSummary>;
