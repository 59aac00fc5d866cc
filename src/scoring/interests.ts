/**
 * Interest tags from the product sections a customer bought from.
 *
 * 1. Each purchased section is lifted to its ancestor at the configured depth of the section tree
 *    (depth 1 = top level; a section shallower than the depth stays itself).
 * 2. The admin map is looked up for the original section first, then for each ancestor up to the
 *    root: the most specific entry wins. It gives the tag, its relevance window and related tags
 *    with their own windows. Without an entry the tag is "section:<id at depth>" named after that
 *    section, with the default window.
 * 3. A tag is active until (last purchase day in that section + window); related tags likewise with
 *    their own window. The same tag from several sources keeps the latest expiry.
 *    Example: kitchen (window 30 d) → "kitchen" for a month; stroller (window 90 d, related
 *    "kids_goods" 1095 d) → "kids_goods" for three years.
 */
import { formatDay, type DayNumber } from './dates.js';
import type { InterestMapEntry, ScoringSettings } from './settings.js';
import type { SectionNode } from './types.js';

export interface ActiveInterest {
  tag: string;
  /** display name (section name for unmapped sections, else the tag) */
  name: string;
  expiresOn: string;
  /** true when implied by a related-tag rule rather than bought directly */
  implied: boolean;
}

export interface SectionIndex {
  /** chain from the section up to the root (section first); [id] for an unknown section */
  chain(sectionId: number): number[];
  name(sectionId: number): string | undefined;
}

export function buildSectionIndex(sections: readonly SectionNode[]): SectionIndex {
  const byId = new Map<number, SectionNode>();
  for (const s of sections) byId.set(s.id, s);
  const cache = new Map<number, number[]>();
  const chain = (id: number): number[] => {
    const hit = cache.get(id);
    if (hit) return hit;
    const out: number[] = [];
    const seen = new Set<number>();
    let cur: number | null = id;
    while (cur !== null && !seen.has(cur)) {
      seen.add(cur); // guards against cycles in bad data
      out.push(cur);
      cur = byId.get(cur)?.parentId ?? null;
    }
    cache.set(id, out);
    return out;
  };
  return { chain, name: (id) => byId.get(id)?.name };
}

export function activeInterests(
  sectionLastDay: ReadonlyMap<number, DayNumber> | null,
  asOfDay: DayNumber,
  settings: ScoringSettings['interests'],
  index: SectionIndex,
  mapBySection: ReadonlyMap<number, InterestMapEntry>,
): ActiveInterest[] {
  if (!sectionLastDay) return [];
  const best = new Map<string, { name: string; expires: number; implied: boolean }>();
  const offer = (tag: string, name: string, expires: number, implied: boolean) => {
    if (expires < asOfDay) return;
    const cur = best.get(tag);
    if (!cur || expires > cur.expires || (expires === cur.expires && cur.implied && !implied)) {
      best.set(tag, { name, expires, implied });
    }
  };
  for (const [sectionId, lastDay] of sectionLastDay) {
    const chain = index.chain(sectionId); // section … root
    const atDepth = chain[Math.max(0, chain.length - settings.depth)]!;
    const entry = chain.map((id) => mapBySection.get(id)).find((e) => e !== undefined);
    if (entry) {
      offer(entry.tag, entry.tag, lastDay + entry.windowDays, false);
      for (const rel of entry.related) offer(rel.tag, rel.tag, lastDay + rel.windowDays, true);
    } else {
      offer(`section:${atDepth}`, index.name(atDepth) ?? `section ${atDepth}`, lastDay + settings.defaultWindowDays, false);
    }
  }
  return [...best.entries()]
    .map(([tag, v]) => ({ tag, name: v.name, expiresOn: formatDay(v.expires), implied: v.implied }))
    .sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
}
