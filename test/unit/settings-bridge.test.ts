/** The settings page's shapes reach the engines that run them (automation rules, nightly schedule). */
import { describe, expect, it } from 'vitest';
import { portalUiSettingsSchema } from '../../src/server/ui-api/settings.js';
import { rulesFromSettings } from '../../src/automation/rules.js';
import { scheduleFromSettings } from '../../src/jobs/schedules.js';

describe('settings saved by the UI drive the engines', () => {
  it('automation rules from the settings page become engine rules with content-derived ids', () => {
    const saved = portalUiSettingsSchema.parse({
      automation: [
        { segment: 'at_risk', action: 'task', value: 'Call {name} with a promo code' },
        { segment: 'hibernating', action: 'bizproc', value: '7' },
        { segment: 'lost', action: 'notify', value: '', enabled: false },
      ],
    });
    const { rules, error } = rulesFromSettings(saved as unknown as Record<string, unknown>);
    expect(error).toBeNull();
    expect(rules).toHaveLength(2); // the disabled one is not run
    expect(rules[0]).toMatchObject({ trigger: { type: 'enteredSegment', segment: 'at_risk' }, action: { type: 'todo', title: 'Call {name} with a promo code', deadlineDays: 1 } });
    expect(rules[1]).toMatchObject({ trigger: { type: 'enteredSegment', segment: 'hibernating' }, action: { type: 'workflow', templateId: 7 } });
    // reordering the list keeps the ids
    const reordered = rulesFromSettings({ automation: [...(saved.automation as unknown[])].reverse() });
    expect(reordered.rules.map((r) => r.id).sort()).toEqual(rules.map((r) => r.id).sort());
    // a bizproc rule without a numeric template id is refused with a reason, never a crash
    const bad = rulesFromSettings({ automation: [{ segment: 'lost', action: 'bizproc', value: 'abc' }] });
    expect(bad.rules).toEqual([]);
    expect(bad.error).toMatch(/templateId/);
  });

  it('the schedule from the settings page becomes the nightly cron', () => {
    expect(scheduleFromSettings({ schedule: { mode: 'daily', hour: 5 } })).toMatchObject({ enabled: true, cron: '0 5 * * *', error: null });
    expect(scheduleFromSettings({ schedule: { mode: 'hourly', hour: 5 } })).toMatchObject({ enabled: true, cron: '0 * * * *' });
    expect(scheduleFromSettings({ schedule: { mode: 'manual', hour: 3 } })).toMatchObject({ enabled: false });
    expect(scheduleFromSettings({ schedule: { enabled: true, cron: '30 2 * * *' } })).toMatchObject({ cron: '30 2 * * *' });
    expect(scheduleFromSettings({})).toMatchObject({ enabled: true, cron: '0 3 * * *' });
  });
});
