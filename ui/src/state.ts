/** Shared app state: who is the user, meta data (labels, lists), the boot placement. */
import { reactive } from 'vue';
import { api } from './api';

export interface LabelInfo { code: string; name: string; description: string }
export interface SavedSegment { id: string; name: string; priority: number; filter: Filter }
import type { Filter } from './filterModel';
export type { Condition, Filter } from './filterModel';

export interface PortalUser { id: number; name: string; active: boolean }

export interface Meta {
  run: { id: number; asOf: string } | null;
  scale: number;
  segments: LabelInfo[];
  lifecycles: LabelInfo[];
  interests: string[];
  interestNames: Record<string, string>;
  /** window of each mapped tag in days; any other tag has defaultWindowDays */
  interestWindows: Record<string, number>;
  defaultWindowDays: number;
  sources: string[];
  sourceNames: Record<string, string>;
  responsibles: number[];
  /** the portal's users by name (asked with the user's token); dismissed ones: active false */
  users: PortalUser[];
  namesKnown: boolean;
  cities: string[];
  /** why refused customers refused: the filter compares the key */
  refusalReasons?: Array<{ key: string; reason: string }>;
  ufKeys: string[];
  saved: SavedSegment[];
  minGroup: number | null;
  /** B2B: the option, and whether the latest run labelled companies (the contacts / companies switch) */
  b2b?: { enabled: boolean; companiesScored: boolean };
  /** the contact fields "any field" offers (standard and custom), with how each is filtered */
  fields?: CustomerField[];
  /** the same for the company's own fields (over companies, B2B) */
  companyFields?: CustomerField[];
  /** the company's industries and sizes: CRM status id → name */
  industries?: Record<string, string>;
  companySizes?: Record<string, string>;
}

export interface CustomerField {
  key: string;
  title: string;
  kind: 'text' | 'number' | 'date' | 'list' | 'bool';
  multiple: boolean;
  custom: boolean;
  items?: Array<{ id: string; name: string }>;
}

/** Whose labels a page shows (B2B switch). */
export type Entity = 'contact' | 'company';

export const state = reactive({
  isAdmin: false,
  userId: 0,
  placement: 'DEFAULT',
  placementOptions: {} as Record<string, unknown>,
  frameReady: false,
  meta: null as Meta | null,
  /** the segment list's last route query (its state), so the tab keeps it when the user comes back */
  segmentsQuery: {} as Record<string, string>,
});

/** The app shows one contact's (or company's) card: its CRM tab, or the card opened in a slider from the list. */
export function cardMode(): boolean {
  return state.placement === 'CRM_CONTACT_DETAIL_TAB' || state.placement === 'CRM_COMPANY_DETAIL_TAB'
    || Number(state.placementOptions.contactId) > 0 || Number(state.placementOptions.companyId) > 0;
}

export async function loadMeta(): Promise<Meta> {
  state.meta = await api<Meta>('GET', '/meta');
  return state.meta;
}

export function segName(code: string | null | undefined): string {
  if (!code) return '—';
  return state.meta?.segments.find((s) => s.code === code)?.name ?? code;
}
export function segDescription(code: string | null | undefined): string {
  return state.meta?.segments.find((s) => s.code === code)?.description ?? '';
}
/** A user's name; '' when unknown (the UI never shows a bare ID). */
export function userName(id: number | null | undefined): string {
  if (!id) return '';
  return state.meta?.users.find((u) => u.id === Number(id))?.name ?? '';
}
export function userActive(id: number): boolean {
  return state.meta?.users.find((u) => u.id === id)?.active ?? true;
}
export function sourceName(code: string | null | undefined): string {
  if (!code) return '';
  return state.meta?.sourceNames?.[code] ?? code;
}
export function interestName(tag: string): string {
  return state.meta?.interestNames?.[tag] ?? tag;
}
export function interestWindow(tag: string): number {
  return state.meta?.interestWindows?.[tag] ?? state.meta?.defaultWindowDays ?? 365;
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
