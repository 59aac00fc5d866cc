/**
 * registerFields against the real emulator: our 24 contact fields are created with the right
 * types, labels (en/ru lang maps), filter/list flags, XML_IDs and enumeration items; a reinstall
 * reuses them (no duplicates, one list call); new interest tags are added as items; company
 * fields when B2B is on; a field deleted by hand is recreated and its stored values forgotten.
 */
import axios from 'axios';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { B24Client } from '../../src/b24/client.js';
import { createTokenCipher, setTokenCipher, upsertPortalOnInstall, updatePortalSettings } from '../../src/store/index.js';
import { loadManifest } from '../../manifest/index.js';
import { registerFields, loadRegistry } from '../../src/writeback/fields.js';
import { mirrorEmulatorPortal } from '../helpers/emulator-mirror.js';
import { eachDb, resetDb, type Db } from '../helpers/db.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';

const TS = 100;
const FIELD_COUNT = 24; // the 16 score fields, the 4 range fields (CLV and purchase days, low/high), the saved segment (UF_CRM_SEG_SAVED), days overdue (UF_CRM_SEG_DAYS_OVERDUE), the refusal reason (UF_CRM_SEG_REFUSAL_REASON) and the campaign group (UF_CRM_SEG_CAMPAIGN_GROUP)
let tp: TestPortal;

beforeAll(async () => {
  setTokenCipher(createTokenCipher(randomBytes(32)));
  tp = await startTestPortal({ contacts: 50, deals: 150, seed: 11, timeScale: TS });
});
afterAll(async () => {
  await tp?.emu.close();
});

const client = () => new B24Client({ tokens: tp.tokens, limiter: { plan: 'standard', timeScale: TS } });
const admin = (method: string, params: Record<string, unknown>) => axios.post(`${tp.emu.url}_emulator/call/${method}`, params).then((r) => r.data as { result: unknown });

function wipeUserFields(): void {
  for (const [id, f] of tp.emu.portal.userFields) if (f.fieldName.startsWith('UF_CRM_SEG_')) tp.emu.portal.userFields.delete(id);
}

interface UfGet {
  ID: string; FIELD_NAME: string; USER_TYPE_ID: string; XML_ID: string; MULTIPLE: string; SHOW_FILTER: string; SHOW_IN_LIST: string; SORT: string;
  EDIT_FORM_LABEL: Record<string, string>; LIST_COLUMN_LABEL: Record<string, string>; LIST_FILTER_LABEL: Record<string, string>;
  SETTINGS: Record<string, unknown>; LIST?: Array<{ ID: string; VALUE: string; XML_ID: string }>;
}

