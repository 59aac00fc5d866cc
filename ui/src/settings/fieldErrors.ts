/**
 * The settings page's errors where the admin looks: each server issue (a dotted path from the
 * settings object, a code, its numbers; src/server/ui-api/http.ts fieldIssues) becomes a translated
 * sentence placed at the field whose data-path is the longest prefix of the issue's path, and the
 * first such field gets the focus. Issues no field claims are listed next to the buttons.
 */
import { t } from '../i18n';

export interface FieldIssue { path: string; code: string; message: string; minimum?: number; maximum?: number; origin?: string; params?: Record<string, unknown> }

/** One issue in the user's language. */
export function issueText(i: FieldIssue): string {
  const p = i.params ?? {};
  switch (p.i18n) {
    case 'descending': return t('errDescending');
    case 'ascending': return t('errAscending');
    case 'aboveScale': return t('errAboveScale', { n: Number(p.scale ?? 5) });
    case 'cellsUncovered': return t('errCells', { n: Number(p.count ?? 0), cells: String(p.cells ?? '') });
    case 'lowAboveHigh': return t('errLowHigh');
    case 'regularBelowReturning': return t('errRegular');
    case 'sameFromTo': return t('errSameFromTo');
  }
  if (i.origin === 'array' && (i.code === 'too_small' || i.code === 'too_big')) return t('errLength', { n: Number(i.minimum ?? i.maximum ?? 0) });
  if (i.code === 'too_big') return t('errTooBig', { max: Number(i.maximum) });
  if (i.code === 'too_small') return i.origin === 'string' ? t('errRequired') : t('errTooSmall', { min: Number(i.minimum) });
  if (i.code === 'invalid_type') return i.path.endsWith('templateId') ? t('errTemplate') : t('errType');
  return t('errGenericField');
}

/** The data-path of the field that owns an issue path: the longest [data-path] that is a prefix of it. */
function owner(paths: readonly string[], issuePath: string): string | null {
  let best: string | null = null;
  for (const p of paths) if ((issuePath === p || issuePath.startsWith(`${p}.`)) && (!best || p.length > best.length)) best = p;
  return best;
}

/**
 * Places the issues on the page's fields (root: the element holding the [data-path] fields);
 * returns the messages per field path and the ones no field claims, and focuses the first field.
 */
export function placeIssues(root: HTMLElement | null, issues: readonly FieldIssue[]): { byPath: Record<string, string>; loose: string[] } {
  const els = root ? [...root.querySelectorAll<HTMLElement>('[data-path]')] : [];
  const paths = els.map((e) => e.dataset.path!);
  const byPath: Record<string, string> = {};
  const loose: string[] = [];
  for (const i of issues) {
    const p = owner(paths, i.path);
    const text = issueText(i);
    if (p) byPath[p] = byPath[p] ? `${byPath[p]} ${text}` : text;
    else loose.push(text);
  }
  const first = els.find((e) => byPath[e.dataset.path!] !== undefined);
  first?.focus();
  return { byPath, loose };
}

/** Bounds as typed ("365, 180, 90, 30"): every part a number, or the first part that is not one. */
export function parseBounds(text: string): { ok: true; values: number[] } | { ok: false; bad: string } {
  const parts = text.split(/[;,]/).map((s) => s.trim()).filter((s) => s !== '');
  const values: number[] = [];
  for (const p of parts) {
    const n = Number(p.replace(/[\s\u00A0]/g, ''));
    if (!/^[-+]?\d+(\.\d+)?$/.test(p.replace(/[\s\u00A0]/g, '')) || !Number.isFinite(n)) return { ok: false, bad: p };
    values.push(n);
  }
  return { ok: true, values };
}
