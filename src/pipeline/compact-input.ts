/**
 * A portal's scoring input held in columns (typed arrays, interned strings) instead of one object
 * per customer and deal: ~30 bytes per deal instead of ~500 (issue 16 item 5: 1M contacts / 4M
 * deals under 1 GB). It is iterable as many times as a run needs (the scoring, the backtest, the
 * data-quality counterfactuals), and each pass rebuilds the customers one at a time, equal field
 * for field and in the same order to what was packed, so every result is the same as from the
 * array of objects; each customer's objects live only as long as its consumer keeps them.
 *
 * Strings (dates, reasons, stage ids) are interned: a portal has a few thousand distinct days and a
 * handful of reasons, so the packed form keeps one copy of each. Numbers are stored as Float64
 * (ids, amounts, section ids: exact for every JS number) or Int32 (indexes, counts).
 */
import type { CustomerInput, DayInput, LostDeal, WonDeal } from '../scoring/index.js';

/** A Float64 or Int32 column that grows by doubling. */
class Column<T extends Float64Array | Int32Array> {
  length = 0;
  constructor(public data: T, private readonly make: (n: number) => T) {}
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = this.make(Math.max(1024, this.data.length * 2));
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  /** Drops the spare capacity (the input is complete). */
  trim(): void {
    this.data = this.data.slice(0, this.length) as T;
  }
}

const f64 = () => new Column(new Float64Array(0), (n) => new Float64Array(n));
const i32 = () => new Column(new Int32Array(0), (n) => new Int32Array(n));

/** Interned values; index -1 is `undefined`, -2 is `null`. */
class Strings {
  private readonly index = new Map<string | number, number>();
  readonly values: (string | number)[] = [];
  of(v: DayInput | null | undefined): number {
    if (v === undefined) return -1;
    if (v === null) return -2;
    let k = this.index.get(v);
    if (k === undefined) {
      k = this.values.length;
      this.values.push(v);
      this.index.set(v, k);
    }
    return k;
  }
  at(k: number): string | number | null | undefined {
    return k === -1 ? undefined : k === -2 ? null : this.values[k];
  }
}

export class CompactInput implements Iterable<CustomerInput> {
  private readonly strings = new Strings();
  // per customer: id, createdAt, open deals, where its won and lost deals start
  private readonly ids = f64();
  private readonly created = i32();
  private readonly open = i32();
  private readonly wonStart = i32();
  private readonly lostStart = i32();
  // per won deal: id (NaN: none), date, amount, where its section ids start
  private readonly wonId = f64();
  private readonly wonDate = i32();
  private readonly wonAmount = f64();
  private readonly secStart = i32();
  private readonly sections = f64();
  // per lost deal: date, reason id, reason
  private readonly lostDate = i32();
  private readonly lostReasonId = i32();
  private readonly lostReason = i32();
  private readonly kind: CustomerInput['kind'];

  constructor(kind: CustomerInput['kind']) {
    this.kind = kind;
  }

  get length(): number {
    return this.ids.length;
  }

  /** Appends a customer (an id that is an integer string; the other fields as scoringInputOf builds them). */
  push(c: CustomerInput): void {
    const id = Number(c.id);
    if (String(id) !== c.id || c.kind !== this.kind) throw new Error(`CompactInput: customer ${c.id} (${c.kind}) cannot be packed`);
    this.ids.push(id);
    this.created.push(this.strings.of(c.createdAt));
    this.open.push(c.openDeals ?? 0);
    this.wonStart.push(this.wonId.length);
    this.lostStart.push(this.lostDate.length);
    for (const d of c.won) {
      this.wonId.push(d.id === undefined ? Number.NaN : d.id);
      this.wonDate.push(this.strings.of(d.date));
      this.wonAmount.push(d.amount);
      this.secStart.push(this.sections.length);
      for (const s of d.sectionIds ?? []) this.sections.push(s);
    }
    for (const d of c.lost ?? []) {
      this.lostDate.push(this.strings.of(d.date));
      this.lostReasonId.push(this.strings.of(d.reasonId));
      this.lostReason.push(this.strings.of(d.reason));
    }
  }

  /** The input is complete: spare capacity is given back. */
  done(): this {
    for (const c of [this.ids, this.created, this.open, this.wonStart, this.lostStart, this.wonId, this.wonDate, this.wonAmount,
      this.secStart, this.sections, this.lostDate, this.lostReasonId, this.lostReason]) c.trim();
    return this;
  }

  /** Frees the columns (the run is done with its input); the input is empty afterwards. */
  clear(): void {
    for (const c of [this.ids, this.created, this.open, this.wonStart, this.lostStart, this.wonId, this.wonDate, this.wonAmount,
      this.secStart, this.sections, this.lostDate, this.lostReasonId, this.lostReason]) {
      c.length = 0;
      c.data = c.data.slice(0, 0) as typeof c.data;
    }
  }

  *[Symbol.iterator](): Iterator<CustomerInput> {
    const n = this.ids.length;
    for (let i = 0; i < n; i++) yield this.at(i);
  }

  /** Customer i, rebuilt with the fields and key order scoringInputOf gives them. */
  private at(i: number): CustomerInput {
    const s = this.strings;
    const wonEnd = i + 1 < this.ids.length ? this.wonStart.data[i + 1]! : this.wonId.length;
    const lostEnd = i + 1 < this.ids.length ? this.lostStart.data[i + 1]! : this.lostDate.length;
    const won: WonDeal[] = [];
    for (let k = this.wonStart.data[i]!; k < wonEnd; k++) {
      const secEnd = k + 1 < this.wonId.length ? this.secStart.data[k + 1]! : this.sections.length;
      const id = this.wonId.data[k]!;
      won.push({
        id: Number.isNaN(id) ? undefined : id, date: s.at(this.wonDate.data[k]!) as DayInput, amount: this.wonAmount.data[k]!,
        sectionIds: Array.from(this.sections.data.subarray(this.secStart.data[k]!, secEnd)),
      });
    }
    const lost: LostDeal[] = [];
    for (let k = this.lostStart.data[i]!; k < lostEnd; k++) {
      lost.push({
        date: s.at(this.lostDate.data[k]!) as DayInput | undefined,
        reasonId: s.at(this.lostReasonId.data[k]!) as string | null | undefined,
        reason: s.at(this.lostReason.data[k]!) as string | null | undefined,
      });
    }
    return {
      id: String(this.ids.data[i]!), kind: this.kind, createdAt: s.at(this.created.data[i]!) as DayInput | null | undefined,
      won, lost, openDeals: this.open.data[i]!,
    };
  }
}
