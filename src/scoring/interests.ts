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
import { memoFormatDay, type DayNumber } from './dates.js';
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
  const ids = Float64Array.from(sectionLastDay.keys());
  const days = Float64Array.from(sectionLastDay.values());
  return new InterestTagger(asOfDay, settings, index, mapBySection).interests(ids, days, 0, ids.length);
}

/** activeInterests plus the tags whose window has passed (expiresOn before the as-of day). */
export function everInterests(
  sectionLastDay: ReadonlyMap<number, DayNumber> | null,
  asOfDay: DayNumber,
  settings: ScoringSettings['interests'],
  index: SectionIndex,
  mapBySection: ReadonlyMap<number, InterestMapEntry>,
): ActiveInterest[] {
  if (!sectionLastDay) return [];
  const ids = Float64Array.from(sectionLastDay.keys());
  const days = Float64Array.from(sectionLastDay.values());
  return new InterestTagger(asOfDay, settings, index, mapBySection).everInterests(ids, days, 0, ids.length);
}

/** What one purchased section offers: its map entry (the most specific one), else its default tag. */
interface SectionOffer {
  entry: InterestMapEntry | undefined;
  /** tag id of the entry's tag, or of "section:<id at depth>" */
  tag: number;
  name: string;
  windowDays: number;
  related: { tag: number; windowDays: number }[];
}

/**
 * activeInterests for many customers of one run. Why a class: the chain walk, the map lookup and
 * the tag strings depend only on the section, so they are resolved once per section id per run
 * instead of once per customer and section; tags get small integer ids so that merging a
 * customer's offers is an array lookup, and expiry dates are formatted once per distinct day.
 */
export class InterestTagger {
  private readonly bySection = new Map<number, SectionOffer>();
  private readonly tagIds = new Map<string, number>();
  private readonly tags: string[] = [];
  /** per tag id: its slot among the current customer's tags, −1 when absent */
  private slotOfTag = new Int32Array(64).fill(-1);
  // the current customer's tags (slots 0..slots−1, first-offer order)
  private slots = 0;
  private slotTag: number[] = [];
  private slotName: string[] = [];
  private slotExpires: number[] = [];
  private slotImplied: boolean[] = [];
  /** everInterests: keep tags whose window has passed */
  private keepLapsed = false;

  constructor(
    private readonly asOfDay: DayNumber,
    private readonly settings: ScoringSettings['interests'],
    private readonly index: SectionIndex,
    private readonly mapBySection: ReadonlyMap<number, InterestMapEntry>,
    private readonly dayText: (day: DayNumber) => string = memoFormatDay(),
  ) {}

  /** Active interests from the sections ids[start..end) with their last purchase days (first-purchase order). */
  interests(ids: Float64Array, lastDays: Float64Array, start: number, end: number): ActiveInterest[] {
    const out: ActiveInterest[] = [];
    if (end <= start) return out;
    for (let i = start; i < end; i++) {
      const o = this.offerOf(ids[i]!);
      const lastDay = lastDays[i]!;
      this.offer(o.tag, o.name, lastDay + o.windowDays, false);
      for (const rel of o.related) this.offer(rel.tag, this.tags[rel.tag]!, lastDay + rel.windowDays, true);
    }
    const k = this.slots;
    const tags = this.tags;
    const slotTag = this.slotTag;
    // the slots by tag (tags are distinct): insertion sort, a customer has a handful
    const order = this.order(k);
    for (let j = 1; j < k; j++) {
      const v = order[j]!;
      const tv = tags[slotTag[v]!]!;
      let q = j - 1;
      while (q >= 0 && tags[slotTag[order[q]!]!]! > tv) {
        order[q + 1] = order[q]!;
        q--;
      }
      order[q + 1] = v;
    }
    for (let j = 0; j < k; j++) {
      const i = order[j]!;
      out.push({ tag: tags[slotTag[i]!]!, name: this.slotName[i]!, expiresOn: this.dayText(this.slotExpires[i]!), implied: this.slotImplied[i]! });
    }
    for (let i = 0; i < k; i++) this.slotOfTag[slotTag[i]!] = -1;
    this.slots = 0;
    return out;
  }

  /**
   * Every tag ever bought from these sections, each with its latest expiry (the tag is active while
   * expiresOn ≥ the as-of day, lapsed after): `interests` is exactly its active part.
   */
  everInterests(ids: Float64Array, lastDays: Float64Array, start: number, end: number): ActiveInterest[] {
    this.keepLapsed = true;
    try {
      return this.interests(ids, lastDays, start, end);
    } finally {
      this.keepLapsed = false;
    }
  }

  /** The as-of day as text (an interest is active while expiresOn ≥ it). */
  asOfText(): string {
    return this.dayText(this.asOfDay);
  }

  private orderBuffer = new Int32Array(16);
  private order(k: number): Int32Array {
    if (this.orderBuffer.length < k) this.orderBuffer = new Int32Array(k * 2);
    for (let i = 0; i < k; i++) this.orderBuffer[i] = i;
    return this.orderBuffer;
  }

  /** the same tag from several sources keeps the latest expiry; at equal expiry a direct purchase beats an implied tag */
  private offer(tag: number, name: string, expires: number, implied: boolean): void {
    if (expires < this.asOfDay && !this.keepLapsed) return;
    const slot = this.slotOfTag[tag]!;
    if (slot < 0) {
      const i = this.slots++;
      this.slotOfTag[tag] = i;
      this.slotTag[i] = tag;
      this.slotName[i] = name;
      this.slotExpires[i] = expires;
      this.slotImplied[i] = implied;
      return;
    }
    const curExpires = this.slotExpires[slot]!;
    if (expires > curExpires || (expires === curExpires && this.slotImplied[slot]! && !implied)) {
      this.slotName[slot] = name;
      this.slotExpires[slot] = expires;
      this.slotImplied[slot] = implied;
    }
  }

  private offerOf(sectionId: number): SectionOffer {
    const hit = this.bySection.get(sectionId);
    if (hit) return hit;
    const chain = this.index.chain(sectionId); // section … root
    let entry: InterestMapEntry | undefined;
    for (const id of chain) {
      entry = this.mapBySection.get(id);
      if (entry !== undefined) break;
    }
    let o: SectionOffer;
    if (entry) {
      o = {
        entry,
        tag: this.tagId(entry.tag),
        name: entry.tag,
        windowDays: entry.windowDays,
        related: entry.related.map((rel) => ({ tag: this.tagId(rel.tag), windowDays: rel.windowDays })),
      };
    } else {
      const atDepth = chain[Math.max(0, chain.length - this.settings.depth)]!;
      o = {
        entry,
        tag: this.tagId(`section:${atDepth}`),
        name: this.index.name(atDepth) ?? `section ${atDepth}`,
        windowDays: this.settings.defaultWindowDays,
        related: [],
      };
    }
    this.bySection.set(sectionId, o);
    return o;
  }

  private tagId(tag: string): number {
    let id = this.tagIds.get(tag);
    if (id === undefined) {
      id = this.tags.length;
      this.tags.push(tag);
      this.tagIds.set(tag, id);
      if (id >= this.slotOfTag.length) {
        const grown = new Int32Array(this.slotOfTag.length * 2).fill(-1);
        grown.set(this.slotOfTag);
        this.slotOfTag = grown;
      }
    }
    return id;
  }

}
