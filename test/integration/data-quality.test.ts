/**
 * The data-quality panel (issue 15 item 5) end to end: emulator portals with planted problems
 * (generator option `quality`), a real full sync into the store, a real score run, and
 * GET /api/ui/data-quality over HTTP against the real app.
 *  - every count equals a count made here over the emulator's in-memory portal (not the app's SQL):
 *    won deals with amount 0, deals with neither contact nor company, deals in a currency the
 *    portal lists no rate for, contacts (and companies) sharing an e-mail or phone, the share of
 *    won revenue tied to no contact (company);
 *  - links: list filters only where they select exactly those records; record cards for admins;
 *  - "moved" is what really happens: the no-rate deals deleted in the CRM, a new sync and a run on
 *    the same day change exactly that many customers' segments;
 *  - the warning: a portal where a problem moves > 1% of customers warns, one where none does not;
 *  - attacker input: forged session, bad / repeated / nested / unknown query, another portal's
 *    session sees only its own portal, a portal before its first run, a run without (or with a
 *    malformed) stored data-quality result.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { stageSemantic } from '../../src/emulator/methods/schema.js';
import { deleteDeal } from '../../src/emulator/methods/data.js';
import type { Portal } from '../../src/emulator/portal.js';
import { runScoring } from '../../src/pipeline/score.js';
import { runSync } from '../../src/sync/index.js';
import { createScoreRun, upsertPortalOnInstall, type Db } from '../../src/store/index.js';
import { startTestPortal, type TestPortal } from './b24-helpers.js';
import { makeClient, portalRates } from './helpers/sync-env.js';
import { startUiServer, type UiTestServer } from './helpers/ui-server.js';

const TS = 200;

interface Check { key: string; count: number; moved: number; movedShare: number; warn: boolean; groups?: number; currencies?: string[]; share?: number | null;
  list: { path: string; filter: Record<string, unknown> } | null; links: Array<{ id: number; path: string }> | null }
interface Answer { entity: string; customers: number; warnShare: number; warnings: string[]; checks: Check[] }

/** The counts, made over the emulator's own records. */
function independent(p: Portal, kind: 'contact' | 'company') {
  const rates = portalRates(p);
  const deals = [...p.deals.values()];
  const won = deals.filter((d) => stageSemantic(p, d.stageId) === 'S');
  const zeroWon = won.filter((d) => d.opportunity === 0).map((d) => d.id);
  const noCustomer = deals.filter((d) => d.contactIds.length === 0 && !d.companyId).map((d) => d.id);
  const noRate = deals.filter((d) => !rates.has(d.currencyId)).map((d) => d.id);
  const unlinked = won.filter((d) => (kind === 'contact' ? d.contactIds.length === 0 : !d.companyId));
  const base = (d: { opportunity: number; currencyId: string }) => Math.round(d.opportunity * rates.get(d.currencyId)! * 100) / 100;
  const total = won.filter((d) => rates.has(d.currencyId)).reduce((s, d) => s + base(d), 0);
  const part = unlinked.filter((d) => rates.has(d.currencyId)).reduce((s, d) => s + base(d), 0);
  // records holding a value another record holds too; groups = connected components
  const holders = new Map<string, Set<number>>();
  for (const r of kind === 'contact' ? p.contacts.values() : p.companies.values()) {
    for (const m of r.fm) {
      const v = m.typeId === 'EMAIL' ? `e ${m.value.trim().toLowerCase()}` : m.typeId === 'PHONE' ? `p ${[...m.value].filter((ch) => ch >= '0' && ch <= '9').join('')}` : null;
      if (!v || v.length < 3) continue;
      if (!holders.has(v)) holders.set(v, new Set());
      holders.get(v)!.add(r.id);
    }
  }
  const edges = new Map<number, Set<number>>();
  for (const s of holders.values()) {
    if (s.size < 2) continue;
    for (const a of s) for (const b of s) if (a !== b) (edges.get(a) ?? edges.set(a, new Set()).get(a)!).add(b);
  }
  let groups = 0;
  const seen = new Set<number>();
  for (const start of edges.keys()) {
    if (seen.has(start)) continue;
    groups++;
    const stack = [start];
    while (stack.length) {
      const x = stack.pop()!;
      if (seen.has(x)) continue;
      seen.add(x);
      stack.push(...edges.get(x)!);
    }
  }
  return { zeroWon, noCustomer, noRate, duplicates: edges.size, groups, unlinked: unlinked.length, share: total > 0 ? part / total : null };
}

const dayOf = (p: Portal) => new Date(p.clock.now()).toISOString().slice(0, 10);

