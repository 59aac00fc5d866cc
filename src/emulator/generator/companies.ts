/** Step: the company records (stream subSeed(seed, 2)), founded at their anchors from the contact model. */
import type { CompanyRec, Multifield } from '../model.js';
import type { GenContext } from './context.js';
import { DAY } from './constants.js';
import { EMPLOYEES, SOURCES } from './dictionaries.js';
import { phone } from './phone-email.js';
import { COMPANY_FORMS, COMPANY_KINDS, COMPANY_WORDS, EN, INDUSTRIES, RU } from './pools.js';
import { Rng, subSeed } from './random.js';
import { assignUser } from './users.js';

export function addCompanies(ctx: GenContext): void {
  const { portal, start, now, base, ids } = ctx;
  const compRng = new Rng(subSeed(ctx.seed, 2));
  for (let j = 0; j < ctx.companies.n; j++) {
    const id = portal.nextId('company');
    ctx.companies.ids[j] = id;
    const word = compRng.pick(COMPANY_WORDS);
    const title = `${word} ${compRng.pick(COMPANY_KINDS)} ${compRng.pick(COMPANY_FORMS)}`;
    const created = ctx.biz(Math.max(start - 60 * DAY, ctx.companies.anchor[j] ?? start));
    const ru = compRng.chance(0.55);
    const fm: Multifield[] = [];
    if (compRng.chance(0.85)) fm.push({ id: ++ids.multifield, typeId: 'PHONE', valueType: 'WORK', value: phone(compRng, ru ? RU : EN) });
    if (compRng.chance(0.8)) fm.push({ id: ++ids.multifield, typeId: 'EMAIL', valueType: 'WORK', value: `info@${word.toLowerCase()}${id}.example` });
    portal.companies.set(id, {
      id, title, companyType: 'CUSTOMER', industry: compRng.pick(INDUSTRIES),
      revenue: Math.round(compRng.gamma(1.5, 400_000) / 1000) * 1000, currencyId: base,
      sourceId: compRng.weighted(SOURCES.map((s) => s[0]), SOURCES.map((s) => s[2])),
      addressCity: compRng.pick((ru ? RU : EN).cities), assignedById: assignUser(ctx, compRng, created),
      createdById: 1, modifyById: 1, opened: true, dateCreate: created,
      dateModify: Math.min(now, created + compRng.next() * 90 * DAY), fm, uf: {},
      // B2B profile: the company's size (EMPLOYEES), bigger companies rarer
      ...(ctx.b2b ? { extra: { EMPLOYEES: ctx.b2bRng.weighted(EMPLOYEES.map((e) => e[0]), [50, 30, 12, 8]) } } : {}),
    } satisfies CompanyRec);
  }
}

/** ID of company j. */
export function companyIdOf(ctx: GenContext, j: number): number {
  return ctx.companies.ids[j] ?? 0;
}

/** Builds the company → contacts index (CSR) from the contact model. */
export function indexCompanyMembers(ctx: GenContext): void {
  const { nContacts } = ctx;
  const nCompanies = ctx.companies.n;
  const cCompany = ctx.contacts.company;
  const compStart = ctx.companies.start;
  for (let i = 0; i < nContacts; i++) { const cj = cCompany[i] ?? -1; if (cj >= 0) compStart[cj + 1] = (compStart[cj + 1] ?? 0) + 1; }
  for (let j = 0; j < nCompanies; j++) compStart[j + 1] = (compStart[j + 1] ?? 0) + (compStart[j] ?? 0);
  const compMembers = new Int32Array(compStart[nCompanies] ?? 0);
  const fill = compStart.slice(0, nCompanies);
  for (let i = 0; i < nContacts; i++) { const cj = cCompany[i] ?? -1; if (cj >= 0) compMembers[fill[cj]!++] = i; }
  ctx.companies.members = compMembers;
}
