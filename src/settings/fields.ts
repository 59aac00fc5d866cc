/**
 * The state of the app's CRM fields (settings.fields): `removed` is true after an admin removed
 * them from the Settings page ("remove the app's fields", src/writeback/remove-fields.ts). While
 * it is true the write-back does nothing (it would create the fields again); the Settings page
 * shows a banner with "re-create the fields", and a reinstall re-creates them too. `removedAt`
 * is when (ISO time), for the banner.
 */
import { z } from 'zod';

export const fieldsStateSchema = z.object({
  removed: z.boolean().default(false),
  removedAt: z.string().max(40).nullable().default(null),
});
export type FieldsState = z.infer<typeof fieldsStateSchema>;
