import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PortalClock } from '../../src/emulator/clock.js';
import { generatePortal, LOSS_ENUM_FIELD, LOSS_REASON_FIELD, type GenerateOptions } from '../../src/emulator/generator.js';
import { Portal } from '../../src/emulator/portal.js';

const NOW = Date.UTC(2026, 4, 15, 12, 0, 0);
const DAY = 86_400_000;

/** A portal whose clock stands still at NOW (wall time frozen), so runs are comparable. */
function frozenPortal(): Portal {
  return new Portal({ memberId: 'test-member', clock: new PortalClock(NOW, 1, () => 0) });
}

function gen(opts: GenerateOptions): { portal: Portal; summary: ReturnType<typeof generatePortal> } {
  const portal = frozenPortal();
  return { portal, summary: generatePortal(portal, opts) };
}

function tableHash(p: Portal): string {
  const h = createHash('sha256');
  const put = (name: string, rows: Iterable<unknown>): void => {
    h.update(name);
    for (const r of rows) h.update(JSON.stringify(r));
  };
  put('users', p.users.values());
  put('currencies', p.currencies);
  put('statuses', p.statuses);
  put('categories', p.categories);
  put('userFields', p.userFields.values());
  put('sections', p.sections.values());
  put('products', p.products.values());
  put('companies', p.companies.values());
  put('contacts', p.contacts.values());
  put('deals', p.deals.values());
  put('rows', p.productRows.entries());
  put('leads', p.leads.values());
  return h.digest('hex');
}

describe('generatePortal: determinism', () => {
  it('same seed → identical tables; different seed → different tables', () => {
    const a = gen({ contacts: 800, seed: 123 });
    const b = gen({ contacts: 800, seed: 123 });
    const c = gen({ contacts: 800, seed: 124 });
    expect(tableHash(a.portal)).toBe(tableHash(b.portal));
    expect({ ...a.summary, ms: 0 }).toEqual({ ...b.summary, ms: 0 });
    expect(tableHash(c.portal)).not.toBe(tableHash(a.portal));
    expect(c.summary.deals).not.toBe(a.summary.deals);
  });

  it('same seed with a deals target is deterministic too', () => {
    const a = gen({ contacts: 500, seed: 9, deals: 2000 });
    const b = gen({ contacts: 500, seed: 9, deals: 2000 });
    expect(tableHash(a.portal)).toBe(tableHash(b.portal));
  });

  it('refuses a portal that already holds CRM data', () => {
    const { portal } = gen({ contacts: 10, seed: 1 });
    expect(() => generatePortal(portal, { contacts: 10, seed: 1 })).toThrow(/already holds CRM data/);
  });
});

