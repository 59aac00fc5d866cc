/**
 * Every kind of filter condition (each member of src/settings/segment-filter.ts conditionSchema)
 * over companies (`entity: 'company'`, B2B) on count, list, quality and export, over real HTTP on PGlite
 * and PostgreSQL against a generated B2B emulator portal scored with B2B on:
 *  - no condition answers 500: a condition about a person (age, job title) or a list of contacts
 *    (`contact`) is 400 CONDITION_NOT_FOR_COMPANIES, also inside `any`, `exclude` and a saved segment;
 *  - any field (`crm`) over companies reads the company's own standard and custom fields, as the
 *    sync stores them from crm.company.list (companies.std / uf, migration 020): the counts equal
 *    the companies recomputed here from the emulator's records; unknown fields, operators a field's
 *    type has not and another portal's fields are 400; another portal's companies never count;
 *  - created, industry, size and revenue read the company itself: the counts equal the companies
 *    recomputed here from the emulator's raw companies (DATE_CREATE, INDUSTRY, EMPLOYEES, REVENUE),
 *    and the list and the CSV hold exactly those companies;
 *  - every other condition answers 200 with count = CSV lines.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import type { Portal as EmuPortal } from '../../src/emulator/portal.js';
import { runScoring } from '../../src/pipeline/score.js';
import { LIFECYCLE_CODES } from '../../src/scoring/index.js';
import { conditionSchema, RANGE_FIELDS, type Condition } from '../../src/settings/segment-filter.js';
import { createTokenCipher, generateTokenKey, parseTokenKey, setTokenCipher, updatePortalSettings } from '../../src/store/index.js';
import { mirroredB2bPortal } from './helpers/b2b-portal.js';
import { callMethod } from '../../src/emulator/methods/index.js';
import type { CallContext } from '../../src/emulator/types.js';
import { checkCrmFields, customerFieldsOf } from '../../src/server/ui-api/customer-fields.js';
import { segmentFilterSchema } from '../../src/segments/index.js';
import { COMPANY_SELECT, mapCompany } from '../../src/sync/map.js';
import { upsertCompanies, upsertPortalOnInstall, type Db } from '../../src/store/index.js';
import { startUiServer, type UiTestServer } from './helpers/ui-server.js';

const DAY = 86_400_000;
/** about a person, a contact's field, or a fixed list of contact ids */
const NOT_FOR_COMPANIES = new Set(['age', 'post', 'contact']);

/** The portal's companies as the sync stores them: crm.company.list (select '*', 'UF_*') through the sync's mapper. */
async function syncCompanies(db: Db, emu: EmuPortal, portalId: number): Promise<void> {
  const ctx: CallContext = { portal: emu, now: emu.clock.now(), auth: { kind: 'internal', userId: 1, isAdmin: true, clientId: null, scopes: new Set(['crm', 'user']) } };
  let start: number | undefined = 0;
  while (start !== undefined) {
    const r = callMethod(ctx, 'crm.company.list', { select: COMPANY_SELECT, order: { ID: 'ASC' }, start });
    await upsertCompanies(db, portalId, (r.result as Array<Record<string, unknown>>).map(mapCompany));
    start = r.next;
  }
}

