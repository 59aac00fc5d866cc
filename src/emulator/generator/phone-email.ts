/** Fake phone numbers and e-mail addresses in the style of a name pool (RU or EN). */
import { RU, type NamePool } from './pools.js';
import type { Rng } from './random.js';

function digits(r: Rng, n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += String(r.int(0, 9));
  return s;
}

export function phone(r: Rng, pool: NamePool): string {
  if (pool === RU) return `+7 9${digits(r, 2)} ${digits(r, 3)}-${digits(r, 2)}-${digits(r, 2)}`;
  return `+1 ${r.int(201, 989)} ${digits(r, 3)}-${digits(r, 4)}`;
}

export function email(r: Rng, name: string, last: string, id: number, pool: NamePool): string {
  const n = name.toLowerCase();
  const l = last.toLowerCase();
  const style = r.int(0, 2);
  // the contact's id in every style: two people of the same name get two addresses (the data-quality
  // check counts duplicate e-mails; only the ones the generator plants on purpose should be there)
  const local = style === 0 ? `${n}.${l}${id}` : style === 1 ? `${n[0] ?? 'x'}${l}${id}` : `${l}.${n}.${id}`;
  return `${local}@${r.pick(pool.emailDomains)}`;
}
