/**
 * src/settings: the one schema, the one reader and the one writer. Every stored shape the app
 * has written (and the tests store) reads as the current typed settings; an unusable section
 * falls back to its defaults without taking the others with it; the writer stores the current
 * shape only.
 */
import { describe, expect, it } from 'vitest';
import {
  cronOf, PAGE_SECTIONS, pageSettingsSchema, portalSettings, portalSettingsSchema, readSection, readSettings, scheduleSchema,
  settingsPatch, DEFAULT_CRON, type PortalSettings,
} from '../../src/settings/index.js';
import { DEFAULT_SETTINGS } from '../../src/scoring/index.js';

const DEFAULTS: PortalSettings = {
  scoring: DEFAULT_SETTINGS,
  b2b: false,
  schedule: { mode: 'daily', hour: 3 },
  automation: { rules: [] },
  segmentField: { enabled: false },
  writeback: { spread: 'auto' },
  savedSegments: [],
  effectiveness: { marginPercent: 30 },
  refusal: { source: 'stages', stages: {}, field: null, values: {} },
  fields: { removed: false, removedAt: null },
};

/** The automation list saved by earlier versions of the settings page (test/unit/settings-bridge.test.ts). */
const OLD_RULE_LIST = [
  { segment: 'at_risk', action: 'task', value: 'Call {name} with a promo code' },
  { segment: 'hibernating', action: 'bizproc', value: '7' },
  { segment: 'lost', action: 'notify', value: '', enabled: false },
];

