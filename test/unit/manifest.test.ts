import { describe, expect, it } from 'vitest';
import { loadManifest, fieldsManifestSchema, appManifestSchema } from '../../manifest/index.js';

describe('manifest', () => {
  it('registers exactly the contracted contact fields, each within the 50-character limit', () => {
    const { fields } = loadManifest();
    expect(fields.fields.map((f) => f.name)).toEqual([
      'UF_CRM_SEG_FREQUENCY', 'UF_CRM_SEG_MONETARY', 'UF_CRM_SEG_LAST_PURCHASE', 'UF_CRM_SEG_R', 'UF_CRM_SEG_F',
      'UF_CRM_SEG_M', 'UF_CRM_SEG_RFM', 'UF_CRM_SEG_SEGMENT', 'UF_CRM_SEG_LIFECYCLE', 'UF_CRM_SEG_SLEEPING',
      'UF_CRM_SEG_INTERESTS', 'UF_CRM_SEG_NEXT_PURCHASE', 'UF_CRM_SEG_CLV', 'UF_CRM_SEG_P_ALIVE',
      'UF_CRM_SEG_CLV_LOW', 'UF_CRM_SEG_CLV_HIGH', 'UF_CRM_SEG_PURCHASES_LOW', 'UF_CRM_SEG_PURCHASES_HIGH',
      'UF_CRM_SEG_PREV_SEGMENT', 'UF_CRM_SEG_CHANGED_AT', 'UF_CRM_SEG_SAVED', 'UF_CRM_SEG_DAYS_OVERDUE', 'UF_CRM_SEG_REFUSAL_REASON',
      'UF_CRM_SEG_CAMPAIGN_GROUP',
    ]);
    const byName = new Map(fields.fields.map((f) => [f.name, f]));
    expect(byName.get('UF_CRM_SEG_FREQUENCY')?.type).toBe('integer');
    expect(byName.get('UF_CRM_SEG_MONETARY')?.type).toBe('double');
    expect(byName.get('UF_CRM_SEG_SLEEPING')?.type).toBe('boolean');
    expect(byName.get('UF_CRM_SEG_INTERESTS')).toMatchObject({ type: 'enumeration', multiple: true });
    expect(byName.get('UF_CRM_SEG_CHANGED_AT')?.type).toBe('datetime');
    // the 80 % ranges: money like CLV, counts like FREQUENCY
    expect(byName.get('UF_CRM_SEG_CLV_LOW')?.type).toBe('double');
    expect(byName.get('UF_CRM_SEG_PURCHASES_HIGH')?.type).toBe('integer');
    // the highest-priority saved segment: a single enumeration whose items are the saved segments
    expect(byName.get('UF_CRM_SEG_SAVED')).toMatchObject({ type: 'enumeration', items: 'savedSegments', multiple: false });
    // why a refused customer refused: a single enumeration, an item per reason (filters as a pick list in the CRM)
    expect(byName.get('UF_CRM_SEG_REFUSAL_REASON')).toMatchObject({ type: 'enumeration', items: 'refusalReasons', multiple: false });
    // a campaign member's group ("C12:treatment"): a plain string a mailing or CRM filter can match exactly
    expect(byName.get('UF_CRM_SEG_CAMPAIGN_GROUP')).toMatchObject({ type: 'string', entities: ['contact', 'company'] });
    for (const f of fields.fields) for (const l of ['en', 'ru', 'de', 'pl', 'ua']) expect([f.name, l, typeof (f.label as Record<string, string>)[l]]).toEqual([f.name, l, 'string']);
    for (const f of fields.fields) expect((fields.xmlIdPrefix + f.name).length).toBeLessThanOrEqual(100);
  });

  it('rejects a malformed manifest with a reason', () => {
    const bad = { xmlIdPrefix: 'X_', fields: [{ name: 'UF_CRM_A', type: 'enumeration', sort: 1, label: { en: 'a', ru: 'а' } }] };
    const r = fieldsManifestSchema.safeParse(bad);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('item source');
    const tooLong = { xmlIdPrefix: 'X_', fields: [{ name: 'UF_CRM_' + 'A'.repeat(44), type: 'integer', sort: 1, label: { en: 'a', ru: 'а' } }] };
    expect(fieldsManifestSchema.safeParse(tooLong).success).toBe(false);
    const noRussian = { ...loadManifest().app, name: { en: 'x' } };
    expect(appManifestSchema.safeParse(noRussian).success).toBe(false);
  });

  it('binds the contact-card tab and the deal and contact events', () => {
    const { app } = loadManifest();
    expect(app.placements.map((p) => p.placement)).toContain('CRM_CONTACT_DETAIL_TAB');
    for (const e of ['ONCRMDEALADD', 'ONCRMDEALUPDATE', 'ONCRMDEALDELETE', 'ONCRMCONTACTADD', 'ONCRMCONTACTUPDATE', 'ONCRMCONTACTDELETE']) {
      expect(app.events.online).toContain(e);
      expect(app.events.offline).toContain(e);
    }
  });
});
