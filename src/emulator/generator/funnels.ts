/** Step: CRM statuses (the two deal funnels, sources, types, honorifics, industries, company sizes and types) and deal categories. */
import type { StatusRec } from '../model.js';
import type { GenContext } from './context.js';
import { COMPANY_TYPES, CONTACT_TYPES, DEAL_TYPES, EMPLOYEES, FUNNEL0, FUNNEL1, HONORIFICS, INDUSTRY_NAMES, SOURCES } from './dictionaries.js';

export function addFunnels(ctx: GenContext): void {
  const { portal } = ctx;
  if (portal.statuses.length === 0) {
    const add = (entityId: string, statusId: string, name: string, sort: number, system: boolean,
      categoryId: number | null, color: string | null, semantics: 'S' | 'F' | null): void => {
      portal.statuses.push({
        id: portal.nextId('status'), entityId, statusId, name, sort, system, categoryId, color, semantics,
      } satisfies StatusRec);
    };
    FUNNEL0.forEach((s, i) => add('DEAL_STAGE', s.id, s.name, (i + 1) * 10, s.system, 0, s.color, s.sem));
    FUNNEL1.forEach((s, i) => add('DEAL_STAGE_1', s.id, s.name, (i + 1) * 10, s.system, 1, s.color, s.sem));
    SOURCES.forEach(([id, name], i) => add('SOURCE', id, name, (i + 1) * 10, i < 10, null, null, null));
    CONTACT_TYPES.forEach(([id, name], i) => add('CONTACT_TYPE', id, name, (i + 1) * 10, true, null, null, null));
    DEAL_TYPES.forEach(([id, name], i) => add('DEAL_TYPE', id, name, (i + 1) * 10, true, null, null, null));
    HONORIFICS.forEach(([id, name], i) => add('HONORIFIC', id, name, (i + 1) * 10, true, null, null, null));
    INDUSTRY_NAMES.forEach(([id, name], i) => add('INDUSTRY', id, name, (i + 1) * 10, true, null, null, null));
    EMPLOYEES.forEach(([id, name], i) => add('EMPLOYEES', id, name, (i + 1) * 10, true, null, null, null));
    COMPANY_TYPES.forEach(([id, name], i) => add('COMPANY_TYPE', id, name, (i + 1) * 10, true, null, null, null));
  }
  if (portal.categories.length === 0) {
    portal.categories.push({ id: 0, entityTypeId: 2, name: 'General', sort: 100, isDefault: true });
    portal.categories.push({ id: 1, entityTypeId: 2, name: 'Wholesale', sort: 200, isDefault: false });
  }
}