describe('settings reader', () => {
  it('nothing stored (or not an object) reads as the defaults, without errors', () => {
    for (const stored of [{}, null, undefined, [], 'x']) {
      const r = readSettings(stored);
      expect(r.settings).toEqual(DEFAULTS);
      expect(r.errors).toEqual({});
    }
    expect(portalSettingsSchema.parse({})).toEqual(DEFAULTS);
    // keys of no section are ignored (store-portals.test.ts stores { horizonDays: 365 })
    expect(portalSettings({ horizonDays: 365 })).toEqual(DEFAULTS);
  });

  it('schedule: the scheduler\'s old {enabled, cron} shape → {mode, hour, cron?}; the cron run is derived', () => {
    const cases: Array<[unknown, PortalSettings['schedule'], string | null]> = [
      // settings page shapes
      [{ mode: 'daily', hour: 5 }, { mode: 'daily', hour: 5 }, '0 5 * * *'],
      [{ mode: 'hourly', hour: 5 }, { mode: 'hourly', hour: 5 }, '0 * * * *'],
      [{ mode: 'hourly' }, { mode: 'hourly', hour: 3 }, '0 * * * *'],
      [{ mode: 'manual', hour: 3 }, { mode: 'manual', hour: 3 }, null],
      // the old engine shape (jobs-workers.test.ts, settings-bridge.test.ts)
      [{ enabled: true, cron: '30 2 * * *' }, { mode: 'cron', hour: 3, cron: '30 2 * * *' }, '30 2 * * *'],
      [{ cron: '15 4 * * *' }, { mode: 'cron', hour: 3, cron: '15 4 * * *' }, '15 4 * * *'],
      [{ cron: '30 2 * * 1-5' }, { mode: 'cron', hour: 3, cron: '30 2 * * 1-5' }, '30 2 * * 1-5'],
      [{ enabled: false }, { mode: 'manual', hour: 3 }, null],
      [{ enabled: false, cron: '15 4 * * *' }, { mode: 'manual', hour: 3 }, null],
      [{ enabled: true }, { mode: 'daily', hour: 3 }, DEFAULT_CRON],
      [{ enabled: true, cron: ' 0  5 * * * ' }, { mode: 'daily', hour: 5 }, '0 5 * * *'],
      [{ enabled: true, cron: '0 * * * *' }, { mode: 'hourly', hour: 3 }, '0 * * * *'],
      [{ mode: 'cron', cron: '0 6 * * 1' }, { mode: 'cron', hour: 3, cron: '0 6 * * 1' }, '0 6 * * 1'],
    ];
    for (const [stored, want, cron] of cases) {
      const r = readSection({ schedule: stored }, 'schedule');
      expect(r, JSON.stringify(stored)).toEqual({ value: want, error: null });
      expect(cronOf(r.value)).toBe(cron);
    }
  });

  it('schedule: an unusable one falls back to daily at 03:00 and says why', () => {
    for (const stored of [{ cron: 'every night' }, { cron: '0 0 3 * * *' }, { mode: 'weekly' }, { mode: 'daily', hour: 24 }, { mode: 'cron' }, 'nightly']) {
      const r = readSection({ schedule: stored }, 'schedule');
      expect(r.value, JSON.stringify(stored)).toEqual({ mode: 'daily', hour: 3 });
      expect(r.error).toBeTruthy();
    }
    expect(readSection({ schedule: { cron: '0 0 3 * * *' } }, 'schedule').error).toMatch(/seconds are not allowed/);
    expect(readSection({ schedule: { cron: 'every night' } }, 'schedule').error).toMatch(/not a valid cron expression/);
    expect(scheduleSchema.safeParse({ cron: '30 2 * * 1-5' }).success).toBe(true);
  });

  it('automation: the old page list reads as engine rules with content-derived ids; the engine shape as is', () => {
    const old = readSection({ automation: OLD_RULE_LIST }, 'automation');
    expect(old.error).toBeNull();
    expect(old.value.rules).toHaveLength(3);
    expect(old.value.rules[0]!.id).toMatch(/^page\.at_risk\.task\.[0-9a-z]+$/);
    expect(old.value.rules[0]).toMatchObject({ enabled: true, trigger: { type: 'enteredSegment', segment: 'at_risk' }, action: { type: 'todo', title: 'Call {name} with a promo code', description: '', deadlineDays: 1 } });
    expect(old.value.rules[1]).toMatchObject({ action: { type: 'workflow', templateId: 7 } });
    expect(old.value.rules[2]).toMatchObject({ enabled: false, action: { type: 'comment', text: 'Entered segment {segment}' } });
    // the converted list, stored back, reads the same (same ids: no rule fires twice after an upgrade)
    expect(readSection({ automation: old.value }, 'automation').value).toEqual(old.value);
    // the engine shape (automation-rules.test.ts)
    const rules = [
      { id: 'sleep-comment', trigger: { type: 'becameSleeping' }, action: { type: 'comment', text: '{name} fell asleep ({prevSegment} → {segment})' } },
      { id: 'lost-bp', trigger: { type: 'enteredSegment', segment: 'lost' }, action: { type: 'workflow', templateId: 12 } },
    ];
    expect(readSection({ automation: { rules } }, 'automation').value.rules.map((r) => r.id)).toEqual(['sleep-comment', 'lost-bp']);
    // unusable: no rules, and the reason
    const bad = readSection({ automation: [{ segment: 'lost', action: 'bizproc', value: 'abc' }] }, 'automation');
    expect(bad.value).toEqual({ rules: [] });
    expect(bad.error).toMatch(/templateId/);
  });

  it('b2b: the old writeback.b2b reads as b2b', () => {
    expect(readSection({ writeback: { b2b: true } }, 'b2b').value).toBe(true);
    expect(readSection({ b2b: false, writeback: { b2b: true } }, 'b2b').value).toBe(true);
    expect(readSection({ b2b: true }, 'b2b').value).toBe(true);
    expect(readSection({ writeback: { b2b: false } }, 'b2b').value).toBe(false);
    expect(portalSettingsSchema.parse({ writeback: { b2b: true } }).b2b).toBe(true);
  });

  it('write-back options: each read on its own, an unusable one left out', () => {
    expect(readSection({ writeback: { tolerance: 0.01 } }, 'writeback').value).toEqual({ tolerance: 0.01, spread: 'auto' });
    expect(readSection({ writeback: { clvTolerance: 0.1, pAliveTolerance: 0.02, spread: 'always' } }, 'writeback').value)
      .toEqual({ clvTolerance: 0.1, pAliveTolerance: 0.02, spread: 'always' });
    expect(readSection({ writeback: { tolerance: 'high', spread: 'sometimes', clvTolerance: 0.2 } }, 'writeback'))
      .toEqual({ value: { clvTolerance: 0.2, spread: 'auto' }, error: null });
  });

  it('scoring and the segment field; an unusable section does not take the others with it', () => {
    expect(readSection({ scoring: { rfm: { scale: 3 } } }, 'scoring').value.rfm.scale).toBe(3);
    expect(readSection({ scoring: { models: { enabled: false } } }, 'scoring').value.models.enabled).toBe(false);
    expect(readSection({ segmentField: { enabled: true } }, 'segmentField').value).toEqual({ enabled: true });
    const r = readSettings({ scoring: { rfm: { scale: 4 } }, segmentField: { enabled: 'yes' }, b2b: true, schedule: { mode: 'hourly' } });
    expect(r.settings.scoring).toEqual(DEFAULT_SETTINGS);
    expect(r.settings.segmentField).toEqual({ enabled: false });
    expect(r.settings.b2b).toBe(true);
    expect(r.settings.schedule).toEqual({ mode: 'hourly', hour: 3 });
    expect(Object.keys(r.errors).sort()).toEqual(['scoring', 'segmentField']);
  });

  it('saved segments are kept one at a time: one not valid now is left out, the others stay', () => {
    let deep: Record<string, unknown> = { all: [] };
    for (let i = 0; i < 1000; i++) deep = { all: [], exclude: deep };
    const ok = { id: 'ok', name: 'ok', priority: 0, filter: { all: [{ field: 'segment', values: ['lost'] }] } };
    const r = readSection({ savedSegments: [ok, { id: 'deep', name: 'deep', priority: 0, filter: deep }, { id: 'BAD ID', name: 'x', filter: { all: [] } }] }, 'savedSegments');
    expect(r.value).toEqual([ok]);
    expect(r.error).toMatch(/2 stored saved segment/);
    // priority defaults to 0
    expect(readSection({ savedSegments: [{ id: 'a', name: 'A', filter: { all: [] } }] }, 'savedSegments').value).toEqual([{ id: 'a', name: 'A', priority: 0, filter: { all: [] } }]);
    expect(readSection({ savedSegments: 'none' }, 'savedSegments').value).toEqual([]);
  });
});

