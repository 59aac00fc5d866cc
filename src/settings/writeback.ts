/**
 * Write-back options (settings.writeback; no page edits them yet):
 *   tolerance         relative change of CLV / P(alive) below which the CRM value is kept (default: src/writeback/diff.ts DEFAULT_TOLERANCE)
 *   clvTolerance      ... for CLV only (wins over tolerance)
 *   pAliveTolerance   ... for P(alive) only
 *   spread            'auto' | 'always' | 'never': alternate crm.contact.update and crm.item.update (src/writeback/write.ts)
 * Each option is read on its own: an unusable one is left out (its default applies), the others stay.
 */
import { z } from 'zod';

const optionalNumber = z.number().optional().catch(undefined);

export const writebackOptionsSchema = z.object({
  tolerance: optionalNumber,
  clvTolerance: optionalNumber,
  pAliveTolerance: optionalNumber,
  spread: z.enum(['auto', 'always', 'never']).default('auto').catch('auto'),
});
export type WritebackOptions = z.infer<typeof writebackOptionsSchema>;
