/**
 * Ready-made views for the questions users ask first. Each is a filter relative to the run (days
 * since / until a purchase), so it keeps its meaning when saved or shared as a link.
 */
import type { MsgKey } from '../i18n';
import type { ListState } from '../filterModel';

export interface ReadyView {
  key: string;
  label: MsgKey;
  help: MsgKey;
  state: (scale: number) => ListState;
}

const ASLEEP = ['about_to_sleep', 'at_risk', 'cant_lose', 'hibernating', 'lost'];
const AWAKE = ['champions', 'loyal', 'potential_loyalist', 'new', 'promising', 'need_attention'];

export const READY_VIEWS: ReadyView[] = [
  {
    key: 'valuable', label: 'readyValuable', help: 'readyValuableHelp',
    state: (scale) => ({
      filter: { all: [{ field: 'range', key: 'm', min: scale === 3 ? 3 : 4, max: null }, { field: 'sleeping', value: true }] },
      sort: 'clv', dir: 'desc', columns: ['name', 'segment', 'monetary', 'clv', 'last_purchase', 'responsible', 'phone', 'city'], page: 1,
    }),
  },
  {
    key: 'new', label: 'readyNew', help: 'readyNewHelp',
    state: () => ({
      filter: { all: [{ field: 'range', key: 'first_purchase_days', min: null, max: 30 }] },
      sort: 'last_purchase', dir: 'desc', columns: ['name', 'segment', 'monetary', 'last_purchase', 'responsible', 'phone', 'source'], page: 1,
    }),
  },
  {
    key: 'wonback', label: 'readyWonBack', help: 'readyWonBackHelp',
    state: () => ({
      filter: { all: [{ field: 'prev_segment', values: ASLEEP }, { field: 'segment', values: AWAKE }, { field: 'range', key: 'recency_days', min: null, max: 90 }] },
      sort: 'last_purchase', dir: 'desc', columns: ['name', 'segment', 'monetary', 'last_purchase', 'responsible', 'phone'], page: 1,
    }),
  },
  {
    key: 'call', label: 'readyCall', help: 'readyCallHelp',
    state: () => ({
      filter: { all: [{ field: 'range', key: 'next_purchase_days', min: null, max: 7 }, { field: 'has_phone', value: true }] },
      sort: 'next_purchase', dir: 'asc', columns: ['name', 'segment', 'next_purchase', 'clv', 'responsible', 'phone', 'city'], page: 1,
    }),
  },
];
