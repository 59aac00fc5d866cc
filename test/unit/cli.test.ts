import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CDNOW_DIR } from '../helpers/cdnow.js';

const ROOT = join(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'src', 'scoring', 'cli.ts');
const CDNOW = join(CDNOW_DIR, 'cdnow_sample_transactions.csv');
const dir = mkdtempSync(join(tmpdir(), 'scoring-cli-'));

function cli(...args: string[]) {
  // node with tsx's loader: one process (the tsx binary starts a second node)
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', cwd: ROOT });
  return { code: r.status, out: r.stdout, err: r.stderr };
}
function fixture(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

describe('cli fit', () => {
  it('prints the published CDNOW parameters as one JSON line (weeks)', () => {
    const r = cli('fit', '--transactions', CDNOW, '--until', '1997-09-30', '--unit', 'week');
    expect(r.code).toBe(0);
    const lines = r.out.trim().split('\n');
    expect(lines).toHaveLength(1);
    const j = JSON.parse(lines[0]!);
    expect(Object.keys(j)).toEqual(['customers', 'bgnbd', 'gammagamma']);
    expect(j.customers).toBe(2357);
    // Fader, Hardie & Lee (2005) Marketing Science 24(2) §4: r=0.243, α=4.414, a=0.793, b=2.426, LL=−9582.4
    expect(j.bgnbd.r).toBeCloseTo(0.243, 2);
    expect(Math.abs(j.bgnbd.alpha - 4.414) / 4.414).toBeLessThan(0.005);
    expect(Math.abs(j.bgnbd.a - 0.793) / 0.793).toBeLessThan(0.005);
    expect(Math.abs(j.bgnbd.b - 2.426) / 2.426).toBeLessThan(0.005);
    expect(Math.abs(j.bgnbd.ll - -9582.4)).toBeLessThan(0.1);
    // Fader, Hardie & Lee (2005) JMR 42(4) / Fader & Hardie (2013) note 025: p=6.25, q=3.74, γ=15.44
    expect(Math.abs(j.gammagamma.p - 6.25) / 6.25).toBeLessThan(0.005);
    expect(Math.abs(j.gammagamma.q - 3.74) / 3.74).toBeLessThan(0.005);
    expect(Math.abs(j.gammagamma.gamma - 15.44) / 15.44).toBeLessThan(0.005);
    expect(j.gammagamma.ll).toBeLessThan(0);
  });
  it('days and weeks give the same model up to the time scale of α', () => {
    const w = JSON.parse(cli('fit', '--transactions', CDNOW, '--until', '1997-09-30', '--unit', 'week').out);
    const d = JSON.parse(cli('fit', '--transactions', CDNOW, '--until', '1997-09-30').out);
    expect(d.bgnbd.r).toBeCloseTo(w.bgnbd.r, 3);
    expect(d.bgnbd.alpha / 7).toBeCloseTo(w.bgnbd.alpha, 2);
  });
  it('uses only transactions up to --until, with quoted fields, CRLF and extra columns', () => {
    const f = fixture(
      'small.csv',
      'note,customer_id,date,amount\r\n"a, quoted",1,2024-01-01,10\r\nx,1,2024-01-01,5\r\nx,1,2024-02-01,7\r\nx,2,2024-01-15,3\r\nx,"2",2024-03-01,4\r\nx,3,2024-05-01,9\r\n',
    );
    const r = cli('fit', '--transactions', f, '--until', '2024-03-31');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).customers).toBe(2); // customer 3 buys after --until
  });
});

