/** Stable codes written into CRM enumeration fields by other parts of the app. Never rename. */

export const SEGMENT_CODES = [
  'champions',
  'loyal',
  'potential_loyalist',
  'new',
  'promising',
  'need_attention',
  'about_to_sleep',
  'at_risk',
  'cant_lose',
  'hibernating',
  'lost',
  'no_purchases',
] as const;
export type SegmentCode = (typeof SEGMENT_CODES)[number];

export const LIFECYCLE_CODES = ['in_negotiation', 'uninterested', 'refused', 'one_time', 'returning', 'regular'] as const;
export type LifecycleCode = (typeof LIFECYCLE_CODES)[number];

export type Scale = 3 | 5;
