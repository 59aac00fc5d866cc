/**
 * The simulated deal events (one per future deal) as columns of typed arrays: millions of deals
 * fit without an object per event.
 */
export class EventLog {
  count = 0;
  /** Contact index (0-based, creation order). */
  contact = new Int32Array(0);
  /** Moment the deal closes (won/lost) or was created (open). */
  time = new Float64Array(0);
  /** EV_WON / EV_LOST / EV_OPEN. */
  kind = new Uint8Array(0);
  /** Deal category: 0 general, 1 wholesale. */
  funnel = new Uint8Array(0);
  /** Uniform draw for the lead time between creation and close. */
  lead = new Float64Array(0);
  /** 1 for the contact's first deal (its source is the contact's), else 0 (a repeat sale). */
  first = new Uint8Array(0);
  /** Creation moments, filled by deal-order.ts. */
  create = new Float64Array(0);
  /** Event indexes in creation order (the order deal IDs are given), filled by deal-order.ts. */
  order: Uint32Array = new Uint32Array(0);

  /** Allocates room for exactly `n` events (the count a dry run predicted). */
  reserve(n: number): void {
    this.contact = new Int32Array(n);
    this.time = new Float64Array(n);
    this.kind = new Uint8Array(n);
    this.funnel = new Uint8Array(n);
    this.lead = new Float64Array(n);
    this.first = new Uint8Array(n);
  }

  push(i: number, t: number, kind: number, funnel: number, ul: number, first: number): void {
    if (this.count >= this.contact.length) this.grow(Math.max(1024, this.contact.length * 2));
    const e = this.count;
    this.contact[e] = i;
    this.time[e] = t;
    this.kind[e] = kind;
    this.funnel[e] = funnel;
    this.lead[e] = ul;
    this.first[e] = first;
    this.count++;
  }

  private grow(cap: number): void {
    const grow = <T extends Int32Array | Float64Array | Uint8Array>(a: T, make: (n: number) => T): T => { const b = make(cap); b.set(a); return b; };
    this.contact = grow(this.contact, (n) => new Int32Array(n));
    this.time = grow(this.time, (n) => new Float64Array(n));
    this.kind = grow(this.kind, (n) => new Uint8Array(n));
    this.funnel = grow(this.funnel, (n) => new Uint8Array(n));
    this.lead = grow(this.lead, (n) => new Float64Array(n));
    this.first = grow(this.first, (n) => new Uint8Array(n));
  }
}
