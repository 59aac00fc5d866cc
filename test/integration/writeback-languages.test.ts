/**
 * Our CRM enumeration items speak the portal's language (issue 14 item 8): the app is installed
 * (the real install callback) on emulated German, Polish and Ukrainian portals, and the segment and
 * lifecycle items read back from each portal (crm.contact.userfield.list) carry that language's
 * names, the field labels their lang maps; a Ukrainian portal gets Ukrainian, not Russian, words.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generatePortal } from '../../src/emulator/generator.js';
import { Portal } from '../../src/emulator/portal.js';
import { PortalClock } from '../../src/emulator/clock.js';
import { startEmulator, type RunningEmulator } from '../../src/emulator/server.js';
import { createTokenCipher, setTokenCipher } from '../../src/store/index.js';
import { LIFECYCLE_CODES, SEGMENT_CODES } from '../../src/scoring/index.js';
import { eachDb } from '../helpers/db.js';
import { installCallback, startTestApp, type TestApp } from './server-harness.js';

setTokenCipher(createTokenCipher(randomBytes(32)));

/** What a person of each language reads on the CRM's filter: the names, written out here, not taken from the code. */
const WANT: Record<'de' | 'pl' | 'ua', { segments: Record<string, string>; lifecycles: Record<string, string>; segmentLabel: string }> = {
  de: {
    segments: { loyal: 'Treue Kunden', at_risk: 'Gefährdet', hibernating: 'Lange ohne Kauf', no_purchases: 'Keine Käufe', new: 'Neu' },
    lifecycles: { one_time: 'Einmalkäufer', regular: 'Stammkunde', refused: 'Abgelehnt' },
    segmentLabel: 'Segment',
  },
  pl: {
    segments: { champions: 'Mistrzowie', loyal: 'Lojalni', at_risk: 'Zagrożeni', lost: 'Utraceni', hibernating: 'Dawno bez zakupów' },
    lifecycles: { one_time: 'Jednorazowy', returning: 'Powracający', in_negotiation: 'W negocjacjach' },
    segmentLabel: 'Segment',
  },
  ua: {
    segments: { champions: 'Чемпіони', loyal: 'Лояльні', lost: 'Втрачені', cant_lose: 'Не можна втратити', no_purchases: 'Без покупок' },
    lifecycles: { one_time: 'Разовий покупець', uninterested: 'Не зацікавлений', refused: 'Відмовився' },
    segmentLabel: 'Сегмент',
  },
};

interface UfRow { FIELD_NAME: string; LIST?: Array<{ XML_ID: string; VALUE: string }>; LIST_FILTER_LABEL?: Record<string, string> | string }

eachDb('our CRM enumeration items in the portal\'s language', (getDb) => {
  const emus: RunningEmulator[] = [];
  let t: TestApp;

  beforeAll(async () => {
    for (const language of ['de', 'pl', 'ua']) {
      const portal = new Portal({ language, clock: new PortalClock(Date.now(), 1) });
      generatePortal(portal, { contacts: 10, seed: 3 });
      emus.push(await startEmulator({ port: 0, portal, hostPage: false, log: () => {} }));
    }
    t = await startTestApp(getDb(), { accept: emus });
  }, 60_000);
  afterAll(async () => {
    await t?.app.close();
    for (const e of emus) await e.close();
  });

  it('after install, the segment and lifecycle items read back from de / pl / ua portals are in that language', async () => {
    for (const emu of emus) {
      const lang = emu.portal.language as 'de' | 'pl' | 'ua';
      const inst = await installCallback(emu, t);
      expect(inst.status, lang).toBe(200);
      const rows = (await fetch(`${emu.url}_emulator/call/crm.contact.userfield.list`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ filter: { LANG: lang } }),
      }).then((r) => r.json()) as { result: UfRow[] }).result;
      const items = (name: string) => new Map((rows.find((r) => r.FIELD_NAME === name)?.LIST ?? []).map((i) => [i.XML_ID, i.VALUE]));
      const seg = items('UF_CRM_SEG_SEGMENT');
      const lc = items('UF_CRM_SEG_LIFECYCLE');
      expect([...seg.keys()].sort(), lang).toEqual([...SEGMENT_CODES].sort());
      expect([...lc.keys()].sort(), lang).toEqual([...LIFECYCLE_CODES].sort());
      for (const [code, name] of Object.entries(WANT[lang].segments)) expect(seg.get(code), `${lang} ${code}`).toBe(name);
      for (const [code, name] of Object.entries(WANT[lang].lifecycles)) expect(lc.get(code), `${lang} ${code}`).toBe(name);
      const label = rows.find((r) => r.FIELD_NAME === 'UF_CRM_SEG_SEGMENT')!.LIST_FILTER_LABEL;
      expect(typeof label === 'string' ? label : label?.[lang], lang).toBe(WANT[lang].segmentLabel);
      // every item is a real word of the language: no English copies left (German shares 'Champions')
      const english = new Set(['Loyal', 'At risk', 'Lost', 'New', 'Hibernating', 'Promising', 'Regular', 'Returning', 'Refused', 'One-time buyer']);
      for (const v of [...seg.values(), ...lc.values()]) expect(english.has(v), `${lang}: ${v}`).toBe(false);
    }
    // Ukrainian, not Russian
    const ua = emus.find((e) => e.portal.language === 'ua')!;
    const values = [...ua.portal.userFields.values()].filter((f) => f.fieldName === 'UF_CRM_SEG_SEGMENT').flatMap((f) => f.list.map((i) => i.value));
    expect(values).not.toContain('Чемпионы');
    expect(values).toContain('Чемпіони');
  });
});
