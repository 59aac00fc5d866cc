/**
 * CSV export against formula injection, over real HTTP against the real app on PGlite and
 * PostgreSQL: a cell whose text starts with = + - @ (also full-width), after any leading
 * whitespace (space, tab, CR, LF, no-break and other Unicode spaces), or with a tab / CR, is
 * prefixed with ' ; an exact negative number stays as it is; ordinary text is untouched.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eachDb } from '../helpers/db.js';
import { seedPortal, startUiServer, type UiTestServer } from './helpers/ui-server.js';

/** RFC 4180 records (quoted cells may hold CR, LF, commas and doubled quotes). */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let q = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (q) {
      if (ch === '"' && text[i + 1] === '"') { cell += '"'; i++; } else if (ch === '"') q = false; else cell += ch;
    } else if (ch === '"' && cell === '') q = true;
    else if (ch === ',') { row.push(cell); cell = ''; }
    else if (ch === '\r' && text[i + 1] === '\n') { row.push(cell); out.push(row); row = []; cell = ''; i++; }
    else cell += ch;
  }
  if (cell !== '' || row.length) { row.push(cell); out.push(row); }
  return out;
}

/** city value → the cell the export must write for it */
const CASES: Array<[string, string]> = [
  [' =1+1', "' =1+1"],
  ['   +SUM(A1:A9)', "'   +SUM(A1:A9)"],
  ['\t=1+1', "'\t=1+1"],
  ['\r=1+1', "'\r=1+1"],
  ['\n=1+1', "'\n=1+1"],
  ['\r\n@SUM(1)', "'\r\n@SUM(1)"],
  ['\u00A0=HYPERLINK("http://evil.test","x")', '\'\u00A0=HYPERLINK("http://evil.test","x")'],
  ['\u2003\u200B-2+3', "'\u2003\u200B-2+3"],
  ['\u3000@cmd', "'\u3000@cmd"],
  ['\uFF1D1+1', "'\uFF1D1+1"],
  ['=cmd|"/c calc"!A1', '\'=cmd|"/c calc"!A1'],
  ['-2+3', "'-2+3"],
  [' -5', "' -5"],
  ['\tBerlin', "'\tBerlin"],
  ['-5', '-5'],
  ['-12.75', '-12.75'],
  ['Berlin', 'Berlin'],
  ['Kyiv; Lviv', 'Kyiv; Lviv'],
  ['a=b+c', 'a=b+c'],
];

eachDb('ui api csv export', (getDb) => {
  let srv: UiTestServer;
  let session = '';
  let portalId = 0;
  let memberId = '';

  beforeAll(async () => {
    const p = await seedPortal(
      getDb(),
      'member-csv-0001',
      CASES.map(([city], i) => ({ id: i + 1, name: i === 0 ? '@admin' : `N${i + 1}`, lastName: 'L', city })),
      CASES.map((_, i) => ({ contactId: i + 1, segment: 'lost', monetary: i === 1 ? -12.5 : 100 + i, clv: i === 1 ? -3 : 10, pAlive: 0.5 })),
    );
    srv = await startUiServer(getDb());
    session = srv.session(p.portalId, p.memberId, { admin: true });
    ({ portalId, memberId } = p);
  });
  afterAll(async () => {
    await srv?.close();
  });

  it('formula starts are neutralised after any leading whitespace; exact negative numbers stay readable', async () => {
    const r = await srv.call('POST', '/api/ui/segments/export', { session, body: { filter: { all: [] } } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    // (fetch's text() drops the UTF-8 BOM the server writes first)
    const [head, ...rows] = parseCsv(r.text.replace(/^\uFEFF/, ''));
    // every column (none named): the contact ID, then the screen's columns in their order
    expect(head).toEqual(['ID', 'Name', 'Segment', 'Sleeping (overdue)', 'RFM', 'Revenue', 'Predicted value', 'Chance still buying, %', 'Last purchase',
      'Lifecycle', 'Responsible', 'City', 'Phone', 'E-mail', 'Source', 'Purchase days', 'Days since last purchase', 'Expected next purchase',
      'Interests', 'Reachable']);
    expect(rows.length).toBe(CASES.length);
    const col = (name: string) => head!.indexOf(name);
    const byId = new Map(rows.map((row) => [Number(row[0]), row]));
    for (const [i, [city, cell]] of CASES.entries()) {
      expect(byId.get(i + 1)![col('City')], JSON.stringify(city)).toBe(cell);
    }
    expect(byId.get(1)![col('Name')]).toBe("'@admin L");
    // our own numeric columns: negative amounts are written as numbers
    expect(byId.get(2)![col('Revenue')]).toBe('-12.5');
    expect(byId.get(2)![col('Predicted value')]).toBe('-3');
    expect(byId.get(3)![col('Revenue')]).toBe('102');
    // in German: cells separated by ';', decimal commas, and a negative amount stays a number
    const de = srv.session(portalId, memberId, { admin: true, lang: 'de' });
    const d = await srv.call('POST', '/api/ui/segments/export', { session: de, body: { filter: { all: [] }, columns: ['city', 'monetary'] } });
    const [dhead, ...drows] = d.text.replace(/^\uFEFF/, '').split('\r\n').filter(Boolean).map((l) => l.split(';'));
    expect(dhead).toEqual(['ID', 'Stadt', 'Umsatz']);
    expect(drows.find((r) => r[0] === '2')![2]).toBe('-12,5');
    // no cell of the file starts a formula, after whitespace or not, unless it is an exact negative number
    for (const row of rows) {
      for (const c of row) {
        if (/^-\d+(\.\d+)?$/.test(c)) continue;
        expect(/^[\s\u00A0\u2000-\u200F\u3000]*[=+\-@\uFF1D]/.test(c) || /^[\t\r\n]/.test(c), JSON.stringify(c)).toBe(false);
      }
    }
  });
});