eachDb('data quality panel', (getDb) => {
  let big: TestPortal;
  let small: TestPortal;
  let srv: UiTestServer;
  const ids = new Map<string, number>();
  const sessions = new Map<string, { admin: string; head: string }>();

  const load = async (db: Db, name: string, tp: TestPortal, b2b: boolean) => {
    const p = await upsertPortalOnInstall(db, { memberId: tp.emu.portal.memberId, domain: `dq-${name}.test`, clientEndpoint: `${tp.emu.url}rest/`, status: 'active' });
    ids.set(name, p.id);
    await runSync({ db, portalId: p.id, client: makeClient(tp.tokens, TS) }, { kind: 'full' });
    await runScoring(db, p.id, dayOf(tp.emu.portal), { b2b });
  };
  const get = async (name: string, q = '', who: 'admin' | 'head' = 'admin') =>
    srv.call('GET', `/api/ui/data-quality${q}`, { session: sessions.get(name)![who] });
  const checkOf = (a: Answer, key: string) => a.checks.find((c) => c.key === key)!;

  beforeAll(async () => {
    // "moved" is checked by a second scoring on the same portal day, however late in the UTC day the test runs
    big = await startTestPortal({ contacts: 400, seed: 21, timeScale: TS, gen: { quality: { zeroWon: 6, noCustomer: 5, noRate: 30, duplicates: 7 } }, awayFromMidnight: true });
    small = await startTestPortal({ contacts: 700, seed: 22, timeScale: TS, gen: { quality: { zeroWon: 1, noCustomer: 1, noRate: 1, duplicates: 1 } } });
    const db = getDb();
    await load(db, 'big', big, true);
    await load(db, 'small', small, false);
    ids.set('fresh', (await upsertPortalOnInstall(db, { memberId: 'dq-fresh-0001', domain: 'dq-fresh.test', status: 'active' })).id);
    srv = await startUiServer(db);
    for (const [name, tp] of [['big', big], ['small', small]] as const) {
      sessions.set(name, { admin: srv.session(ids.get(name)!, tp.emu.portal.memberId, { admin: true }), head: srv.session(ids.get(name)!, tp.emu.portal.memberId, { admin: false, user: 2 }) });
    }
    sessions.set('fresh', { admin: srv.session(ids.get('fresh')!, 'dq-fresh-0001', { admin: true }), head: '' });
  }, 240_000);
  afterAll(async () => {
    await srv?.close();
    await big?.emu.close();
    await small?.emu.close();
  });

  it('every count equals a count over the emulator\'s own records (contacts and companies)', async () => {
    for (const [name, tp, kinds] of [['big', big, ['contact', 'company']], ['small', small, ['contact']]] as const) {
      for (const kind of kinds) {
        const r = await get(name, `?entity=${kind}`);
        expect(r.status, `${name} ${kind}`).toBe(200);
        const a = r.json as unknown as Answer;
        const exp = independent(tp.emu.portal, kind);
        const got = Object.fromEntries(a.checks.map((c) => [c.key, c.count]));
        expect(got, `${name} ${kind}`).toEqual({
          zeroWon: exp.zeroWon.length, noCustomer: exp.noCustomer.length, noRate: exp.noRate.length, duplicates: exp.duplicates, unlinkedRevenue: exp.unlinked,
        });
        expect(checkOf(a, 'duplicates').groups).toBe(exp.groups);
        const share = checkOf(a, 'unlinkedRevenue').share;
        if (exp.share === null) expect(share).toBeNull();
        else expect(share!).toBeCloseTo(exp.share, 9);
        expect(a.customers).toBe(kind === 'contact' ? tp.emu.portal.contacts.size : tp.emu.portal.companies.size);
      }
    }
    // what was planted is there (natural ones may add to it)
    const a = (await get('big')).json as unknown as Answer;
    expect(checkOf(a, 'zeroWon').count).toBeGreaterThanOrEqual(6);
    expect(checkOf(a, 'noCustomer').count).toBeGreaterThanOrEqual(5);
    expect(checkOf(a, 'noRate').count).toBe(30);
    expect(checkOf(a, 'duplicates').count).toBeGreaterThanOrEqual(14);
    expect(checkOf(a, 'noRate').currencies).toEqual(['KZT']);
  });

  it('links: the list filter where one selects exactly the records; the sampled records\' cards for admins only', async () => {
    const a = (await get('big')).json as unknown as Answer;
    const exp = independent(big.emu.portal, 'contact');
    const zero = checkOf(a, 'zeroWon');
    expect(zero.list!.path).toBe('/crm/deal/list/?apply_filter=Y&STAGE_SEMANTIC_ID=S&OPPORTUNITY=0');
    expect(zero.links!.map((l) => l.id)).toEqual(exp.zeroWon.slice(0, 20));
    expect(zero.links![0]!.path).toBe(`/crm/deal/details/${exp.zeroWon[0]}/`);
    expect(checkOf(a, 'noRate').list!.path).toBe('/crm/deal/list/?apply_filter=Y&CURRENCY_ID%5B%5D=KZT');
    expect(checkOf(a, 'noRate').links!.map((l) => l.id)).toEqual(exp.noRate.slice(0, 20));
    for (const k of ['noCustomer', 'duplicates', 'unlinkedRevenue']) expect(checkOf(a, k).list, k).toBeNull();
    const dup = checkOf(a, 'duplicates');
    expect(dup.links!.every((l) => l.path === `/crm/contact/details/${l.id}/`)).toBe(true);
    const head = (await get('big', '', 'head')).json as unknown as Answer;
    expect(head.checks.map((c) => c.count)).toEqual(a.checks.map((c) => c.count));
    for (const c of head.checks) expect(c.links, c.key).toBeNull();
  });

  it('the warning: > 1% of customers moved warns (big portal), under it does not (small portal); no-customer checks move no one', async () => {
    const a = (await get('big')).json as unknown as Answer;
    const s = (await get('small')).json as unknown as Answer;
    for (const x of [a, s]) {
      for (const c of x.checks) {
        expect(c.movedShare).toBeCloseTo(c.moved / x.customers, 12);
        expect(c.warn, c.key).toBe(c.moved / x.customers > 0.01);
      }
      expect(x.warnings).toEqual(x.checks.filter((c) => c.warn).map((c) => c.key));
      expect(checkOf(x, 'noCustomer').moved).toBe(0);
      expect(checkOf(x, 'unlinkedRevenue').moved).toBe(0);
    }
    expect(a.warnings).toContain('noRate');
    expect(checkOf(a, 'noRate').moved / a.customers).toBeGreaterThan(0.01);
    expect(s.warnings).toEqual([]);
    for (const c of s.checks) expect(c.moved / s.customers, c.key).toBeLessThanOrEqual(0.01);
  });

  it('"moved" is what fixing it does: the no-rate deals deleted in the CRM, synced and scored again the same day, change exactly that many segments', async () => {
    const a = (await get('big')).json as unknown as Answer;
    const predicted = checkOf(a, 'noRate').moved;
    expect(predicted).toBeGreaterThan(0);
    const p = big.emu.portal;
    const asOf = dayOf(p);
    for (const id of independent(p, 'contact').noRate) expect(deleteDeal(p, id, 1)).toBe(true);
    const db = getDb();
    await runSync({ db, portalId: ids.get('big')!, client: makeClient(big.tokens, TS) }, { kind: 'full' });
    const r = await runScoring(db, ids.get('big')!, asOf, { b2b: true });
    expect(r.segmentChanges).toBe(predicted);
    const after = (await get('big')).json as unknown as Answer;
    expect(checkOf(after, 'noRate').count).toBe(0);
  });

  it('attacker input: forged session, bad / repeated / nested / unknown query, a portal before its first run, companies not scored', async () => {
    const forged = await srv.call('GET', '/api/ui/data-quality', { session: `${sessions.get('big')!.admin.slice(0, -4)}AAAA` });
    expect(forged.status).toBe(401);
    expect((await srv.call('GET', '/api/ui/data-quality')).status).toBe(401);
    for (const q of ['?entity=deal', '?entity=contact&entity=company', '?entity[x]=contact', '?entity=contact&portal=1', '?portalId=' + ids.get('small')]) {
      const r = await get('big', q);
      expect(r.status, q).toBe(400);
      expect(typeof r.json.error, q).toBe('string');
    }
    const fresh = await get('fresh');
    expect(fresh.status).toBe(409);
    expect(fresh.json.error).toBe('NOT_SCORED');
    // a run stored before the checks existed, or with a stored value that is not what the pipeline writes: 409, not a 500 or a made-up panel
    const db = getDb();
    await createScoreRun(db, ids.get('fresh')!, { asOf: new Date('2026-10-01T00:00:00Z'), counts: { contacts: 0 } });
    expect((await get('fresh')).json.error).toBe('NO_DATA_QUALITY');
    await createScoreRun(db, ids.get('fresh')!, { asOf: new Date('2026-10-02T00:00:00Z'), counts: { dataQuality: { kind: 'contact', customers: -1, warnShare: 2, checks: 'x' } } });
    const bad = await get('fresh');
    expect(bad.status).toBe(409);
    expect(bad.json.error).toBe('NO_DATA_QUALITY');
    const noCo = await get('small', '?entity=company');
    expect(noCo.status).toBe(409);
    expect(noCo.json.error).toBe('NO_COMPANIES');
  });

  it('each portal sees its own: the small portal\'s session gets the small portal\'s counts, never the big one\'s', async () => {
    const s = (await get('small')).json as unknown as Answer;
    const exp = independent(small.emu.portal, 'contact');
    expect(checkOf(s, 'noRate').count).toBe(exp.noRate.length);
    expect(s.customers).toBe(small.emu.portal.contacts.size);
    const bigIds = new Set(independent(big.emu.portal, 'contact').zeroWon);
    for (const l of checkOf(s, 'zeroWon').links ?? []) expect(small.emu.portal.deals.has(l.id)).toBe(true);
    expect(checkOf(s, 'zeroWon').links!.some((l) => bigIds.has(l.id) && !small.emu.portal.deals.has(l.id))).toBe(false);
  });
});
