/** Step: the portal currencies (base first, then USD / EUR / RUB) and their base-currency rates. */
import type { CurrencyRec } from '../model.js';
import type { GenContext } from './context.js';
import { USD_VALUE } from './constants.js';

export function addCurrencies(ctx: GenContext): void {
  const { portal, base, start } = ctx;
  if (portal.currencies.length === 0) {
    const baseUsd = USD_VALUE[base]?.[0] ?? 1;
    const codes = [base, ...['USD', 'EUR', 'RUB'].filter((c) => c !== base)];
    codes.forEach((code, i) => {
      const usd = USD_VALUE[code]?.[0] ?? 1;
      const rate = usd / baseUsd;
      const cnt = code === base ? 1 : rate < 0.1 ? 100 : 1;
      portal.currencies.push({
        currency: code, amountCnt: cnt, amount: code === base ? 1 : Math.round(rate * cnt * 10000) / 10000,
        sort: (i + 1) * 100, base: code === base, fullName: USD_VALUE[code]?.[1] ?? code, dateUpdate: start,
      } satisfies CurrencyRec);
    });
  }
  ctx.rateOf = new Map<string, number>(portal.currencies.map((c) => [c.currency, c.amount / c.amountCnt]));
}
