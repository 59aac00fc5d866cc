/**
 * Step: leads (stream subSeed(seed, 11), after the contacts so nothing else moves). Most customers
 * came in as a lead: 60 % of the contacts get a converted lead (CONVERTED, semantic S) created up to
 * five days before the contact and closed when the contact was made, with CONTACT_ID (and the
 * contact's company). Its source is the contact's own in 70 % of cases, else another one (the
 * campaign that brought the request, while the contact form says something else) — so "the
 * source of the lead that brought the customer in" and "the contact's SOURCE_ID" differ for a
 * known share. Leads that never became customers: junk (JUNK, F; 15 % of the contact count) and,
 * in the last 60 days, open ones (NEW / IN_PROCESS, 5 %), without a contact. IDs follow creation time.
 */
import type { LeadRec } from '../model.js';
import { companyIdOf } from './companies.js';
import type { GenContext } from './context.js';
import { DAY } from './constants.js';
import { SOURCES } from './dictionaries.js';
import { Rng, subSeed } from './random.js';

const SRC_IDS = SOURCES.filter((s) => s[2] > 0).map((s) => s[0]);
const SRC_W = SOURCES.filter((s) => s[2] > 0).map((s) => s[2]);

type LeadDraft = Omit<LeadRec, 'id'>;

function draft(ctx: GenContext, o: Partial<LeadDraft> & Pick<LeadDraft, 'statusId' | 'dateCreate' | 'assignedById'>): LeadDraft {
  return {
    title: '', name: null, lastName: null, statusDescription: null, sourceId: null, sourceDescription: null, contactId: null,
    companyId: null, currencyId: ctx.base, opportunity: 0, opened: true, comments: null, createdById: o.assignedById,
    modifyById: o.assignedById, dateModify: o.dateClosed ?? o.dateCreate, dateClosed: null, fm: [], uf: {}, ...o,
  };
}

/** The converted lead of contact i (or none). */
function convertedLead(ctx: GenContext, r: Rng, i: number): LeadDraft | null {
  const c = ctx.contacts;
  const contact = ctx.portal.contacts.get(c.firstId + i);
  if (!contact || !r.chance(0.6)) return null;
  const sourceId = r.chance(0.7) ? (contact.sourceId ?? 'WEB') : r.weighted(SRC_IDS, SRC_W);
  const created = Math.max(ctx.start, Math.round((contact.dateCreate - r.next() * 5 * DAY) / 1000) * 1000);
  const cj = c.company[i] ?? -1;
  return draft(ctx, {
    title: `Request from ${contact.name} ${contact.lastName}`.trim(), name: contact.name, lastName: contact.lastName,
    statusId: 'CONVERTED', sourceId, contactId: contact.id, companyId: cj >= 0 ? companyIdOf(ctx, cj) : null,
    assignedById: contact.assignedById, dateCreate: created, dateClosed: contact.dateCreate, opportunity: 0,
  });
}

/** A lead that did not become a customer: junk, or open when recent. */
function strayLead(ctx: GenContext, r: Rng, open: boolean): LeadDraft {
  const span = open ? 60 * DAY : ctx.now - ctx.start;
  const created = Math.round((ctx.now - r.next() * span) / 1000) * 1000;
  const user = ctx.staff.managerIds[r.int(0, Math.max(0, ctx.staff.managerIds.length - 1))] ?? 1;
  const closed = open ? null : Math.min(ctx.now, created + Math.round(r.next() * 7 * DAY));
  return draft(ctx, {
    title: open ? 'Website request' : 'Request', statusId: open ? (r.chance(0.5) ? 'NEW' : 'IN_PROCESS') : 'JUNK',
    sourceId: r.weighted(SRC_IDS, SRC_W), assignedById: user, dateCreate: created, dateClosed: closed,
  });
}

export function addLeads(ctx: GenContext): void {
  if (ctx.opts.leads === false) return;
  const r = new Rng(subSeed(ctx.seed, 11));
  const drafts: LeadDraft[] = [];
  for (let i = 0; i < ctx.nContacts; i++) {
    const d = convertedLead(ctx, r, i);
    if (d) drafts.push(d);
  }
  ctx.tally.leadsConverted = drafts.length;
  const junk = Math.round(ctx.nContacts * 0.15);
  const open = Math.round(ctx.nContacts * 0.05);
  for (let k = 0; k < junk; k++) drafts.push(strayLead(ctx, r, false));
  for (let k = 0; k < open; k++) drafts.push(strayLead(ctx, r, true));
  ctx.tally.leadsJunk = junk;
  drafts.sort((a, b) => a.dateCreate - b.dateCreate);
  for (const d of drafts) {
    const id = ctx.portal.nextId('lead');
    ctx.portal.leads.set(id, { id, ...d, title: d.title || `Lead #${id}` });
  }
}
