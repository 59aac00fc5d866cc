/** The settings page's shapes reach the engines that run them (automation rules, nightly schedule). */
import { describe, expect, it } from 'vitest';
import { pageSettingsSchema as portalUiSettingsSchema } from '../../src/settings/index.js';
import { rulesFromSettings } from '../../src/automation/rules.js';
import { scheduleFromSettings } from '../../src/jobs/schedules.js';

describe('settings saved by the UI drive the engines', () => {
  it('a rule list saved by earlier versions of the page is read as engine rules with content-derived ids', () => {
    const oldList = [
      { segment: 'at_risk', action: 'task', value: 'Call {name} with a promo code' },
      { segment: 'hibernating', action: 'bizproc', value: '7' },
      { segment: 'lost', action: 'notify', value: '', enabled: false },
    ];
    const saved = portalUiSettingsSchema.parse({ automation: oldList });
    expect(saved.automation.rules).toHaveLength(3);
    const { rules, error } = rulesFromSettings(saved as unknown as Record<string, unknown>);
    expect(error).toBeNull();
    expect(rules).toHaveLength(2); // the disabled one is not run
    expect(rules[0]).toMatchObject({ trigger: { type: 'enteredSegment', segment: 'at_risk' }, action: { type: 'todo', title: 'Call {name} with a promo code', deadlineDays: 1 } });
    expect(rules[1]).toMatchObject({ trigger: { type: 'enteredSegment', segment: 'hibernating' }, action: { type: 'workflow', templateId: 7 } });
    // the stored old list and its converted form fire under the same ids (no rule fires twice after an upgrade)
    expect(rulesFromSettings({ automation: oldList }).rules.map((r) => r.id)).toEqual(rules.map((r) => r.id));
    // reordering the list keeps the ids
    const reordered = rulesFromSettings({ automation: [...oldList].reverse() });
    expect(reordered.rules.map((r) => r.id).sort()).toEqual(rules.map((r) => r.id).sort());
    // a bizproc rule without a numeric template id is refused with a reason, never a crash
    const bad = rulesFromSettings({ automation: [{ segment: 'lost', action: 'bizproc', value: 'abc' }] });
    expect(bad.rules).toEqual([]);
    expect(bad.error).toMatch(/templateId/);
    const badSave = portalUiSettingsSchema.safeParse({ automation: [{ segment: 'lost', action: 'bizproc', value: 'abc' }] });
    expect(badSave.success).toBe(false);
  });

  it('the page saves the engine schema itself: sleeping triggers, to-do deadlines, unique ids', () => {
    const saved = portalUiSettingsSchema.parse({
      automation: { rules: [
        { id: 'wake-up', name: 'Wake up', trigger: { type: 'becameSleeping' }, action: { type: 'workflow', templateId: '12' } },
        { id: 'vip', trigger: { type: 'enteredSegment', segment: 'champions' }, action: { type: 'todo', title: 'Call {name}', deadlineDays: 3 } },
        { id: 'off', enabled: false, trigger: { type: 'becameSleeping' }, action: { type: 'comment', text: 'Asleep' } },
      ] },
    });
    const { rules, error } = rulesFromSettings(saved as unknown as Record<string, unknown>);
    expect(error).toBeNull();
    expect(rules.map((r) => r.id)).toEqual(['wake-up', 'vip']);
    expect(rules[0]!.action).toEqual({ type: 'workflow', templateId: 12 });
    expect(rules[1]!.action).toEqual({ type: 'todo', title: 'Call {name}', description: '', deadlineDays: 3 });
    const dup = portalUiSettingsSchema.safeParse({ automation: { rules: [
      { id: 'a', trigger: { type: 'becameSleeping' }, action: { type: 'comment', text: 'x' } },
      { id: 'a', trigger: { type: 'becameSleeping' }, action: { type: 'comment', text: 'y' } },
    ] } });
    expect(dup.success).toBe(false);
    expect(dup.error!.issues[0]!.message).toMatch(/unique/);
    const noSegment = portalUiSettingsSchema.safeParse({ automation: { rules: [{ id: 'b', trigger: { type: 'enteredSegment', segment: 'nope' }, action: { type: 'comment', text: 'x' } }] } });
    expect(noSegment.success).toBe(false);
  });

  it('the schedule from the settings page becomes the nightly cron', () => {
    expect(scheduleFromSettings({ schedule: { mode: 'daily', hour: 5 } })).toMatchObject({ enabled: true, cron: '0 5 * * *', error: null });
    expect(scheduleFromSettings({ schedule: { mode: 'hourly', hour: 5 } })).toMatchObject({ enabled: true, cron: '0 * * * *' });
    expect(scheduleFromSettings({ schedule: { mode: 'manual', hour: 3 } })).toMatchObject({ enabled: false });
    expect(scheduleFromSettings({ schedule: { enabled: true, cron: '30 2 * * *' } })).toMatchObject({ cron: '30 2 * * *' });
    expect(scheduleFromSettings({})).toMatchObject({ enabled: true, cron: '0 3 * * *' });
  });
});
