/**
 * After "remove the app's fields" a reinstall is the admin setting the app up again: install
 * creates every field anew and turns the write-back back on (settings.fields.removed false), so
 * the banner does not claim fields are missing that exist. Through the real install callback of
 * an emulated portal; the fields are read back from the emulator.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadManifest } from '../../manifest/index.js';
import { getPortalByMemberId } from '../../src/store/index.js';
import { readSection } from '../../src/settings/index.js';
import { removeAppFields } from '../../src/writeback/remove-fields.js';
import type { RunningEmulator } from '../../src/emulator/server.js';
import { eachDb } from '../helpers/db.js';
import { admin, installCallback, startPortal, startTestApp, type TestApp } from './server-harness.js';

const perEntity = (e: 'contact' | 'company') => loadManifest().fields.fields.filter((f) => !f.entities || f.entities.includes(e)).length;

eachDb('reinstall after the fields were removed', (getDb) => {
  let emu: RunningEmulator;
  let t: TestApp;
  beforeAll(async () => {
    emu = await startPortal({ contacts: 20, seed: 5, timeScale: 100 });
    t = await startTestApp(getDb(), { accept: [emu] });
  });
  afterAll(async () => {
    await t?.app.close();
    await emu?.close();
  });
  const ours = (entityId: string) => [...emu.portal.userFields.values()].filter((f) => f.entityId === entityId && f.fieldName.startsWith('UF_CRM_SEG_')).length;
  const removed = async () => readSection((await getPortalByMemberId(getDb(), emu.portal.memberId))!.settings, 'fields').value.removed;

  it('install creates the fields again and clears the flag', async () => {
    const inst = await installCallback(emu, t);
    expect(inst.status).toBe(200);
    const portal = (await getPortalByMemberId(getDb(), inst.memberId))!;
    expect(ours('CRM_CONTACT')).toBe(perEntity('contact'));
    const out = await removeAppFields(t.app.deps.clientFor(portal.id), getDb(), portal.id);
    expect(out.deleted).toHaveLength(perEntity('contact') + perEntity('company'));
    expect([ours('CRM_CONTACT'), ours('CRM_COMPANY'), await removed()]).toEqual([0, 0, true]);
    expect((await admin(emu).post(`apps/${t.clientId}/uninstall`, { clean: false })).status).toBe(200);
    expect((await getPortalByMemberId(getDb(), inst.memberId))!.status).toBe('uninstalled');
    expect(await removed()).toBe(true);
    const again = await installCallback(emu, t);
    expect(again.status).toBe(200);
    expect([ours('CRM_CONTACT'), ours('CRM_COMPANY'), await removed()]).toEqual([perEntity('contact'), perEntity('company'), false]);
  });
});