eachDb('writeback fields', (getDb) => {
  let db: Db;
  let portalId: number;
  beforeEach(async () => {
    db = getDb();
    await resetDb(db);
    wipeUserFields();
    portalId = (await upsertPortalOnInstall(db, { memberId: 'm1', domain: 'test.bitrix24.com', language: 'ru' })).id;
    await mirrorEmulatorPortal(tp.emu.portal, db, portalId);
  });

  it('creates every manifest field with its type, labels, flags, XML_ID and items', async () => {
    const c = client();
    const rep = await registerFields(c, db, portalId);
    const manifest = loadManifest().fields;
    expect(rep.errors).toEqual([]);
    expect(rep.created.sort()).toEqual(manifest.fields.map((f) => f.name).sort());
    const rows = (await c.call<UfGet[]>('crm.contact.userfield.list', { filter: { LANG: 'ru' } })).filter((r) => r.FIELD_NAME.startsWith('UF_CRM_SEG_'));
    expect(rows).toHaveLength(FIELD_COUNT);
    for (const f of manifest.fields) {
      const row = rows.find((r) => r.FIELD_NAME === f.name)!;
      const full = await c.call<UfGet>('crm.contact.userfield.get', { id: row.ID });
      expect([f.name, full.USER_TYPE_ID]).toEqual([f.name, f.type]);
      expect(full.XML_ID).toBe(`${manifest.xmlIdPrefix}${f.name}`);
      expect(full.MULTIPLE).toBe(f.multiple ? 'Y' : 'N');
      expect(full.SHOW_FILTER).not.toBe('N');
      expect(full.SHOW_IN_LIST).toBe('Y');
      expect(Number(full.SORT)).toBe(f.sort);
      for (const k of ['EDIT_FORM_LABEL', 'LIST_COLUMN_LABEL', 'LIST_FILTER_LABEL'] as const) {
        expect(full[k].en).toBe(f.label.en);
        expect(full[k].ru).toBe(f.label.ru);
      }
      // the list with filter.LANG returns the labels in that language
      expect(row.LIST_COLUMN_LABEL as unknown).toBe(f.label.ru);
      if (f.type === 'double') expect(Number(full.SETTINGS.PRECISION)).toBe(f.settings.PRECISION);
    }
    const seg = await c.call<UfGet>('crm.contact.userfield.get', { id: rep.registries.contact!.get('UF_CRM_SEG_SEGMENT')!.ufId });
    expect(seg.LIST!.find((i) => i.XML_ID === 'champions')!.VALUE).toBe('Чемпионы'); // portal language ru
    expect(seg.LIST!.map((i) => i.XML_ID)).toContain('no_purchases');
    const reg = rep.registries.contact!;
    expect(Object.keys(reg.get('UF_CRM_SEG_RFM')!.items)).toHaveLength(125); // 5-level scale cells
    expect(Object.keys(reg.get('UF_CRM_SEG_R')!.items)).toEqual(['1', '2', '3', '4', '5']);
    expect(Object.keys(reg.get('UF_CRM_SEG_LIFECYCLE')!.items)).toHaveLength(6);
    // interests: one item per top-level catalog section
    const tops = [...tp.emu.portal.sections.values()].filter((s) => s.sectionId === null);
    expect(Object.keys(reg.get('UF_CRM_SEG_INTERESTS')!.items).sort()).toEqual(tops.map((s) => `section:${s.id}`).sort());
    // stored
    const stored = await loadRegistry(db, portalId, 'contact');
    expect(stored.size).toBe(FIELD_COUNT);
    expect(stored.get('UF_CRM_SEG_SEGMENT')!.items).toEqual(reg.get('UF_CRM_SEG_SEGMENT')!.items);
  });

  it('a reinstall reuses the fields: nothing created, one read request, same IDs', async () => {
    const first = await registerFields(client(), db, portalId);
    await db.query(`DELETE FROM field_registry`); // even with our registry gone (clean reinstall)
    const c = client();
    const again = await registerFields(c, db, portalId);
    expect(again.created).toEqual([]);
    expect(again.existing).toHaveLength(FIELD_COUNT);
    expect(again.requests).toBe(1);
    const n = [...tp.emu.portal.userFields.values()].filter((f) => f.fieldName.startsWith('UF_CRM_SEG_')).length;
    expect(n).toBe(FIELD_COUNT);
    for (const [name, f] of first.registries.contact!) expect(again.registries.contact!.get(name)!.ufId).toBe(f.ufId);
  });

  it('a segment renamed in our texts is renamed in the CRM item (same item, same ID, no duplicate): the Russian Hibernating', async () => {
    const first = await registerFields(client(), db, portalId);
    const ufId = first.registries.contact!.get('UF_CRM_SEG_SEGMENT')!.ufId;
    const field = tp.emu.portal.userFields.get(ufId)!;
    const item = field.list.find((i) => i.xmlId === 'hibernating')!;
    // as an earlier version named it (the same word as the sleeping flag)
    item.value = 'Спящие';
    const count = field.list.length;
    const rep = await registerFields(client(), db, portalId);
    expect(rep.errors).toEqual([]);
    expect(rep.itemsUpdated['UF_CRM_SEG_SEGMENT']).toEqual(['hibernating']);
    expect(field.list).toHaveLength(count);
    expect(field.list.find((i) => i.xmlId === 'hibernating')).toMatchObject({ id: item.id, value: 'Давно без покупок' });
    expect(rep.registries.contact!.get('UF_CRM_SEG_SEGMENT')!.items.hibernating).toBe(first.registries.contact!.get('UF_CRM_SEG_SEGMENT')!.items.hibernating);
    // the previous-segment field uses the same items and follows too
    const prev = tp.emu.portal.userFields.get(first.registries.contact!.get('UF_CRM_SEG_PREV_SEGMENT')!.ufId)!;
    expect(prev.list.find((i) => i.xmlId === 'hibernating')!.value).toBe('Давно без покупок');
  });

  it('adopts a same-named field without our XML_ID (sets it) and reports a same-named field of another type', async () => {
    await admin('crm.contact.userfield.add', { fields: { FIELD_NAME: 'UF_CRM_SEG_CLV', USER_TYPE_ID: 'double', LABEL: 'CLV (old)' } });
    await admin('crm.contact.userfield.add', { fields: { FIELD_NAME: 'UF_CRM_SEG_SLEEPING', USER_TYPE_ID: 'string', LABEL: 'sleeping?' } });
    const rep = await registerFields(client(), db, portalId);
    expect(rep.existing).toContain('UF_CRM_SEG_CLV');
    expect(rep.created).not.toContain('UF_CRM_SEG_CLV');
    const clv = [...tp.emu.portal.userFields.values()].find((f) => f.fieldName === 'UF_CRM_SEG_CLV')!;
    expect(clv.xmlId).toBe('B24SEG_UF_CRM_SEG_CLV');
    expect(rep.errors.join('\n')).toMatch(/UF_CRM_SEG_SLEEPING: exists with type string/);
    expect(rep.registries.contact!.has('UF_CRM_SEG_SLEEPING')).toBe(false);
  });

  it('adds new interest tags and the cells of a newly chosen scale as items, keeping the old ones', async () => {
    const first = await registerFields(client(), db, portalId);
    const before = first.registries.contact!.get('UF_CRM_SEG_INTERESTS')!.items;
    await updatePortalSettings(db, portalId, { scoring: { rfm: { scale: 3 } } });
    const rep = await registerFields(client(), db, portalId, { interests: [{ tag: 'kids_goods', name: 'Kids goods' }] });
    expect(rep.itemsAdded['UF_CRM_SEG_INTERESTS']).toEqual(['kids_goods']);
    expect(rep.itemsAdded['UF_CRM_SEG_RFM']).toHaveLength(27);
    const items = rep.registries.contact!.get('UF_CRM_SEG_INTERESTS')!.items;
    for (const [code, id] of Object.entries(before)) expect(items[code]).toBe(id);
    expect(items['kids_goods']).toBeGreaterThan(0);
    expect(rep.registries.contact!.get('UF_CRM_SEG_RFM')!.items['BCC']).toBeGreaterThan(0);
    expect(rep.registries.contact!.get('UF_CRM_SEG_RFM')!.items['545']).toBe(first.registries.contact!.get('UF_CRM_SEG_RFM')!.items['545']);
  });

  it('creates company fields too when B2B is on', async () => {
    await updatePortalSettings(db, portalId, { b2b: true });
    const rep = await registerFields(client(), db, portalId);
    // every field but the saved-segment one (saved segments are contact filters); the refusal reason too (refused companies carry it)
    expect(rep.created.filter((n) => n.startsWith('company:'))).toHaveLength(FIELD_COUNT - 1);
    expect(rep.created).not.toContain('company:UF_CRM_SEG_SAVED');
    expect(rep.created).toContain('company:UF_CRM_SEG_REFUSAL_REASON');
    const n = [...tp.emu.portal.userFields.values()].filter((f) => f.entityId === 'CRM_COMPANY' && f.fieldName.startsWith('UF_CRM_SEG_')).length;
    expect(n).toBe(FIELD_COUNT - 1);
    for (const [id, f] of tp.emu.portal.userFields) if (f.entityId === 'CRM_COMPANY' && f.fieldName.startsWith('UF_CRM_SEG_')) tp.emu.portal.userFields.delete(id);
  });

  it('recreates a field deleted by hand and forgets the values stored for it', async () => {
    const first = await registerFields(client(), db, portalId);
    const seg = first.registries.contact!.get('UF_CRM_SEG_SEGMENT')!;
    const someId = [...tp.emu.portal.contacts.keys()][0]!;
    await db.query(`UPDATE contacts SET uf = uf || '{"UF_CRM_SEG_SEGMENT":"5","UF_CRM_SEG_R":"2"}'::jsonb WHERE portal_id = $1 AND id = $2`, [portalId, someId]);
    await admin('crm.contact.userfield.delete', { id: seg.ufId });
    const rep = await registerFields(client(), db, portalId);
    expect(rep.recreated).toEqual(['UF_CRM_SEG_SEGMENT']);
    expect(rep.registries.contact!.get('UF_CRM_SEG_SEGMENT')!.ufId).not.toBe(seg.ufId);
    const { rows } = await db.query<{ uf: Record<string, unknown> }>(`SELECT uf FROM contacts WHERE portal_id = $1 AND id = $2`, [portalId, someId]);
    expect(rows[0]!.uf).not.toHaveProperty('UF_CRM_SEG_SEGMENT');
    expect(rows[0]!.uf).toHaveProperty('UF_CRM_SEG_R', '2');
  });
});