eachDb('ui api: every filter condition over companies (B2B), no 500', (getDb) => {
  let srv: UiTestServer;
  let emu: EmuPortal;
  let portalId = 0;
  let admin = '';
  let asOf = '';
  const tier = new Map<string, number>();
  let emuCtx: CallContext;

  const post = (p: string, body: unknown) => srv.call('POST', `/api/ui/segments/${p}`, { session: admin, body });
  /** count, the first 200 of the list, the quality figures and the CSV of one filter over companies */
  async function all3(filter: unknown) {
    const count = await post('count', { filter, entity: 'company' });
    const list = await post('list', { filter, entity: 'company', pageSize: 200, sort: 'id', dir: 'asc' });
    const quality = await post('quality', { filter, entity: 'company' });
    const csv = await post('export', { filter, entity: 'company', columns: ['name', 'segment'] });
    return { count, list, quality, csv };
  }
  const csvIds = (text: string) => text.replace(/^\uFEFF/, '').split('\r\n').filter(Boolean).slice(1).map((l) => Number(l.split(',')[0])).sort((a, b) => a - b);
  const companies = () => [...emu.companies.values()];
  const idsOf = (pred: (c: ReturnType<typeof companies>[number]) => boolean) => companies().filter(pred).map((c) => c.id).sort((a, b) => a - b);
  const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);
  const mostCommon = (vals: Array<string | null | undefined>) => {
    const n = new Map<string, number>();
    for (const v of vals) if (v) n.set(v, (n.get(v) ?? 0) + 1);
    return [...n.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  };

  beforeAll(async () => {
    const db = getDb();
    setTokenCipher(createTokenCipher(parseTokenKey(generateTokenKey())));
    const p = await mirroredB2bPortal(db, { contacts: 400, seed: 53, domain: 'co-filters.test' });
    emu = p.emu;
    portalId = p.portalId;
    // the company's own fields: two custom fields as an admin makes them, and standard ones, written into the emulator's records
    emuCtx = { portal: emu, now: emu.clock.now(), auth: { kind: 'internal', userId: 1, isAdmin: true, clientId: null, scopes: new Set(['crm', 'user']) } };
    callMethod(emuCtx, 'crm.company.userfield.add', { fields: { FIELD_NAME: 'CO_TIER', USER_TYPE_ID: 'enumeration', LIST: [{ VALUE: 'Gold' }, { VALUE: 'Silver' }] } });
    callMethod(emuCtx, 'crm.company.userfield.add', { fields: { FIELD_NAME: 'CO_SEATS', USER_TYPE_ID: 'double' } });
    const tf = [...emu.userFields.values()].find((f) => f.entityId === 'CRM_COMPANY' && f.fieldName === 'UF_CRM_CO_TIER')!;
    for (const i of tf.list) tier.set(i.value, i.id);
    [...emu.companies.values()].forEach((co, i) => {
      if (i % 3 !== 2) co.uf.UF_CRM_CO_TIER = tier.get(i % 3 ? 'Silver' : 'Gold');
      if (i % 4 !== 1) co.uf.UF_CRM_CO_SEATS = (i * 37) % 500;
      if (i % 5 < 2) co.extra = { ...co.extra, COMMENTS: i % 5 ? 'Prospect from the fair' : 'Key account' };
      co.address = { ...co.address, region: i % 2 ? 'North' : 'South' };
      if (i % 7 === 0) co.companyType = 'PARTNER';
    });
    await syncCompanies(db, emu, portalId);
    await runScoring(db, portalId, new Date(emu.clock.now() - 60 * DAY), { b2b: true });
    const r = await runScoring(db, portalId, new Date(emu.clock.now()), { b2b: true });
    asOf = r.asOf.slice(0, 10);
    await updatePortalSettings(db, portalId, {
      savedSegments: [
        { id: 'co-best', name: 'Best', filter: { all: [{ field: 'segment', values: ['champions', 'loyal'] }] }, priority: 1 },
        { id: 'co-young', name: 'Young', filter: { all: [{ field: 'age', max: 30 }] }, priority: 0 },
      ],
    });
    srv = await startUiServer(db);
    admin = srv.session(portalId, p.memberId, { admin: true });
  }, 180_000);
  afterAll(async () => {
    await srv?.close();
  });

  /** Conditions about the company itself, with the companies they must select (from the emulator's raw companies). */
  const ownFields = (): Array<[Condition, number[]]> => {
    const ind = mostCommon(companies().map((c) => c.industry));
    const size = mostCommon(companies().map((c) => c.extra?.EMPLOYEES as string | undefined));
    const revs = companies().map((c) => c.revenue).filter((v): v is number => v !== null).sort((a, b) => a - b);
    const mid = revs[Math.floor(revs.length / 2)]!;
    const from = dayOf(emu.clock.now() - 400 * DAY);
    const to = dayOf(emu.clock.now() - 100 * DAY);
    return [
      [{ field: 'created', from, to }, idsOf((c) => dayOf(c.dateCreate) >= from && dayOf(c.dateCreate) <= to)],
      [{ field: 'created', days: 365 }, idsOf((c) => dayOf(c.dateCreate) >= dayOf(Date.parse(asOf) - 365 * DAY))],
      [{ field: 'company_industry', op: 'in', values: [ind] }, idsOf((c) => c.industry === ind)],
      [{ field: 'company_industry', op: 'not_in', values: [ind] }, idsOf((c) => c.industry !== ind)],
      [{ field: 'company_industry', op: 'empty' }, idsOf((c) => !c.industry)],
      [{ field: 'company_size', op: 'in', values: [size] }, idsOf((c) => c.extra?.EMPLOYEES === size)],
      [{ field: 'company_size', op: 'not_empty' }, idsOf((c) => !!c.extra?.EMPLOYEES)],
      [{ field: 'company_revenue', min: mid }, idsOf((c) => c.revenue !== null && c.revenue >= mid)],
      [{ field: 'company_revenue', max: mid }, idsOf((c) => c.revenue !== null && c.revenue <= mid)],
    ] as Array<[Condition, number[]]>;
  };

  /** Conditions on the company's own fields (`crm`), with the companies they must select (from the emulator's records). */
  const crmFields = (): Array<[Condition, number[]]> => {
    const gold = String(tier.get('Gold'));
    const seats = (c: ReturnType<typeof companies>[number]) => c.uf.UF_CRM_CO_SEATS as number | undefined;
    const comments = (c: ReturnType<typeof companies>[number]) => (c.extra?.COMMENTS as string | undefined) ?? '';
    return [
      [{ field: 'crm', key: 'UF_CRM_CO_TIER', op: 'in', values: [gold] }, idsOf((c) => String(c.uf.UF_CRM_CO_TIER) === gold)],
      [{ field: 'crm', key: 'UF_CRM_CO_TIER', op: 'not_in', values: [gold] }, idsOf((c) => String(c.uf.UF_CRM_CO_TIER) !== gold)],
      [{ field: 'crm', key: 'UF_CRM_CO_TIER', op: 'empty' }, idsOf((c) => c.uf.UF_CRM_CO_TIER === undefined)],
      [{ field: 'crm', key: 'UF_CRM_CO_SEATS', op: 'range', min: 100, max: 300 }, idsOf((c) => seats(c) !== undefined && seats(c)! >= 100 && seats(c)! <= 300)],
      [{ field: 'crm', key: 'UF_CRM_CO_SEATS', op: 'not_empty' }, idsOf((c) => seats(c) !== undefined)],
      [{ field: 'crm', key: 'COMMENTS', op: 'contains', value: 'fair' }, idsOf((c) => comments(c).includes('fair'))],
      [{ field: 'crm', key: 'COMMENTS', op: 'eq', value: 'key ACCOUNT' }, idsOf((c) => comments(c) === 'Key account')],
      [{ field: 'crm', key: 'COMMENTS', op: 'empty' }, idsOf((c) => !comments(c))],
      [{ field: 'crm', key: 'ADDRESS_REGION', op: 'eq', value: 'North' }, idsOf((c) => c.address?.region === 'North')],
      [{ field: 'crm', key: 'ADDRESS_REGION', op: 'neq', value: 'North' }, idsOf((c) => c.address?.region !== 'North')],
      [{ field: 'crm', key: 'COMPANY_TYPE', op: 'in', values: ['PARTNER'] }, idsOf((c) => c.companyType === 'PARTNER')],
      [{ field: 'crm', key: 'TITLE', op: 'contains', value: companies()[0]!.title.split(' ')[1]! }, idsOf((c) => c.title.toLowerCase().includes(companies()[0]!.title.split(' ')[1]!.toLowerCase()))],
    ] as Array<[Condition, number[]]>;
  };

  /** One or more samples of every condition kind (checked against the schema below). */
  const samples = (): Condition[] => {
    const one = companies()[0]!;
    return [
      { field: 'segment', values: ['champions', 'loyal', 'need_attention'] },
      { field: 'lifecycle', values: [...LIFECYCLE_CODES] },
      { field: 'rfm', values: ['555', '111', '345'] },
      ...RANGE_FIELDS.map((key) => ({ field: 'range' as const, key, min: 0 })),
      { field: 'sleeping', value: true },
      { field: 'interests', mode: 'any', when: 'active', values: ['x', 'y'] },
      { field: 'interests', mode: 'all', when: 'ever', values: ['x'] },
      { field: 'last_purchase', from: dayOf(emu.clock.now() - 365 * DAY) },
      { field: 'source', values: ['CALL', 'WEB'] },
      { field: 'responsible', op: 'in', values: [1, 3] },
      { field: 'responsible', op: 'not_in', values: [1] },
      { field: 'city', op: 'in', values: [one.addressCity ?? 'Berlin'] },
      { field: 'city', op: 'contains', values: ['a'] },
      { field: 'uf', key: 'UF_CRM_ANY', op: 'not_empty' },
      { field: 'uf', key: 'UF_CRM_ANY', op: 'eq', value: 'x' },
      { field: 'has_email', value: true },
      { field: 'has_phone', value: false },
      { field: 'reachable', value: true },
      { field: 'saved', id: 'co-best' },
      { field: 'search', text: one.title },
      { field: 'search', text: '+7 999 123-45-67' },
      { field: 'search', text: 'someone@example.com' },
      { field: 'search', text: String(one.id) },
      { field: 'prev_segment', values: ['champions', 'new'] },
      { field: 'refusal_reason', values: ['price', 'Lost: out of stock'] },
      { field: 'contact', ids: [one.id, 999_999] },
      { field: 'age', min: 20, max: 60 },
      { field: 'post', op: 'contains', values: ['manager'] },
      { field: 'post', op: 'empty' },
      ...ownFields().map(([c]) => c),
      ...crmFields().map(([c]) => c),
    ] as Condition[];
  };

  it('the samples cover every condition kind of the filter schema', () => {
    const kinds = conditionSchema.options.map((o) => o.shape.field.value as string);
    expect(new Set(samples().map((s) => s.field))).toEqual(new Set(kinds));
    for (const s of samples()) expect(conditionSchema.safeParse(s).success, JSON.stringify(s)).toBe(true);
  });

  it('each condition, alone, in an OR group and as an exclusion: 200 with count = list = CSV (and quality 200), or 400 CONDITION_NOT_FOR_COMPANIES', async () => {
    let ok = 0;
    for (const s of samples()) {
      for (const filter of [{ all: [s] }, { all: [], any: [s, { field: 'sleeping', value: false }] }, { all: [], exclude: { all: [s] } }]) {
        const what = JSON.stringify(filter);
        const { count, list, quality, csv } = await all3(filter);
        if (NOT_FOR_COMPANIES.has(s.field)) {
          for (const r of [count, list, quality, csv]) {
            expect([what, r.status, r.json.error, r.json.field]).toEqual([what, 400, 'CONDITION_NOT_FOR_COMPANIES', s.field]);
            expect(r.json.message as string).toContain(s.field);
          }
          continue;
        }
        expect([what, count.status, list.status, quality.status, csv.status]).toEqual([what, 200, 200, 200, 200]);
        const n = count.json.count as number;
        expect(csvIds(csv.text), what).toHaveLength(n);
        if (n <= 200) expect((list.json.rows as Array<{ id: number }>).map((r) => Number(r.id)), what).toEqual(csvIds(csv.text));
        ok++;
      }
    }
    expect(ok).toBeGreaterThan(60);
  });

  it('created, industry, size and revenue read the company itself: exactly the companies of the raw data', async () => {
    let nonEmpty = 0;
    for (const [cond, want] of ownFields()) {
      const { count, csv } = await all3({ all: [cond] });
      const what = JSON.stringify(cond);
      expect([what, count.status]).toEqual([what, 200]);
      expect(count.json.count, what).toBe(want.length);
      expect(csvIds(csv.text), what).toEqual(want);
      if (want.length > 0 && want.length < emu.companies.size) nonEmpty++;
    }
    // the data selects a real part of the companies, not all or none
    expect(nonEmpty).toBeGreaterThanOrEqual(6);
  });

  it('any field reads the company\'s own standard and custom fields: exactly the companies of the emulator\'s records', async () => {
    let nonEmpty = 0;
    for (const [cond, want] of crmFields()) {
      const { count, list, csv } = await all3({ all: [cond] });
      const what = JSON.stringify(cond);
      expect([what, count.status, list.status]).toEqual([what, 200, 200]);
      expect(count.json.count, what).toBe(want.length);
      expect(csvIds(csv.text), what).toEqual(want);
      if (want.length > 0 && want.length < emu.companies.size) nonEmpty++;
    }
    expect(nonEmpty).toBeGreaterThanOrEqual(10);
    // combined, and as an exclusion
    const both = await post('count', { filter: { all: [crmFields()[0]![0], crmFields()[8]![0]] }, entity: 'company' });
    const a = new Set(crmFields()[0]![1]);
    expect(both.json.count).toBe(crmFields()[8]![1].filter((id) => a.has(id)).length);
    const excl = await post('count', { filter: { all: [], exclude: { all: [crmFields()[5]![0]] } }, entity: 'company' });
    expect(excl.json.count).toBe(emu.companies.size - crmFields()[5]![1].length);
  });

  it('any field over companies: the company field list of crm.company.fields; unknown fields and operators its type has not are 400', async () => {
    const fields = customerFieldsOf(callMethod(emuCtx, 'crm.company.fields', {}).result, {}, 'company');
    const keys = fields.map((f) => f.key);
    expect(keys).toEqual(expect.arrayContaining(['TITLE', 'COMPANY_TYPE', 'COMMENTS', 'ADDRESS_REGION', 'UF_CRM_CO_TIER', 'UF_CRM_CO_SEATS']));
    // contact fields, and the company's fields with a condition of their own, are not offered
    for (const k of ['NAME', 'HONORIFIC', 'BIRTHDATE', 'INDUSTRY', 'EMPLOYEES', 'REVENUE', 'ID']) expect(keys).not.toContain(k);
    const check = (c: Condition) => checkCrmFields(getDb(), portalId, segmentFilterSchema.parse({ all: [c] }), () => Promise.resolve(fields), 'company');
    const reason = async (c: Condition) => check(c).then(() => 'ok', (e: { status: number; code: string }) => `${e.status} ${e.code}`);
    expect(await reason({ field: 'crm', key: 'COMMENTS', op: 'contains', value: 'x' })).toBe('ok');
    expect(await reason({ field: 'crm', key: 'UF_CRM_CO_SEATS', op: 'range', min: 1 })).toBe('ok');
    expect(await reason({ field: 'crm', key: 'HONORIFIC', op: 'in', values: ['HNR_EN_1'] })).toBe('400 UNKNOWN_FIELD');
    expect(await reason({ field: 'crm', key: 'INDUSTRY', op: 'in', values: ['IT'] })).toBe('400 UNKNOWN_FIELD');
    expect(await reason({ field: 'crm', key: 'COMMENTS', op: 'range', min: 1 })).toBe('400 BAD_FILTER');
    expect(await reason({ field: 'crm', key: 'UF_CRM_CO_TIER', op: 'contains', value: 'G' })).toBe('400 BAD_FILTER');
  });

  it('any field over companies, as an attacker: unknown or contact fields, bad operators and values, oversize and nested input are 4xx; another portal\'s companies never count', async () => {
    const count = (c: unknown) => post('count', { filter: { all: [c] }, entity: 'company' });
    // without the portal's field list (no user token here) the keys are checked against this portal's stored companies
    for (const key of ['HONORIFIC', 'UF_CRM_NOPE', 'UF_CRM_TIER']) {
      const r = await count({ field: 'crm', key, op: 'not_empty' });
      expect([key, r.status, r.json.error, r.json.field]).toEqual([key, 400, 'UNKNOWN_FIELD', key]);
    }
    for (const bad of [
      { field: 'crm', key: 'COMMENTS', op: 'like', value: '%' },
      { field: 'crm', key: 'COMMENTS; DROP TABLE companies', op: 'not_empty' },
      { field: 'crm', key: 'uf_crm_co_tier', op: 'not_empty' },
      { field: 'crm', key: 'COMMENTS', op: 'eq', value: { $ne: '' } },
      { field: 'crm', key: 'COMMENTS', op: 'eq', value: 'x'.repeat(100_000) },
      { field: 'crm', key: 'UF_CRM_CO_TIER', op: 'in', values: Array.from({ length: 5000 }, (_, i) => String(i)) },
    ]) {
      const r = await count(bad);
      expect([JSON.stringify(bad).slice(0, 80), r.status >= 400 && r.status < 500, typeof r.json.error]).toEqual([JSON.stringify(bad).slice(0, 80), true, 'string']);
    }
    for (const [bad, code] of [[{ field: 'crm', key: 'COMMENTS', op: 'eq' }, 'BAD_FILTER'], [{ field: 'crm', key: 'UF_CRM_CO_SEATS', op: 'range' }, 'BAD_FILTER']] as const) {
      const r = await count(bad);
      expect([r.status, r.json.error]).toEqual([400, code]);
    }
    let deep: Record<string, unknown> = { all: [{ field: 'crm', key: 'COMMENTS', op: 'not_empty' }] };
    for (let i = 0; i < 50; i++) deep = { all: [], exclude: deep };
    const nested = await post('count', { filter: deep, entity: 'company' });
    expect([nested.status, nested.json.error]).toEqual([400, 'FILTER_TOO_LARGE']);

    // another portal with the same company ids, every one of them "Key account", a field of its own
    const db = getDb();
    const other = (await upsertPortalOnInstall(db, { memberId: 'co-filters-foreign', domain: 'foreign.test', clientEndpoint: 'https://foreign.test/rest/', status: 'active' })).id;
    await upsertCompanies(db, other, companies().map((c) => ({ id: c.id, title: c.title, std: { COMMENTS: 'Key account', ADDRESS_REGION: 'North' }, uf: { UF_CRM_FOREIGN: 'x', UF_CRM_CO_TIER: String(tier.get('Gold')) } })));
    for (const [cond, want] of crmFields()) {
      const r = await count(cond);
      expect([JSON.stringify(cond), r.json.count]).toEqual([JSON.stringify(cond), want.length]);
    }
    const foreign = await count({ field: 'crm', key: 'UF_CRM_FOREIGN', op: 'not_empty' });
    expect([foreign.status, foreign.json.error]).toEqual([400, 'UNKNOWN_FIELD']);
    // the other portal's session sees its own: not scored, so no answer from this portal's labels
    const otherSession = srv.session(other, 'co-filters-foreign', { admin: true });
    const r = await srv.call('POST', '/api/ui/segments/count', { session: otherSession, body: { filter: { all: [crmFields()[5]![0]] }, entity: 'company' } });
    expect([r.status, r.json.error]).toEqual([409, 'NOT_SCORED']);
  });

  describe('attacker input over companies gets a 4xx JSON reason', () => {
    it('a saved segment holding a contact-only condition, a missing saved segment, nested and oversize filters', async () => {
      const young = await post('count', { filter: { all: [{ field: 'saved', id: 'co-young' }] }, entity: 'company' });
      expect([young.status, young.json.error]).toEqual([400, 'CONDITION_NOT_FOR_COMPANIES']);
      const missing = await post('count', { filter: { all: [{ field: 'saved', id: 'nope' }] }, entity: 'company' });
      expect([missing.status, missing.json.error]).toEqual([400, 'BAD_FILTER']);
      let deep: Record<string, unknown> = { all: [{ field: 'age', min: 1 }] };
      for (let i = 0; i < 50; i++) deep = { all: [], exclude: deep };
      const nested = await post('count', { filter: deep, entity: 'company' });
      expect([nested.status, nested.json.error]).toEqual([400, 'FILTER_TOO_LARGE']);
      const big = await post('list', { filter: { all: [{ field: 'company_industry', op: 'in', values: Array.from({ length: 101 }, (_, i) => `I${i}`) }] }, entity: 'company' });
      expect([big.status, typeof big.json.error]).toEqual([400, 'string']);
      const forged = await post('count', { filter: { all: [{ field: 'company_revenue', min: { $gt: 0 } }] }, entity: 'company' });
      expect([forged.status, forged.json.error]).toEqual([400, 'BAD_REQUEST']);
      const empty = await post('count', { filter: { all: [{ field: 'created' }] }, entity: 'company' });
      expect([empty.status, empty.json.error]).toEqual([400, 'BAD_FILTER']);
    });
  });

  it('contacts keep every contact-only condition (the refusal is for companies only)', async () => {
    for (const s of samples().filter((x) => x.field === 'age' || x.field === 'post')) {
      const r = await post('count', { filter: { all: [s] } });
      expect([JSON.stringify(s), r.status]).toEqual([JSON.stringify(s), 200]);
    }
  });
});
