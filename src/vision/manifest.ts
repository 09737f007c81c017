// models/manifest.json: which model files exist, where they come from, their SHA-256, and the
// data that drives pre/post-processing (input layout, channel order, mean/std, decoder params).
// Keeping normalisation as data lets it be measured and changed without code changes. A model
// whose bytes do not hash to the manifest value is refused: a swapped detector or embedder would
// silently change who gets flagged.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a 64-digit lower-case hex SHA-256');

export const modelInputSchema = z
  .object({
    name: z.string().min(1),
    layout: z.enum(['NCHW', 'NHWC']),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** true when the spatial size may differ from width x height (fully convolutional). */
    dynamic: z.boolean().default(false),
    channelOrder: z.enum(['RGB', 'BGR', 'GREY']),
    /** value fed = (pixel - mean[c]) / std[c], per channel in channelOrder. */
    mean: z.array(z.number()).min(1).max(3),
    std: z.array(z.number().refine((v) => v !== 0, 'std must not be 0')).min(1).max(3),
  })
  .strict();

export const modelEntrySchema = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/),
    role: z.enum(['detector', 'landmarker', 'embedder']),
    /** File name inside paths.modelsDir. */
    file: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a plain file name inside the models folder'),
    source: z.union([
      z.object({ npmPackage: z.string().min(1), path: z.string().min(1) }).strict(),
      z.object({ file: z.string().min(1) }).strict(),
    ]),
    sha256: sha256Hex,
    input: modelInputSchema,
    decoder: z.object({ name: z.string().min(1), params: z.record(z.string(), z.unknown()).default({}) }).strict(),
    licence: z.string().min(1),
    notes: z.string().default(''),
    /**
     * Embedders: the impostor-score calibration file (in the models folder) from which a
     * deployment's threshold is derived for a target false-alert rate (src/match/fpir.ts). It names
     * this entry's SHA-256 and is refused when they differ.
     */
    calibration: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a plain file name inside the models folder').optional(),
    /**
     * Embedders: the equitability statement (missed matches and false alerts per group, measured
     * at the station for these bytes, src/match/equitability.ts) that deployment reports quote.
     */
    equitability: z.string().regex(/^[A-Za-z0-9._-]+$/, 'a plain file name inside the models folder').optional(),
  })
  .strict();

export const manifestSchema = z
  .object({
    schema: z.literal(1),
    models: z.array(modelEntrySchema).min(1),
  })
  .strict()
  .refine((m) => new Set(m.models.map((e) => e.id)).size === m.models.length, 'model ids must be unique');

export type ModelInput = z.infer<typeof modelInputSchema>;
export type ModelEntry = z.infer<typeof modelEntrySchema>;
export type Manifest = z.infer<typeof manifestSchema>;

/** A model problem a user can act on (bad manifest, missing file, hash mismatch). */
export class ModelError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelError';
  }
}

export async function loadManifest(modelsDir: string): Promise<Manifest> {
  const file = path.join(modelsDir, 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelError(code === 'ENOENT' ? `model manifest not found: ${file}` : `cannot read model manifest ${file}: ${(err as Error).message}`);
  }
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ModelError(`model manifest ${file} is not valid: ${first ? `${first.path.join('.')}: ${first.message}` : 'unknown problem'}`);
  }
  return parsed.data;
}

export function findModel(manifest: Manifest, id: string, role: ModelEntry['role']): ModelEntry {
  const entry = manifest.models.find((m) => m.id === id);
  if (!entry) {
    const known = manifest.models.filter((m) => m.role === role).map((m) => m.id);
    throw new ModelError(`no ${role} model "${id}" in the model manifest (known: ${known.join(', ') || 'none'})`);
  }
  if (entry.role !== role) throw new ModelError(`model "${id}" is a ${entry.role}, not a ${role}`);
  return entry;
}

/** Read a model file and check its SHA-256 against the manifest; returns the verified bytes. */
export async function readVerifiedModel(modelsDir: string, entry: ModelEntry): Promise<Uint8Array> {
  const file = path.join(modelsDir, entry.file);
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ModelError(
      code === 'ENOENT'
        ? `model file ${file} (model ${entry.id}) is missing; run "node scripts/prepare-models.mjs"`
        : `cannot read model file ${file}: ${code ?? (err as Error).message}`,
    );
  }
  const have = createHash('sha256').update(bytes).digest('hex');
  if (have !== entry.sha256) {
    throw new ModelError(`model file ${file} (model ${entry.id}) is refused: its SHA-256 is ${have} but the manifest expects ${entry.sha256}`);
  }
  return bytes;
}
