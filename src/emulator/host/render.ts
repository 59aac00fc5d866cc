/** Rendering helpers of the host CRM pages: names, dates and money in the portal's style, field tables, pager. */
import type { ContactRec, DealRec, UserFieldRec } from '../model.js';
import type { Portal } from '../portal.js';
import { esc, link } from './html.js';

export function contactName(c: ContactRec): string {
  return `${c.name} ${c.lastName}`.trim() || `Contact #${c.id}`;
}

export function fmtDate(ms: number, portal: Portal): string {
  return fmtDateTime(ms, portal).slice(0, 10);
}

export function fmtDateTime(ms: number, portal: Portal): string {
  try {
    const d = new Date(ms);
    const f = new Intl.DateTimeFormat('sv-SE', { timeZone: portal.timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    return f.format(d);
  } catch {
    return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
  }
}

export function money(v: number, cur: string): string {
  return `${v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${cur}`;
}

export function stageName(portal: Portal, d: DealRec): string {
  const entity = d.categoryId === 0 ? 'DEAL_STAGE' : `DEAL_STAGE_${d.categoryId}`;
  return portal.statuses.find((s) => s.entityId === entity && s.statusId === d.stageId)?.name ?? d.stageId;
}

export function ufFields(portal: Portal, entity: UserFieldRec['entityId']): UserFieldRec[] {
  return [...portal.userFields.values()].filter((f) => f.entityId === entity).sort((a, b) => a.sort - b.sort || a.id - b.id);
}

export function label(f: UserFieldRec, lang: string): string {
  return f.editFormLabel[lang] || f.editFormLabel.en || f.listColumnLabel[lang] || f.listColumnLabel.en || f.fieldName;
}

/** A user-field value as the card shows it: enumerations by VALUE, booleans Yes/No, lists joined. */
export function fmtUf(f: UserFieldRec, v: unknown): string {
  if (v === null || v === undefined || v === '' || (Array.isArray(v) && v.length === 0)) return '';
  const one = (x: unknown): string => {
    if (x === null || x === undefined) return '';
    if (f.userTypeId === 'enumeration') {
      const item = f.list.find((it) => String(it.id) === String(x));
      return item ? item.value : String(x);
    }
    if (f.userTypeId === 'boolean') return x === true || x === 1 || x === '1' || x === 'Y' ? 'Yes' : 'No';
    if (typeof x === 'object') return JSON.stringify(x);
    return String(x);
  };
  return Array.isArray(v) ? v.map(one).filter(Boolean).join(', ') : one(v);
}

export function fieldTable(rows: Array<[string, string, string?]>, id: string): string {
  return `<table class="fields" id="${esc(id)}">${rows.map(([k, v, code]) =>
    `<tr${code ? ` data-field="${esc(code)}"` : ''}><th>${esc(k)}</th><td>${v ? esc(v) : '<span class="muted">—</span>'}</td></tr>`).join('')}</table>`;
}

export function dealsOfContact(portal: Portal, contactId: number): DealRec[] {
  const out: DealRec[] = [];
  for (const d of portal.deals.values()) if (d.contactIds.includes(contactId)) out.push(d);
  return out;
}

export function dealTable(portal: Portal, deals: DealRec[], uq: string): string {
  if (deals.length === 0) return '<p class="muted">No deals.</p>';
  return `<table class="grid" id="contact-deals"><thead><tr><th>ID</th><th>Deal</th><th>Stage</th><th>Amount</th><th>Close date</th></tr></thead><tbody>${
    deals.slice(-200).reverse().map((d) => `<tr><td>${d.id}</td><td><a href="${esc(link(`/crm/deal/details/${d.id}/`, uq))}">${esc(d.title)}</a></td>
    <td>${esc(stageName(portal, d))}</td><td class="num">${esc(money(d.opportunity, d.currencyId))}</td><td>${esc(d.closeDate)}</td></tr>`).join('')}</tbody></table>`;
}

export function pager(cur: number, pages: number, href: (p: number) => string): string {
  if (pages <= 1) return '';
  const items: string[] = [];
  if (cur > 1) items.push(`<a href="${esc(href(cur - 1))}" rel="prev">← Previous</a>`);
  items.push(`<span>Page ${cur} of ${pages}</span>`);
  if (cur < pages) items.push(`<a href="${esc(href(cur + 1))}" rel="next">Next →</a>`);
  return `<nav class="pager">${items.join(' ')}</nav>`;
}
