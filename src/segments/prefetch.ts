/**
 * What a compile looks up before the live count runs (dict-search.ts, company-sets.ts): each lookup
 * is noted by id (`wanted`) and compiled as the value `found` for it when there is one, else as SQL
 * that looks it up inside the count. The caller resolves the `unresolved` ones and compiles again.
 */
export class Prefetch<W, F> {
  readonly wanted = new Map<string, W>();
  constructor(readonly found?: ReadonlyMap<string, F>) {}

  /** Notes the lookup `w` and gives its found value, if any. */
  protected note(id: string, w: W): F | undefined {
    this.wanted.set(id, w);
    return this.found?.get(id);
  }

  /** The lookups noted without a found value; undefined when none. */
  unresolved(): Map<string, W> | undefined {
    const m = new Map([...this.wanted].filter(([id]) => !this.found?.has(id)));
    return m.size ? m : undefined;
  }
}
