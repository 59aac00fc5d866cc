/**
 * Transactions table (customer_id, date, amount; other columns ignored) → validated rows and the
 * per-customer purchase days the models need. Pure: takes the CSV text, throws InputError with
 * the line number on bad input.
 */
import { CsvError, parseCsv } from './csv.js';
import { tryParseIsoDay, type DayNumber } from './dates.js';
import type { CustomerInput } from './types.js';

export class InputError extends Error {}

export interface Transaction {
  customerId: string;
  day: DayNumber;
  amount: number;
}

const REQUIRED = ['customer_id', 'date', 'amount'] as const;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function parseTransactions(text: string, fileName = 'input'): Transaction[] {
  let records;
  try {
    records = parseCsv(text);
  } catch (e) {
    if (e instanceof CsvError) throw new InputError(`${fileName} line ${e.line}: ${e.message}`);
    throw e;
  }
  const header = records[0];
  if (!header) throw new InputError(`${fileName}: the file is empty (expected a header with ${REQUIRED.join(',')})`);
  const names = header.fields.map((h) => h.trim().toLowerCase());
  const col: Record<(typeof REQUIRED)[number], number> = { customer_id: -1, date: -1, amount: -1 };
  for (const name of REQUIRED) {
    col[name] = names.indexOf(name);
    if (col[name] < 0) throw new InputError(`${fileName} line ${header.line}: missing column "${name}" (header: ${header.fields.join(',')})`);
  }
  if (records.length < 2) throw new InputError(`${fileName}: no transactions after the header`);
  const out: Transaction[] = [];
  for (let i = 1; i < records.length; i++) {
    const rec = records[i]!;
    if (rec.fields.length !== header.fields.length) {
      throw new InputError(`${fileName} line ${rec.line}: ${rec.fields.length} fields, the header has ${header.fields.length}`);
    }
    const customerId = rec.fields[col.customer_id]!.trim();
    if (customerId === '') throw new InputError(`${fileName} line ${rec.line}: empty customer_id`);
    const dateText = rec.fields[col.date]!.trim();
    const day = tryParseIsoDay(dateText);
    if (day === null) throw new InputError(`${fileName} line ${rec.line}: bad date "${dateText}" (expected YYYY-MM-DD)`);
    const amountText = rec.fields[col.amount]!.trim();
    const amount = NUMBER.test(amountText) ? Number(amountText) : NaN;
    if (!Number.isFinite(amount)) throw new InputError(`${fileName} line ${rec.line}: amount "${amountText}" is not a number`);
    out.push({ customerId, day, amount });
  }
  return out;
}

/** Group transactions up to `untilDay` into customer inputs (first-appearance order). */
export function customersFromTransactions(rows: readonly Transaction[], untilDay: DayNumber): CustomerInput[] {
  const map = new Map<string, { id: string; won: { date: number; amount: number }[] }>();
  for (const t of rows) {
    if (t.day > untilDay) continue;
    let c = map.get(t.customerId);
    if (!c) map.set(t.customerId, (c = { id: t.customerId, won: [] }));
    c.won.push({ date: t.day, amount: t.amount });
  }
  return [...map.values()];
}