describe('cli score', () => {
  const small = () =>
    fixture(
      'score.csv',
      ['customer_id,date,amount', 'a,2024-06-01,100', 'a,2024-05-01,100', 'a,2024-04-01,100', 'b,2023-01-01,50', 'c,2024-06-29,10', 'c,2024-06-29,-10', 'd,2024-07-05,10'].join('\n'),
    );
  it('prints csv with the documented header, one row per customer up to --as-of', () => {
    const r = cli('score', '--transactions', small(), '--as-of', '2024-06-30', '--scale', '3');
    expect(r.code).toBe(0);
    const [header, ...rows] = r.out.trim().split('\n');
    expect(header).toBe('customer_id,recency_days,frequency,monetary,r,f,m,rfm,segment,lifecycle,sleeping,expected_next_purchase,p_alive,expected_purchases,predicted_clv,purchases_low,purchases_high,clv_low,clv_high');
    expect(rows).toHaveLength(3); // d only buys after as-of
    const a = rows.find((l) => l.startsWith('a,'))!.split(',');
    expect(a.slice(1, 4)).toEqual(['29', '3', '300']);
    expect(a[7]).toMatch(/^[ABC]{3}$/);
    expect(a[9]).toBe('regular');
    expect(a[10]).toBe('false');
    expect(a[11]).toBe('2024-07-02'); // gaps 30 and 31 days: median 30.5 → 31 days after 2024-06-01
    const c = rows.find((l) => l.startsWith('c,'))!.split(',');
    expect(c[8]).toBe('no_purchases'); // refunded day
    expect(c.slice(15)).toEqual(['', '', '', '']); // no purchase, no range
    const [pl, ph, cl, ch] = a.slice(15).map(Number);
    expect(pl! <= ph! && cl! <= ch!).toBe(true);
  });
  it('prints a JSON array with --format json', () => {
    const r = cli('score', '--transactions', small(), '--as-of', '2024-06-30', '--format', 'json', '--horizon-days', '90');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out);
    expect(Array.isArray(rows)).toBe(true);
    expect(rows.map((x: { customer_id: string }) => x.customer_id).sort()).toEqual(['a', 'b', 'c']);
    expect(rows.find((x: { customer_id: string }) => x.customer_id === 'b').lifecycle).toBe('one_time');
  });
  it('scores the CDNOW sample with fitted models', () => {
    const r = cli('score', '--transactions', CDNOW, '--as-of', '1997-09-30', '--format', 'json');
    expect(r.code).toBe(0);
    const rows = JSON.parse(r.out);
    expect(rows).toHaveLength(2357);
    expect(r.err).not.toMatch(/BG\/NBD/); // no fallback warning: the models were fitted
    const one = rows.find((x: { customer_id: string }) => x.customer_id === '1');
    expect(one.p_alive).toBeGreaterThan(0);
    expect(one.p_alive).toBeLessThan(1);
  });
});

describe('cli bad input exits 2 with a clear message', () => {
  const cases: [string, string, RegExp][] = [
    ['missing column', 'customer_id,date\n1,2024-01-01\n', /line 1: missing column "amount"/],
    ['bad date', 'customer_id,date,amount\n1,2024-01-01,5\n1,2024-13-01,5\n', /line 3: bad date "2024-13-01"/],
    ['amount not a number', 'customer_id,date,amount\n1,2024-01-01,5\n2,2024-01-02,12abc\n', /line 3: amount "12abc" is not a number/],
    ['empty file', '', /empty/],
    ['header only', 'customer_id,date,amount\n', /no transactions/],
    ['wrong field count', 'customer_id,date,amount\n1,2024-01-01\n', /line 2: 2 fields/],
    ['unterminated quote', 'customer_id,date,amount\n"1,2024-01-01,5\n', /line 2: unterminated/],
  ];
  it.each(cases)('%s', (_name, text, message) => {
    const f = fixture(`bad-${_name.replace(/\W/g, '_')}.csv`, text);
    const r = cli('score', '--transactions', f, '--as-of', '2024-06-30');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.out).toBe('');
  });
  it.each([
    ['unknown flag', ['fit', '--transactions', CDNOW, '--until', '1997-09-30', '--bogus', '1'], /unknown flag --bogus/],
    ['missing required flag', ['fit', '--transactions', CDNOW], /missing required flag --until/],
    ['bad --until', ['fit', '--transactions', CDNOW, '--until', '1997-9-30'], /not a date/],
    ['bad --unit', ['fit', '--transactions', CDNOW, '--until', '1997-09-30', '--unit', 'month'], /--unit/],
    ['bad --scale', ['score', '--transactions', CDNOW, '--as-of', '1997-09-30', '--scale', '4'], /--scale/],
    ['unknown command', ['explode'], /unknown command/],
    ['missing file', ['fit', '--transactions', join(dir, 'nope.csv'), '--until', '1997-09-30'], /cannot read/],
  ])('%s', (_name, args, message) => {
    const r = cli(...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });
});
