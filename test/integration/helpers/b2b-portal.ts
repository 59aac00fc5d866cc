/**
 * A B2B emulator portal (generator profile 'b2b': deals tied to companies, several contacts per
 * company, industries, sizes) mirrored into a test store as a complete sync would leave it: the
 * contacts' company and responsible, the companies' size (EMPLOYEES) next to the mirror's own
 * company columns. Scoring is the caller's (runScoring with { b2b: true }).
 */
import { generatePortal } from '../../../src/emulator/generator.js';
import { Portal as EmuPortal } from '../../../src/emulator/portal.js';
import { upsertPortalOnInstall, type Db } from '../../../src/store/index.js';
import { mirrorEmulatorPortal } from '../../helpers/emulator-mirror.js';

export interface B2bPortal {
  emu: EmuPortal;
  portalId: number;
  memberId: string;
}

export async function mirroredB2bPortal(db: Db, o: { contacts: number; seed: number; years?: number; domain: string }): Promise<B2bPortal> {
  const emu = new EmuPortal({ language: 'en' });
  generatePortal(emu, { contacts: o.contacts, seed: o.seed, years: o.years ?? 3, profile: 'b2b' });
  const portalId = (await upsertPortalOnInstall(db, { memberId: emu.memberId, domain: o.domain, clientEndpoint: `https://${o.domain}/rest/`, status: 'active' })).id;
  await mirrorEmulatorPortal(emu, db, portalId);
  const cs = [...emu.contacts.values()];
  await db.query(
    `UPDATE contacts c SET company_id = u.co, assigned_by_id = u.resp, post = u.post, birthdate = u.bd::date
       FROM unnest($2::bigint[], $3::bigint[], $4::bigint[], $5::text[], $6::text[]) AS u(id, co, resp, post, bd)
      WHERE c.portal_id = $1 AND c.id = u.id`,
    [portalId, cs.map((c) => c.id), cs.map((c) => c.companyId), cs.map((c) => c.assignedById), cs.map((c) => c.post ?? null), cs.map((c) => c.birthdate?.slice(0, 10) || null)],
  );
  const cos = [...emu.companies.values()];
  await db.query(
    `UPDATE companies co SET employees = u.emp FROM unnest($2::bigint[], $3::text[]) AS u(id, emp) WHERE co.portal_id = $1 AND co.id = u.id`,
    [portalId, cos.map((c) => c.id), cos.map((c) => (c.extra?.EMPLOYEES as string | undefined) ?? null)],
  );
  return { emu, portalId, memberId: emu.memberId };
}