describe('generatePortal: a plausible shop / B2B portal', () => {
  const { portal, summary } = gen({ contacts: 4000, seed: 2024 });
  const deals = [...portal.deals.values()];
  const contacts = [...portal.contacts.values()];

  it('users: admin 1 plus non-admin sales managers', () => {
    const admin = portal.users.get(1)!;
    expect(admin.isAdmin).toBe(true);
    const others = [...portal.users.values()].filter((u) => u.id !== 1);
    expect(others.length).toBeGreaterThanOrEqual(3);
    expect(others.some((u) => !u.isAdmin && u.active)).toBe(true);
    const responsible = new Set(contacts.map((c) => c.assignedById));
    expect(responsible.size).toBeGreaterThanOrEqual(4);
    for (const id of responsible) expect(portal.users.has(id)).toBe(true);
  });

  it('currencies: base with AMOUNT 1 plus others; deals in ≥2 currencies that all exist', () => {
    const base = portal.currencies.filter((c) => c.base);
    expect(base).toHaveLength(1);
    expect(base[0]!.currency).toBe('USD');
    expect(base[0]!.amount).toBe(1);
    expect(portal.currencies.map((c) => c.currency)).toEqual(expect.arrayContaining(['EUR', 'RUB']));
    const used = new Set(deals.map((d) => d.currencyId));
    expect(used.size).toBeGreaterThanOrEqual(2);
    for (const c of used) expect(portal.currencies.some((x) => x.currency === c)).toBe(true);
  });

  it('funnels and statuses: stages with semantics, two categories, sources, types', () => {
    const st = (entity: string) => portal.statuses.filter((s) => s.entityId === entity);
    const f0 = st('DEAL_STAGE');
    expect(f0.map((s) => s.statusId)).toEqual(['NEW', 'PREPARATION', 'PREPAYMENT_INVOICE', 'EXECUTING', 'FINAL_INVOICE', 'WON', 'LOSE', 'APOLOGY']);
    expect(f0.find((s) => s.statusId === 'WON')!.semantics).toBe('S');
    expect(f0.filter((s) => s.semantics === 'F').map((s) => s.statusId)).toEqual(['LOSE', 'APOLOGY']);
    const f1 = st('DEAL_STAGE_1');
    expect(f1.every((s) => s.statusId.startsWith('C1:'))).toBe(true);
    expect(f1.find((s) => s.statusId === 'C1:WON')!.semantics).toBe('S');
    expect(portal.categories.map((c) => c.id)).toEqual([0, 1]);
    expect(st('SOURCE').map((s) => s.statusId)).toEqual(expect.arrayContaining(['CALL', 'EMAIL', 'WEB', 'ADVERTISING', 'PARTNER', 'RECOMMENDATION']));
    expect(st('CONTACT_TYPE').length).toBeGreaterThan(0);
    expect(st('DEAL_TYPE').length).toBeGreaterThan(0);
    // status IDs are unique
    expect(new Set(portal.statuses.map((s) => s.id)).size).toBe(portal.statuses.length);
  });

  it('catalog: a section tree with products only in leaf sections', () => {
    const sections = [...portal.sections.values()];
    const tops = sections.filter((s) => s.sectionId === null);
    const leaves = sections.filter((s) => s.sectionId !== null);
    expect(tops.map((s) => s.name)).toEqual(expect.arrayContaining(['Furniture', 'Kids', 'Electronics']));
    expect(leaves.map((s) => s.name)).toEqual(expect.arrayContaining(['Kitchens', 'Sofas', 'Strollers', 'Toys', 'Phones', 'Laptops']));
    for (const l of leaves) expect(portal.sections.get(l.sectionId!)!.sectionId).toBeNull();
    const leafIds = new Set(leaves.map((s) => s.id));
    for (const p of portal.products.values()) {
      expect(leafIds.has(p.sectionId!)).toBe(true);
      expect(p.price).toBeGreaterThan(0);
    }
  });

  it('deal outcomes: won, lost and open all present; won dominates; both funnels used', () => {
    expect(summary.won + summary.lost + summary.open).toBe(deals.length);
    expect(summary.won).toBeGreaterThan(summary.lost);
    expect(summary.lost).toBeGreaterThan(0);
    expect(summary.open).toBeGreaterThan(0);
    const byCat = new Map<number, number>();
    for (const d of deals) byCat.set(d.categoryId, (byCat.get(d.categoryId) ?? 0) + 1);
    expect(byCat.get(0)).toBeGreaterThan(0);
    expect(byCat.get(1)).toBeGreaterThan(0);
    const sem = new Map(portal.statuses.filter((s) => s.entityId.startsWith('DEAL_STAGE')).map((s) => [`${s.entityId}/${s.statusId}`, s.semantics]));
    for (const d of deals) {
      const key = `${d.categoryId === 0 ? 'DEAL_STAGE' : `DEAL_STAGE_${d.categoryId}`}/${d.stageId}`;
      expect(sem.has(key)).toBe(true);
      expect(d.closed).toBe(sem.get(key) !== null);
    }
  });

  it('product rows only on won deals, summing to the opportunity', () => {
    const won = new Set(deals.filter((d) => d.stageId === 'WON' || d.stageId === 'C1:WON').map((d) => d.id));
    let rows = 0;
    let discounted = 0;
    for (const [dealId, list] of portal.productRows) {
      expect(won.has(dealId)).toBe(true);
      const d = portal.deals.get(dealId)!;
      expect(list.length).toBeGreaterThanOrEqual(1);
      expect(list.length).toBeLessThanOrEqual(4);
      let sum = 0;
      for (const r of list) {
        expect(r.ownerId).toBe(dealId);
        expect(r.ownerType).toBe('D');
        expect(portal.products.get(r.productId)!.name).toBe(r.productName);
        expect(r.quantity).toBeGreaterThanOrEqual(1);
        expect(r.price).toBeCloseTo(r.priceNetto - r.discountSum, 2);
        if (r.discountRate > 0) discounted++;
        sum += r.price * r.quantity;
        rows++;
      }
      expect(Math.abs(d.opportunity - sum)).toBeLessThan(0.011);
      expect(d.isManualOpportunity).toBe(false);
    }
    expect(rows).toBe(summary.productRows);
    expect(discounted).toBeGreaterThan(0);
    expect(portal.productRows.size).toBe(summary.won); // every won deal has rows
    // row IDs unique and ascending in deal order
    const ids = [...portal.productRows.values()].flat().map((r) => r.id);
    expect(ids.every((id, i) => i === 0 || id > ids[i - 1]!)).toBe(true);
  });

  it('lost deals carry a reason in the registered UF_CRM_LOSS_REASON deal field', () => {
    const f = [...portal.userFields.values()].find((x) => x.fieldName === LOSS_REASON_FIELD)!;
    expect(f.entityId).toBe('CRM_DEAL');
    expect(f.userTypeId).toBe('string');
    const lost = deals.filter((d) => d.stageId === 'LOSE' || d.stageId === 'APOLOGY' || d.stageId === 'C1:LOSE');
    expect(lost.length).toBe(summary.lost);
    for (const d of lost) expect(typeof d.uf[LOSS_REASON_FIELD]).toBe('string');
    expect(new Set(lost.map((d) => d.uf[LOSS_REASON_FIELD])).size).toBeGreaterThan(3);
    expect(deals.filter((d) => !lost.includes(d)).every((d) => d.uf[LOSS_REASON_FIELD] === undefined)).toBe(true);
  });

  it('leads: a converted lead for most contacts (before the contact, with its contact), junk and open ones without', () => {
    const leads = [...portal.leads.values()];
    const converted = leads.filter((l) => l.statusId === 'CONVERTED');
    expect(summary.leads).toEqual({ total: leads.length, converted: converted.length, junk: leads.filter((l) => l.statusId === 'JUNK').length });
    expect(converted.length / contacts.length).toBeGreaterThan(0.55);
    expect(converted.length / contacts.length).toBeLessThan(0.65);
    for (const l of converted) {
      const c = portal.contacts.get(l.contactId!)!;
      expect(l.dateCreate).toBeLessThanOrEqual(c.dateCreate);
      expect(l.dateClosed).toBe(c.dateCreate);
    }
    const differs = converted.filter((l) => l.sourceId !== portal.contacts.get(l.contactId!)!.sourceId).length;
    expect(differs / converted.length).toBeGreaterThan(0.1);
    expect(leads.filter((l) => l.statusId !== 'CONVERTED').every((l) => l.contactId === null)).toBe(true);
    const ids = leads.map((l) => l.id);
    expect(ids.every((id, i) => i === 0 || (id > ids[i - 1]! && leads[i]!.dateCreate >= leads[i - 1]!.dateCreate))).toBe(true);
    expect(portal.statuses.filter((x) => x.entityId === 'STATUS').map((x) => [x.statusId, x.semantics]))
      .toEqual([['NEW', null], ['IN_PROCESS', null], ['PROCESSED', null], ['CONVERTED', 'S'], ['JUNK', 'F']]);
  });

  it('the same lost deals keep their reason as lost stages (refusals: stages) or in a list field (refusals: enum)', () => {
    const lostReason = new Map(deals.filter((d) => d.uf[LOSS_REASON_FIELD] !== undefined).map((d) => [d.id, String(d.uf[LOSS_REASON_FIELD])]));
    const st = gen({ contacts: 4000, seed: 2024, refusals: 'stages' });
    expect(st.summary.lossReasonField).toBeNull();
    expect([...st.portal.userFields.values()].some((f) => f.entityId === 'CRM_DEAL')).toBe(false);
    const stageName = new Map(st.portal.statuses.map((x) => [x.statusId, x.name]));
    const expectedStage: Record<string, string> = { 'Too expensive': 'Lost: price', 'Chose a competitor': 'Lost: competitor' };
    for (const d of st.portal.deals.values()) {
      const r = lostReason.get(d.id);
      if (r === undefined) continue;
      if (expectedStage[r]) expect(stageName.get(d.stageId)).toBe(expectedStage[r]);
    }
    expect(new Set([...st.portal.deals.values()].filter((d) => lostReason.has(d.id)).map((d) => d.stageId)).size).toBeGreaterThanOrEqual(6);
    expect([...st.portal.deals.values()].filter((d) => lostReason.has(d.id)).length).toBe(lostReason.size);
    const en = gen({ contacts: 4000, seed: 2024, refusals: 'enum' });
    const f = [...en.portal.userFields.values()].find((x) => x.fieldName === LOSS_ENUM_FIELD)!;
    expect(f.userTypeId).toBe('enumeration');
    const item = new Map(f.list.map((i) => [i.id, i.value]));
    for (const d of en.portal.deals.values()) {
      const r = lostReason.get(d.id);
      expect(r === undefined ? d.uf[LOSS_ENUM_FIELD] : item.get(Number(d.uf[LOSS_ENUM_FIELD]))).toBe(r);
    }
  });

  it('buy-till-you-die mix: one-time and repeat buyers, sleepers, contacts without deals', () => {
    const wonBy = new Map<number, number[]>();
    for (const d of deals) {
      if (d.stageId !== 'WON' && d.stageId !== 'C1:WON') continue;
      const c = d.contactIds[0]!;
      (wonBy.get(c) ?? wonBy.set(c, []).get(c)!).push(Date.parse(d.closeDate));
    }
    const counts = [...wonBy.values()].map((v) => v.length);
    const oneTime = counts.filter((n) => n === 1).length;
    const repeat = counts.filter((n) => n > 1).length;
    expect(oneTime).toBe(summary.oneTimeBuyers);
    expect(repeat).toBe(summary.repeatBuyers);
    const repeatShare = repeat / (oneTime + repeat);
    expect(repeatShare).toBeGreaterThan(0.2);
    expect(repeatShare).toBeLessThan(0.85);
    // heterogeneity: purchase counts are overdispersed (a homogeneous Poisson would give variance = mean)
    const mean = counts.reduce((a, b) => a + b, 0) / counts.length;
    const variance = counts.reduce((a, b) => a + (b - mean) ** 2, 0) / counts.length;
    expect(variance).toBeGreaterThan(1.15 * mean);
    expect(Math.max(...counts)).toBeGreaterThanOrEqual(8);
    // fell asleep: repeat buyers whose last purchase is more than a year ago
    const asleep = [...wonBy.values()].filter((v) => v.length >= 2 && NOW - Math.max(...v) > 365 * DAY).length;
    expect(asleep).toBeGreaterThan(0);
    const withDeals = new Set(deals.flatMap((d) => d.contactIds));
    const without = contacts.filter((c) => !withDeals.has(c.id)).length;
    expect(without).toBeGreaterThan(0.05 * contacts.length);
    expect(summary.contactsWithoutDeals).toBeGreaterThanOrEqual(without);
  });

  it('deals with several contacts (first primary) and companies linked to contacts', () => {
    const multi = deals.filter((d) => d.contactIds.length > 1);
    expect(multi.length).toBe(summary.dealsWithSeveralContacts);
    expect(multi.length).toBeGreaterThan(0);
    for (const d of multi) {
      expect(new Set(d.contactIds).size).toBe(d.contactIds.length);
      for (const id of d.contactIds) expect(portal.contacts.has(id)).toBe(true);
    }
    const linked = contacts.filter((c) => c.companyId !== null);
    expect(linked.length).toBeGreaterThan(0.05 * contacts.length);
    for (const c of linked) {
      expect(portal.companies.has(c.companyId!)).toBe(true);
      expect(c.companyIds).toEqual([c.companyId]);
    }
    for (const d of deals) if (d.companyId !== null) expect(portal.companies.has(d.companyId)).toBe(true);
    expect(deals.filter((d) => d.categoryId === 1).every((d) => d.companyId !== null || portal.contacts.get(d.contactIds[0]!)!.companyId === null)).toBe(true);
  });

  it('contacts: mixed names, some without phone or e-mail, cities, sources, dates over years', () => {
    expect(contacts.some((c) => c.lastName.endsWith('ova'))).toBe(true); // Russian female surnames
    expect(contacts.some((c) => ['Smith', 'Johnson', 'Brown', 'Miller', 'Taylor'].includes(c.lastName))).toBe(true);
    const noContactInfo = contacts.filter((c) => c.fm.length === 0).length;
    expect(noContactInfo).toBeGreaterThan(0);
    expect(noContactInfo).toBeLessThan(0.15 * contacts.length);
    expect(contacts.filter((c) => c.fm.some((m) => m.typeId === 'EMAIL')).length).toBeGreaterThan(0.5 * contacts.length);
    expect(contacts.filter((c) => c.addressCity !== null).length).toBeGreaterThan(0.7 * contacts.length);
    expect(new Set(contacts.map((c) => c.sourceId)).size).toBeGreaterThanOrEqual(6);
    const created = contacts.map((c) => c.dateCreate);
    expect(Math.max(...created) - Math.min(...created)).toBeGreaterThan(3 * 365 * DAY);
    const fmIds = contacts.flatMap((c) => c.fm.map((m) => m.id));
    expect(new Set(fmIds).size).toBe(fmIds.length);
  });

  it('IDs ascend with creation time, dates are consistent and end at the portal clock', () => {
    const ids = deals.map((d) => d.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    for (let i = 1; i < deals.length; i++) expect(deals[i]!.dateCreate).toBeGreaterThanOrEqual(deals[i - 1]!.dateCreate);
    for (let i = 1; i < contacts.length; i++) expect(contacts[i]!.dateCreate).toBeGreaterThanOrEqual(contacts[i - 1]!.dateCreate);
    for (const d of deals) {
      expect(d.dateCreate).toBeLessThanOrEqual(NOW);
      expect(d.dateModify).toBeLessThanOrEqual(NOW);
      expect(d.closeDate >= d.beginDate).toBe(true);
      expect(d.dateCreate).toBeGreaterThanOrEqual(portal.contacts.get(d.contactIds[0]!)!.dateCreate);
      if (d.closed) expect(Date.parse(d.closeDate)).toBeLessThanOrEqual(NOW);
      else expect(d.dateCreate).toBeGreaterThan(NOW - 46 * DAY); // open deals are recent
    }
    // most open deals expect to close in the future; a few are overdue, as on real portals
    const open = deals.filter((d) => !d.closed);
    expect(open.filter((d) => Date.parse(d.closeDate) > NOW).length).toBeGreaterThan(open.length / 2);
    expect(Date.parse(summary.dateTo!)).toBeLessThanOrEqual(NOW);
    expect(Date.parse(summary.dateTo!)).toBeGreaterThan(NOW - 30 * DAY);
  });

  it('bumps the sequences so later REST adds get fresh IDs', () => {
    const maxDeal = Math.max(...portal.deals.keys());
    const maxRow = Math.max(...[...portal.productRows.values()].flat().map((r) => r.id));
    const maxFm = Math.max(...contacts.flatMap((c) => c.fm.map((m) => m.id)), ...[...portal.companies.values()].flatMap((c) => c.fm.map((m) => m.id)));
    expect(portal.nextId('deal')).toBe(maxDeal + 1);
    expect(portal.nextId('contact')).toBe(Math.max(...portal.contacts.keys()) + 1);
    expect(portal.nextId('company')).toBe(Math.max(...portal.companies.keys()) + 1);
    expect(portal.nextId('productRow')).toBe(maxRow + 1);
    expect(portal.nextId('multifield')).toBe(maxFm + 1);
    expect(portal.nextId('product')).toBe(Math.max(...portal.products.keys()) + 1);
    expect(portal.nextId('user')).toBe(Math.max(...portal.users.keys()) + 1);
  });
});

describe('generatePortal: the B2B profile', () => {
  const { portal, summary } = gen({ contacts: 1500, seed: 31, profile: 'b2b' });
  const contacts = [...portal.contacts.values()];
  const deals = [...portal.deals.values()];

  it('companies with several contacts each, sizes, industries and revenue', () => {
    expect(summary.profile).toBe('b2b');
    expect(summary.companies).toBe(Math.round(1500 * 0.12));
    const inCompany = contacts.filter((c) => c.companyId !== null);
    // 70% draw a company; the earliest contacts find none founded yet
    expect(inCompany.length / contacts.length).toBeGreaterThan(0.5);
    const perCompany = new Map<number, number>();
    for (const c of inCompany) perCompany.set(c.companyId!, (perCompany.get(c.companyId!) ?? 0) + 1);
    expect([...perCompany.values()].filter((n) => n >= 2).length).toBeGreaterThan(perCompany.size / 2);
    const sizes = new Set(['EMPLOYEES_1', 'EMPLOYEES_2', 'EMPLOYEES_3', 'EMPLOYEES_4']);
    for (const co of portal.companies.values()) {
      expect(sizes.has(String(co.extra?.EMPLOYEES))).toBe(true);
      expect(co.industry).toBeTruthy();
      expect(co.revenue).toBeGreaterThanOrEqual(0);
    }
    expect(portal.statuses.filter((s) => s.entityId === 'EMPLOYEES').map((s) => s.statusId).sort()).toEqual([...sizes].sort());
    expect(portal.statuses.some((s) => s.entityId === 'INDUSTRY' && s.statusId === 'IT')).toBe(true);
  });

  it('every deal of a company contact is the company\'s; some have no contact', () => {
    const companyOf = new Map(contacts.map((c) => [c.id, c.companyId]));
    let companyOnly = 0;
    for (const d of deals) {
      if (d.contactIds.length === 0) {
        companyOnly++;
        expect(d.companyId).not.toBeNull();
        continue;
      }
      const co = companyOf.get(d.contactIds[0]!) ?? null;
      expect([d.id, d.companyId]).toEqual([d.id, co]);
    }
    expect(companyOnly).toBe(summary.companyOnlyDeals);
    expect(summary.companyDeals).toBe(deals.filter((d) => d.companyId !== null).length);
    expect(companyOnly / summary.companyDeals).toBeGreaterThan(0.1);
    expect(companyOnly / summary.companyDeals).toBeLessThan(0.2);
  });

  it('the shop profile is the default and unchanged by the option', () => {
    expect(tableHash(gen({ contacts: 300, seed: 31 }).portal)).toBe(tableHash(gen({ contacts: 300, seed: 31, profile: 'shop' }).portal));
    expect(tableHash(gen({ contacts: 300, seed: 31 }).portal)).not.toBe(tableHash(gen({ contacts: 300, seed: 31, profile: 'b2b' }).portal));
  });
});

describe('generatePortal: deals target', () => {
  it.each([
    [60, 100],
    [1000, 300],
    [1000, 5000],
    [5000, 4000],
    [20_000, 80_000],
  ])('%i contacts → %i deals within 10 percent', (contacts, target) => {
    const { summary } = gen({ contacts, seed: contacts + target, deals: target });
    expect(Math.abs(summary.deals - target) / target).toBeLessThanOrEqual(0.1);
    expect(summary.won).toBeGreaterThan(0);
  });

  it('100k contacts / 400k deals: within ±10% and under a minute', () => {
    const { summary, portal } = gen({ contacts: 100_000, seed: 42, deals: 400_000 });
    expect(Math.abs(summary.deals - 400_000) / 400_000).toBeLessThanOrEqual(0.1);
    expect(portal.deals.size).toBe(summary.deals);
    expect(summary.ms).toBeLessThan(60_000);
  }, 120_000);
});
