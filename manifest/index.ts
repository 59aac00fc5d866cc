/** Loads and validates `manifest/`: the single source of what install registers. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { appManifestSchema, fieldsManifestSchema, type AppManifest, type FieldsManifest } from './schema.js';

const here = dirname(fileURLToPath(import.meta.url));

function readJson(name: string): unknown {
  return JSON.parse(readFileSync(join(here, name), 'utf8'));
}

export interface Manifest {
  app: AppManifest;
  fields: FieldsManifest;
}

let cached: Manifest | null = null;

/** The validated manifest; throws a zod error naming the bad entry. */
export function loadManifest(): Manifest {
  cached ??= {
    app: appManifestSchema.parse(readJson('app.json')),
    fields: fieldsManifestSchema.parse(readJson('fields.json')),
  };
  return cached;
}

export * from './schema.js';
