/**
 * Step: CRM statuses (the two deal funnels, sources, types, honorifics, industries, company sizes and
 * types, lead statuses) and deal categories. Sources are named in the portal's language; with
 * `refusals: 'stages'` each funnel has custom lost stages ("Lost: price", …) after its system ones.
 */
import type { StatusRec } from '../model.js';
import type { GenContext } from './context.js';
import {
  COMPANY_TYPES, CONTACT_TYPES, DEAL_TYPES, EMPLOYEES, FUNNEL0, FUNNEL1, HONORIFICS, INDUSTRY_NAMES, LEAD_STATUSES, LOST_STAGES0, LOST_STAGES1,
  SOURCE_NAMES, SOURCES,
} from './dictionaries.js';

export function addFunnels(ctx: GenContext): void {
  const { portal } = ctx;
  if (portal.statuses.length === 0) {
    const add = (entityId: string, statusId: string, name: string, sort: number, system: boolean,
      categoryId: number | null, color: string | null, semantics: 'S' | 'F' | null): void => {
      portal.statuses.push({
        id: portal.nextId('status'), entityId, statusId, name, sort, system, categoryId, color, semantics,
      } satisfies StatusRec);
    };
    const lostStages = ctx.opts.refusals === 'stages';
    [...FUNNEL0, ...(lostStages ? LOST_STAGES0 : [])].forEach((s, i) => add('DEAL_STAGE', s.id, s.name, (i + 1) * 10, s.system, 0, s.color, s.sem));
    [...FUNNEL1, ...(lostStages ? LOST_STAGES1 : [])].forEach((s, i) => add('DEAL_STAGE_1', s.id, s.name, (i + 1) * 10, s.system, 1, s.color, s.sem));
    const names = SOURCE_NAMES[portal.language.toLowerCase()] ?? {};
    SOURCES.forEach(([id, name], i) => add('SOURCE', id, names[id] ?? name, (i + 1) * 10, i < 10, null, null, null));
    CONTACT_TYPES.forEach(([id, name], i) => add('CONTACT_TYPE', id, name, (i + 1) * 10, true, null, null, null));
    DEAL_TYPES.forEach(([id, name], i) => add('DEAL_TYPE', id, name, (i + 1) * 10, true, null, null, null));
    HONORIFICS.forEach(([id, name], i) => add('HONORIFIC', id, name, (i + 1) * 10, true, null, null, null));
    INDUSTRY_NAMES.forEach(([id, name], i) => add('INDUSTRY', id, name, (i + 1) * 10, true, null, null, null));
    EMPLOYEES.forEach(([id, name], i) => add('EMPLOYEES', id, name, (i + 1) * 10, true, null, null, null));
    COMPANY_TYPES.forEach(([id, name], i) => add('COMPANY_TYPE', id, name, (i + 1) * 10, true, null, null, null));
    LEAD_STATUSES.forEach(([id, name, sem], i) => add('STATUS', id, name, (i + 1) * 10, true, null, null, sem));
  }
  if (portal.categories.length === 0) {
    portal.categories.push({ id: 0, entityTypeId: 2, name: 'General', sort: 100, isDefault: true });
    portal.categories.push({ id: 1, entityTypeId: 2, name: 'Wholesale', sort: 200, isDefault: false });
  }
}