describe('settings writer', () => {
  it('the page\'s object: missing sections take their defaults; old shapes are stored in the current one', () => {
    const w = settingsPatch(PAGE_SECTIONS, { scoring: { sleeping: { oneTimeDays: 90 } }, b2b: true, schedule: { cron: '15 4 * * *' }, automation: OLD_RULE_LIST });
    expect(w.ok).toBe(true);
    if (!w.ok) return;
    expect(Object.keys(w.stored).sort()).toEqual([...PAGE_SECTIONS].sort());
    expect(w.stored.schedule).toEqual({ mode: 'cron', hour: 3, cron: '15 4 * * *' });
    expect((w.stored.automation as { rules: unknown[] }).rules).toHaveLength(3);
    expect(w.stored.segmentField).toEqual({ enabled: false });
    // what is stored reads back as the same settings
    const back = readSettings(JSON.parse(JSON.stringify(w.stored)));
    expect(back.errors).toEqual({});
    for (const k of PAGE_SECTIONS) expect(back.settings[k]).toEqual(w.settings[k]);
    expect(pageSettingsSchema.parse(w.stored)).toEqual(w.settings);
  });

  it('refuses what the schema refuses, naming the path', () => {
    const bad = settingsPatch(PAGE_SECTIONS, { scoring: { rfm: { mode: 'fixed', fixed: { scale5: { recency: [1, 2, 3, 4], frequency: [1, 2, 4, 8], monetary: [1, 2, 3, 4] } } } } });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.issues[0]!.message).toMatch(/descending/);
    expect(settingsPatch(PAGE_SECTIONS, undefined).ok).toBe(false);
    expect(settingsPatch(['schedule'], { schedule: { mode: 'cron' } }).ok).toBe(false);
    const dup = settingsPatch(['automation'], { automation: { rules: [
      { id: 'a', trigger: { type: 'becameSleeping' }, action: { type: 'comment', text: 'x' } },
      { id: 'a', trigger: { type: 'becameSleeping' }, action: { type: 'comment', text: 'y' } },
    ] } });
    expect(dup.ok).toBe(false);
  });

  it('saved segments are written as a whole list; only the given sections are in the patch', () => {
    const w = settingsPatch(['savedSegments'], { savedSegments: [{ id: 'vip', name: ' VIP ', filter: { all: [{ field: 'segment', values: ['champions'] }] } }] });
    expect(w.ok && w.stored).toEqual({ savedSegments: [{ id: 'vip', name: 'VIP', priority: 0, filter: { all: [{ field: 'segment', values: ['champions'] }] } }] });
    expect(settingsPatch(['savedSegments'], { savedSegments: [{ id: 'Bad Id', name: 'x', filter: { all: [] } }] }).ok).toBe(false);
  });
});
