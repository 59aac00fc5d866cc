/**
 * The reason of one lost deal (src/pipeline/refusal.ts lostReason) for both sources, with the
 * settings' own checks (src/settings/refusal.ts): an admin's mapping wins, else the stage's or the
 * item's name, else the raw value; a deal's text that names an object property is just text.
 */
import { describe, expect, it } from 'vitest';
import { lostReason, type RefusalResolver } from '../../src/pipeline/refusal.js';
import { refusalReasonKey, refusalSettingsSchema } from '../../src/settings/index.js';

const stages = (map: Record<string, string> = {}): RefusalResolver => ({
  settings: refusalSettingsSchema.parse({ source: 'stages', stages: map }),
  stageNames: new Map([['LOSE', 'Deal lost'], ['C1:UC_PRICE', 'Lost: price']]),
  items: new Map(),
});
const field = (values: Record<string, string> = {}, items: Array<[string, string]> = []): RefusalResolver => ({
  settings: refusalSettingsSchema.parse({ source: 'field', field: 'UF_CRM_WHY', values }),
  stageNames: new Map(),
  items: new Map(items),
});

describe('lostReason', () => {
  it('lost stages: the mapped reason, else the stage name, else the STATUS_ID; no stage, no reason', () => {
    expect(lostReason({ stageId: 'C1:UC_PRICE', uf: null }, stages())).toBe('Lost: price');
    expect(lostReason({ stageId: 'C1:UC_PRICE', uf: null }, stages({ 'C1:UC_PRICE': 'Price' }))).toBe('Price');
    expect(lostReason({ stageId: 'UC_GONE', uf: null }, stages())).toBe('UC_GONE');
    expect(lostReason({ stageId: null, uf: null }, stages())).toBeNull();
    expect(lostReason({ stageId: 'constructor', uf: null }, stages())).toBe('constructor');
  });

  it('a deal field: the mapped value, else the item name (enumeration) or the text; empty = no reason', () => {
    const r = field({ '45': 'Price' }, [['45', 'Too expensive'], ['46', 'Out of stock']]);
    expect(lostReason({ stageId: 'LOSE', uf: { UF_CRM_WHY: '45' } }, r)).toBe('Price');
    expect(lostReason({ stageId: 'LOSE', uf: { UF_CRM_WHY: 46 } }, r)).toBe('Out of stock');
    expect(lostReason({ stageId: 'LOSE', uf: { UF_CRM_WHY: ['46'] } }, r)).toBe('Out of stock');
    expect(lostReason({ stageId: 'LOSE', uf: { UF_CRM_WHY: '  Slow delivery ' } }, r)).toBe('Slow delivery');
    for (const v of [null, '', '   ', undefined, false]) expect(lostReason({ stageId: 'LOSE', uf: { UF_CRM_WHY: v } }, r)).toBeNull();
    expect(lostReason({ stageId: 'LOSE', uf: null }, r)).toBeNull();
    for (const v of ['constructor', '__proto__', 'toString']) expect(lostReason({ stageId: 'LOSE', uf: { UF_CRM_WHY: v } }, field())).toBe(v);
  });

  it('settings: source field needs a field; keys are compared without case and extra spaces', () => {
    expect(refusalSettingsSchema.safeParse({ source: 'field' }).success).toBe(false);
    expect(refusalSettingsSchema.safeParse({ source: 'field', field: 'STAGE_ID' }).success).toBe(false);
    expect(refusalSettingsSchema.parse({})).toEqual({ source: 'stages', stages: {}, field: null, values: {} });
    expect(refusalReasonKey('  Lost:   PRICE ')).toBe('lost: price');
    expect(refusalReasonKey('Ｐｒｉｃｅ')).toBe('price'); // NFKC: full-width letters
  });
});
