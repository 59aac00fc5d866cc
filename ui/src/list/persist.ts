/**
 * The list's state outside the page: in the URL (the app route's query `v`, so a tab change and a
 * link keep it) and the user's last state in localStorage (per portal and user: an iframe reload
 * starts at the app's URL without the hash, and gets it back from there).
 */
import { decodeState, encodeState, type ListState } from '../filterModel';

const key = () => {
  const b = window.__SEG_BOOT;
  return `seg.list.${b?.portalOrigin ?? ''}.${b?.userId ?? 0}`;
};

/** The query that shows this state. */
export function stateQuery(s: ListState): { v: string } {
  return { v: encodeState(s) };
}

/** The last state of this user on this portal, if kept. */
export function lastState(): ListState | null {
  try {
    return decodeState(localStorage.getItem(key()) ?? undefined);
  } catch {
    return null;
  }
}

export function keepState(s: ListState): void {
  try {
    localStorage.setItem(key(), encodeState(s));
  } catch {
    /* storage off: the URL still carries it */
  }
}
