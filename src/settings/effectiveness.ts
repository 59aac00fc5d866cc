/**
 * Settings of the effectiveness figures (GET /api/ui/effectiveness): the margin of a won deal
 * whose products have no purchase price in the store, as a percentage of the deal's amount.
 */
import { z } from 'zod';

/** Default margin when the catalog gives no purchase price: 30 % of the deal's amount. */
export const DEFAULT_MARGIN_PERCENT = 30;

export const effectivenessSettingsSchema = z.object({
  marginPercent: z.number().min(0).max(100).default(DEFAULT_MARGIN_PERCENT),
}).strict();
export type EffectivenessSettings = z.infer<typeof effectivenessSettingsSchema>;
