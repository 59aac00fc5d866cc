/**
 * A saved segment: a named filter with a priority (settings.savedSegments). The filter's meaning
 * in SQL, the checks a change must pass and the priority order are src/segments/.
 */
import { z } from 'zod';
import { savedSegmentId, segmentFilterSchema } from './segment-filter.js';

export const savedSegmentSchema = z.object({
  id: savedSegmentId,
  name: z.string().trim().min(1).max(120),
  filter: segmentFilterSchema,
  /** higher wins when a contact matches several saved segments */
  priority: z.number().int().min(0).max(1000).default(0),
});
export type SavedSegment = z.infer<typeof savedSegmentSchema>;
