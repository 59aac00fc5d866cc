/**
 * Step: the contact records (stream subSeed(seed, 3)), in creation order with consecutive IDs;
 * contacts with a simulated deal are clients.
 */
import type { ContactRec, Multifield } from '../model.js';
import { companyIdOf } from './companies.js';
import type { GenContext } from './context.js';
import { YEAR } from './constants.js';
import { SOURCES } from './dictionaries.js';
import { email, phone } from './phone-email.js';
import { EN, POSTS, RU, type NamePool } from './pools.js';
import { Rng, subSeed } from './random.js';
import { assignUser } from './users.js';

const SRC_IDS = SOURCES.filter((s) => s[2] > 0).map((s) => s[0]);
const SRC_W = SOURCES.filter((s) => s[2] > 0).map((s) => s[2]);

export function addContacts(ctx: GenContext): void {
  const { portal, nContacts, events } = ctx;
  const c = ctx.contacts;
  for (let e = 0; e < events.count; e++) c.hasDeal[events.contact[e] ?? 0] = 1;
  const cRng = new Rng(subSeed(ctx.seed, 3));
  for (let i = 0; i < nContacts; i++) {
    const id = portal.nextId('contact');
    if (i === 0) c.firstId = id;
    portal.contacts.set(id, contactRecord(ctx, cRng, i, id));
  }
}

function contactRecord(ctx: GenContext, cRng: Rng, i: number, id: number): ContactRec {
  const { now, start } = ctx;
  const c = ctx.contacts;
  const pool = c.ru[i] ? RU : EN;
  const female = cRng.chance(0.5);
  const name = cRng.pick(female ? pool.femaleFirst : pool.maleFirst);
  const lastM = cRng.pick(pool.last);
  const lastName = female ? pool.femaleLast(lastM) : lastM;
  const second = pool.maleSecond && cRng.chance(0.35) ? cRng.pick((female ? pool.femaleSecond : pool.maleSecond) ?? []) : null;
  const created = ctx.biz(c.created[i] ?? start);
  const assigned = assignUser(ctx, cRng, created);
  c.assigned[i] = assigned;
  const source = cRng.weighted(SRC_IDS, SRC_W);
  c.source[i] = source;
  const fm = contactMultifields(ctx, cRng, pool, name, lastName, id);
  const cj = c.company[i] ?? -1;
  const companyId = cj >= 0 ? companyIdOf(ctx, cj) : null;
  const birth = cRng.chance(0.3)
    ? ctx.dayStr(now - (20 + cRng.next() * 50) * YEAR)
    : null;
  const typeId = c.hasDeal[i] ? 'CLIENT' : cRng.weighted(['CLIENT', 'OTHER', 'PARTNER', 'SUPPLIER'], [70, 15, 10, 5]);
  return {
    id, name, secondName: second, lastName, honorific: null, typeId, sourceId: source, sourceDescription: null,
    post: companyId !== null ? cRng.pick(POSTS) : null, comments: null, birthdate: birth,
    addressCity: cRng.chance(0.85) ? cRng.pick(pool.cities) : null,
    companyId, companyIds: companyId !== null ? [companyId] : [],
    assignedById: assigned, createdById: assigned, modifyById: assigned, opened: true, export: true,
    dateCreate: created, dateModify: Math.min(now, Math.round((created + cRng.next() * cRng.next() * (now - created)) / 1000) * 1000),
    fm: fm.slice(), uf: {},
  } satisfies ContactRec;
}

/** ~6% have neither phone nor e-mail; otherwise phone 85%, e-mail 70% (at least one). */
function contactMultifields(ctx: GenContext, cRng: Rng, pool: NamePool, name: string, lastName: string, id: number): Multifield[] {
  const { ids } = ctx;
  const fm: Multifield[] = [];
  const kind = cRng.next();
  if (kind >= 0.06) {
    let ph = cRng.chance(0.85);
    const em = cRng.chance(0.7);
    if (!ph && !em) ph = true;
    if (ph) fm.push({ id: ++ids.multifield, typeId: 'PHONE', valueType: cRng.chance(0.8) ? 'MOBILE' : 'WORK', value: phone(cRng, pool) });
    if (em) fm.push({ id: ++ids.multifield, typeId: 'EMAIL', valueType: cRng.chance(0.75) ? 'HOME' : 'WORK', value: email(cRng, name, lastName, id, pool) });
  }
  return fm;
}
