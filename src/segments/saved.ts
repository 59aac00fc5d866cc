/**
 * Saved segments (a portal's named filters, stored in its settings: src/settings/saved-segments.ts)
 * as filters: their priority order, the map the compiler inlines references from, the checks a
 * change must pass (size and cycles once references are inlined) and which of them compile.
 */
import type { SavedSegment } from '../settings/saved-segments.js';
import type { SegmentFilter } from '../settings/segment-filter.js';
import { checkFilterBounds, filterUses } from './bounds.js';
import { FilterError, TooManySavedSegmentsError } from './errors.js';
import { MAX_SAVED_SEGMENTS } from './limits.js';
import { compilePredicate } from './predicate.js';
import { Params } from './sql.js';

/** Highest priority first; ties keep the given (stored) order. The one order of saved segments. */
export function byPriority<T extends { priority: number }>(list: readonly T[]): T[] {
  return list.map((s, i) => ({ s, i })).sort((a, b) => b.s.priority - a.s.priority || a.i - b.i).map((x) => x.s);
}

/** Saved segments by id: what `saved` conditions refer to (CompileOptions.saved). */
export function savedFilters(list: readonly Pick<SavedSegment, 'id' | 'filter'>[]): Map<string, SegmentFilter> {
  return new Map(list.map((s) => [s.id, s.filter]));
}

/**
 * The saved segments after storing `seg` (a new one, or a new version of one with its id), in
 * priority order; throws when the change is refused: TooManySavedSegmentsError past
 * MAX_SAVED_SEGMENTS, FilterTooLargeError / FilterCycleError / FilterError when `seg` is over the
 * limits once its references are inlined, or pushes a segment that refers to it over them (or
 * into a cycle). Segments that were already unusable before this change (e.g. stored before the
 * limits) do not block it. A search text is refused (FilterError): it is a personal view's.
 */
export function withSavedSegment(before: readonly SavedSegment[], seg: SavedSegment): SavedSegment[] {
  const list = before.filter((s) => s.id !== seg.id);
  if (list.length === before.length && list.length >= MAX_SAVED_SEGMENTS) {
    throw new TooManySavedSegmentsError(`a portal keeps at most ${MAX_SAVED_SEGMENTS} saved segments (limit ${MAX_SAVED_SEGMENTS}); delete one first`);
  }
  list.push(seg);
  const oldMap = savedFilters(before);
  const newMap = savedFilters(list);
  checkFilterBounds(seg.filter, newMap, { what: `saved segment "${seg.id}"`, selfId: seg.id });
  // a phone or e-mail search is looked up with one user's token: it has no meaning portal-wide
  if (filterUses(seg.filter, newMap, 'search')) throw new FilterError('a saved segment cannot hold a search text (it is looked up with one user\'s rights): save it as a personal view');
  for (const s of list) {
    if (s === seg) continue;
    let okBefore = true;
    try {
      checkFilterBounds(s.filter, oldMap, { selfId: s.id });
    } catch {
      okBefore = false;
    }
    if (okBefore) checkFilterBounds(s.filter, newMap, { what: `saved segment "${s.id}" (which refers to "${seg.id}")`, selfId: s.id });
  }
  return byPriority(list);
}

/**
 * The saved segments whose filter compiles against the others (a reference to a deleted segment
 * or too deep a nesting leaves one out, with a note); repeated, since leaving one out can break
 * a segment referring to it. Order kept.
 */
export function usableSavedSegments<T extends Pick<SavedSegment, 'id' | 'filter'>>(segments: readonly T[]): { usable: T[]; notes: string[] } {
  let usable = [...segments];
  const notes: string[] = [];
  for (;;) {
    const map = savedFilters(usable);
    const ok = usable.filter((s) => {
      try {
        compilePredicate(s.filter, new Params([0, 0]), { saved: map });
        return true;
      } catch (e) {
        notes.push(`saved segment ${s.id}: skipped (${(e as Error).message})`);
        return false;
      }
    });
    if (ok.length === usable.length) return { usable, notes };
    usable = ok;
  }
}
