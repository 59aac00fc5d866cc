/**
 * The zod schemas of `manifest/`: what install registers on a portal (scopes, placements,
 * event handlers, contact and company user fields) and the market texts. Loaded and validated once
 * at start-up; a malformed manifest stops the app with the zod error.
 */
import { z } from 'zod';

/** Labels per language; English and Russian are required, others fall back to English. */
export const langMapSchema = z.object({ en: z.string().min(1), ru: z.string().min(1) }).catchall(z.string().min(1));

const path = z.string().regex(/^\/[a-z0-9\-/]*$/, 'a path on our server such as /app');
const eventName = z.string().regex(/^ON[A-Z0-9]+$/, 'an upper-case event name such as ONCRMDEALUPDATE');

export const appManifestSchema = z.object({
  code: z.string().regex(/^[a-z0-9_]+$/),
  version: z.number().int().positive(),
  name: langMapSchema,
  scopes: z.array(z.enum(['crm', 'catalog', 'placement', 'user_brief', 'user', 'bizproc'])).min(1),
  pages: z.object({ app: path, install: path }),
  placements: z.array(z.object({
    placement: z.string().regex(/^[A-Z0-9_]+$/),
    handler: path,
    title: langMapSchema,
    description: langMapSchema,
  })),
  events: z.object({
    handler: path,
    online: z.array(eventName),
    offline: z.array(eventName),
    lifecycle: z.array(eventName),
  }),
});

/** Where an enumeration field's items come from (filled in at install from the scoring settings). */
export const itemSourceSchema = z.enum(['rfmLevels', 'rfmCells', 'segments', 'lifecycles', 'interests', 'savedSegments', 'refusalReasons']);

export const fieldSchema = z.object({
  /** The CRM field name, a contract: other checks read it. ≤ 50 characters with the UF_CRM_ prefix. */
  name: z.string().regex(/^UF_CRM_[A-Z0-9_]+$/).max(50),
  type: z.enum(['integer', 'double', 'date', 'datetime', 'boolean', 'enumeration', 'string']),
  items: itemSourceSchema.optional(),
  multiple: z.boolean().default(false),
  sort: z.number().int(),
  settings: z.record(z.string(), z.unknown()).default({}),
  label: langMapSchema,
  help: langMapSchema.optional(),
  /** the entities this field is registered on (default: every entity of the manifest) */
  entities: z.array(z.enum(['contact', 'company'])).min(1).optional(),
}).refine((f) => (f.type === 'enumeration') === (f.items !== undefined), {
  message: 'enumeration fields (and only they) name their item source',
}).refine((f) => !(f.type === 'boolean' && f.multiple), { message: 'a boolean field cannot be multiple' });

export const fieldsManifestSchema = z.object({
  /** XML_ID of each field is prefix + name: how a reinstall finds our fields again. */
  xmlIdPrefix: z.string().regex(/^[A-Z0-9_]+$/),
  /**
   * The CRM entities whose cards carry the fields, under the same names: contacts always,
   * companies when the portal's B2B option is on (src/writeback/fields.ts).
   */
  entities: z.array(z.enum(['contact', 'company'])).min(1).default(['contact', 'company']),
  fields: z.array(fieldSchema).min(1),
}).refine((m) => new Set(m.fields.map((f) => f.name)).size === m.fields.length, { message: 'field names must be unique' });

export type AppManifest = z.infer<typeof appManifestSchema>;
export type FieldManifest = z.infer<typeof fieldSchema>;
export type FieldsManifest = z.infer<typeof fieldsManifestSchema>;
