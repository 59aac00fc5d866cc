/**
 * A planned update as the plan keeps it until its batch goes out: the changed values (and the
 * interest tags) as one JSON string instead of an object per field: a first write-back of 1M
 * contacts plans 1M updates of ~20 fields each (issue 16 item 5: planning them peaked at 994 and
 * 1,284 MB in two runs, docs/benchmarks.md). Packing is used only when it is exact: a value JSON cannot give back as it was
 * (NaN, ±Infinity, -0, undefined) keeps the update as an object.
 */
import type { Tier } from './priority.js';
import type { SemValues } from './diff.js';

export interface Pending {
  id: number;
  changed: SemValues;
  /** the write-back order (priority.ts): tier, then value */
  tier: Tier;
  value: number;
  /** the app's own interest tags, recorded when the interests field is written (own-interests.ts) */
  own?: string[];
  /** the tags the app owned before (what it last wrote), to merge again with the portal's current value */
  owned?: string[];
}

/** A Pending with its values packed: id, tier and value stay for the ordering. */
export interface Planned {
  id: number;
  tier: Tier;
  value: number;
  packed: string | Pending;
}

class Inexact extends Error {}

function exact(_key: string, v: unknown): unknown {
  if (v === undefined || (typeof v === 'number' && (!Number.isFinite(v) || Object.is(v, -0)))) throw new Inexact();
  return v;
}

export function pack(p: Pending): Planned {
  const rest = { changed: p.changed, ...('own' in p ? { own: p.own } : {}), ...('owned' in p ? { owned: p.owned } : {}) };
  try {
    return { id: p.id, tier: p.tier, value: p.value, packed: JSON.stringify(rest, exact) };
  } catch (e) {
    if (e instanceof Inexact) return { id: p.id, tier: p.tier, value: p.value, packed: p };
    throw e;
  }
}

export function unpack(u: Planned): Pending {
  if (typeof u.packed !== 'string') return u.packed;
  const rest = JSON.parse(u.packed) as Pick<Pending, 'changed' | 'own' | 'owned'>;
  return {
    id: u.id, changed: rest.changed, tier: u.tier, value: u.value,
    ...('own' in rest ? { own: rest.own } : {}), ...('owned' in rest ? { owned: rest.owned } : {}),
  };
}
