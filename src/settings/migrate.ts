/**
 * Old stored shapes → the current ones. Applied by the settings schema itself (schema.ts), so the
 * reader turns any stored version into the current typed settings and the writer, which stores
 * only the current shape, accepts an old one too. Stored rows are not rewritten in place: the next
 * save of the settings page stores the current shape. (Reading is cheap and pure; a database
 * migration would have to repeat this logic in SQL, and could not cover rows written later by a
 * process still running the previous version.)
 *
 *   schedule    {enabled, cron} (the scheduler's own shape, before the settings page)
 *                 enabled false                → {mode: 'manual'}
 *                 cron '0 H * * *'             → {mode: 'daily', hour: H}
 *                 cron '0 * * * *'             → {mode: 'hourly'}
 *                 any other cron (default '0 3 * * *' when absent) → {mode: 'cron', cron}
 *   automation  [{segment, action: 'task'|'notify'|'bizproc', value, enabled}] (earlier settings page)
 *                 → {rules: [...]} with ids derived from the content (rulesFromPageList)
 *   b2b         writeback.b2b: true (before b2b had its own key) → b2b: true
 */

const DAILY = /^0 (\d{1,2}) \* \* \*$/;

export function migrateSchedule(v: unknown): unknown {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v) || 'mode' in v) return v;
  const o = v as { enabled?: unknown; cron?: unknown };
  if (!('enabled' in o) && !('cron' in o)) return v;
  if (o.enabled === false) return { mode: 'manual' };
  if (o.cron !== undefined && typeof o.cron !== 'string') return { mode: 'cron', cron: o.cron };
  const cron = (o.cron ?? '0 3 * * *').trim().split(/\s+/).join(' ');
  const daily = DAILY.exec(cron);
  if (daily && Number(daily[1]) <= 23) return { mode: 'daily', hour: Number(daily[1]) };
  if (cron === '0 * * * *') return { mode: 'hourly' };
  return { mode: 'cron', cron };
}

export function migrateAutomation(v: unknown): unknown {
  if (v === undefined || v === null) return {};
  return Array.isArray(v) ? rulesFromPageList(v) : v;
}

/**
 * Earlier versions of the settings page saved rules as a list of
 * `{segment, action: 'task'|'notify'|'bizproc', value, enabled}`: "when a contact enters this segment, add a
 * to-do / a timeline comment / start this workflow template". This turns such a list into engine rules;
 * the id is derived from the rule's content, so reordering the list does not make old rules new (and
 * a converted list fires under the same ids as the stored old one).
 */
export function rulesFromPageList(list: readonly unknown[]): unknown {
  const rules: unknown[] = [];
  const seen = new Set<string>();
  for (const item of list) {
    const r = item as { segment?: unknown; action?: unknown; value?: unknown; enabled?: unknown };
    const value = typeof r.value === 'string' ? r.value.trim() : '';
    const action = r.action === 'task' ? { type: 'todo', title: value || 'Customer entered segment {segment}', deadlineDays: 1 }
      : r.action === 'notify' ? { type: 'comment', text: value || 'Entered segment {segment}' }
      : r.action === 'bizproc' ? { type: 'workflow', templateId: value }
      : null;
    if (!action || typeof r.segment !== 'string') continue;
    let h = 0;
    for (const ch of value) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
    const id = `page.${r.segment}.${String(r.action)}.${h.toString(36)}`;
    if (seen.has(id)) continue;
    seen.add(id);
    rules.push({ id, enabled: r.enabled !== false, trigger: { type: 'enteredSegment', segment: r.segment }, action });
  }
  return { rules };
}

/** Keys that moved between sections: writeback.b2b → b2b. */
export function migrateStored(stored: unknown): Record<string, unknown> {
  const s = stored && typeof stored === 'object' && !Array.isArray(stored) ? (stored as Record<string, unknown>) : {};
  const wb = s.writeback as { b2b?: unknown } | undefined;
  return wb && typeof wb === 'object' && wb.b2b === true && s.b2b !== true ? { ...s, b2b: true } : s;
}
