/** Shared app state: who is the user, meta data (labels, lists), the boot placement. */
import { reactive } from 'vue';
import { api } from './api';

export interface LabelInfo { code: string; name: string; description: string }
export interface SavedSegment { id: string; name: string; priority: number; filter: Filter }
import type { Filter } from './filterModel';
export type { Condition, Filter } from './filterModel';

export interface Meta {
  run: { id: number; asOf: string } | null;
  scale: number;
  segments: LabelInfo[];
  lifecycles: LabelInfo[];
  interests: string[];
  interestNames: Record<string, string>;
  sources: string[];
  responsibles: number[];
  cities: string[];
  ufKeys: string[];
  saved: SavedSegment[];
  minGroup: number | null;
}

export const state = reactive({
  isAdmin: false,
  userId: 0,
  placement: 'DEFAULT',
  placementOptions: {} as Record<string, unknown>,
  frameReady: false,
  meta: null as Meta | null,
});

export async function loadMeta(): Promise<Meta> {
  state.meta = await api<Meta>('GET', '/meta');
  return state.meta;
}

export function segName(code: string | null | undefined): string {
  if (!code) return '—';
  return state.meta?.segments.find((s) => s.code === code)?.name ?? code;
}
export function lifecycleName(code: string | null | undefined): string {
  if (!code) return '—';
  return state.meta?.lifecycles.find((s) => s.code === code)?.name ?? code;
}

/** Segment colours (stable per code). */
export const SEGMENT_COLORS: Record<string, string> = {
  champions: '#1e8d36', loyal: '#55b84e', potential_loyalist: '#9bd04e', new: '#2fc6f6', promising: '#64a8e8',
  need_attention: '#f7c531', about_to_sleep: '#f39c4a', at_risk: '#e8613a', cant_lose: '#c2263d', hibernating: '#8a98a8',
  lost: '#525c69', no_purchases: '#c6cdd3',
};
