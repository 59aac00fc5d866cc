/**
 * Pure helpers of the split-ID-range export (strategy "ranges"): plan `[lo, hi)` ranges,
 * settle a range from its page, adapt the width to the observed ID density.
 *
 * A list page holds at most 50 rows. A range no wider than 50 IDs can never hold more than
 * 50 rows (IDs are unique integers), so it is complete after one call whatever it returns.
 * A wider range that comes back with exactly 50 rows may hold more: its remainder
 * `[lastId + 1, hi)` is queued again.
 */
export const PAGE = 50;

export interface IdRange {
  lo: number; // inclusive
  hi: number; // exclusive
}

/** Up to `count` consecutive ranges of `width` IDs from `lo` to `maxId` inclusive. */
export function planRanges(lo: number, maxId: number, width: number, count: number): IdRange[] {
  const out: IdRange[] = [];
  const w = Math.max(1, Math.floor(width));
  let a = lo;
  while (out.length < count && a <= maxId) {
    const b = Math.min(a + w, maxId + 1);
    out.push({ lo: a, hi: b });
    a = b;
  }
  return out;
}

/**
 * What a range's page tells us: `done` when the range is fully exported, otherwise the
 * remainder still to fetch.
 */
export function settleRange(r: IdRange, rowIds: readonly number[]): { done: true } | { done: false; rest: IdRange } {
  if (rowIds.length < PAGE || r.hi - r.lo <= PAGE) return { done: true };
  const last = Math.max(...rowIds);
  if (last + 1 >= r.hi) return { done: true };
  return { done: false, rest: { lo: last + 1, hi: r.hi } };
}

/**
 * Next range width from the observed density (rows per ID): aim at `fill` × 50 rows per
 * range (default 0.8 → 40), never below 50 (a 50-wide range is complete by construction,
 * so going narrower only adds calls) and at most `maxWidth`.
 */
export function nextWidth(rows: number, idSpan: number, fill = 0.8, maxWidth = 1_000_000): number {
  if (idSpan <= 0) return PAGE;
  if (rows <= 0) return Math.min(maxWidth, Math.max(PAGE, idSpan * 2));
  const density = rows / idSpan;
  return Math.min(maxWidth, Math.max(PAGE, Math.floor((PAGE * fill) / density)));
}

/**
 * Re-splits the remainder of an overflowing range by the density its full page showed
 * (50 rows over `[lo, lastId]`), so a dense cluster is fetched in parallel sub-ranges of
 * ~`fill` × 50 rows instead of one sequential remainder after another.
 */
export function splitRemainder(r: IdRange, rowIds: readonly number[], fill = 0.8): IdRange[] {
  const s = settleRange(r, rowIds);
  if (s.done) return [];
  const spanned = Math.max(1, Math.max(...rowIds) - r.lo + 1);
  const width = Math.max(PAGE, Math.floor((spanned * fill * PAGE) / Math.max(rowIds.length, 1)));
  return planRanges(s.rest.lo, s.rest.hi - 1, width, Number.MAX_SAFE_INTEGER);
}
