/**
 * ufCamel (src/bitrix/uf-names.ts): the one UF_CRM_… → crm.item key rule, shared by write-back
 * and the emulator. The docs' examples, then the inputs on which the two former copies differed.
 */
import { describe, expect, it } from 'vitest';
import { ufCamel } from '../../src/bitrix/uf-names.js';
import { ufCamel as emulatorUfCamel } from '../../src/emulator/serialize.js';
import { ufCamel as writebackUfCamel } from '../../src/writeback/diff.js';

describe('ufCamel', () => {
  it('the docs examples', () => {
    expect(ufCamel('UF_CRM_2_1639669411830')).toBe('ufCrm2_1639669411830');
    expect(ufCamel('UF_CRM_44_1721812760630')).toBe('ufCrm44_1721812760630');
    expect(ufCamel('UF_CRM_10_5186744711')).toBe('ufCrm10_5186744711');
    expect(ufCamel('UF_CRM_1720019876534')).toBe('ufCrm_1720019876534');
    expect(ufCamel('UF_CRM_10_DIGIT10')).toBe('UF_CRM_10_DIGIT10');
  });

  it('the app fields (manifest/fields.json)', () => {
    expect(ufCamel('UF_CRM_SEG_RFM')).toBe('ufCrmSegRfm');
    expect(ufCamel('UF_CRM_SEG_P_ALIVE')).toBe('ufCrmSegPAlive');
    expect(ufCamel('UF_CRM_SEG_LAST_PURCHASE')).toBe('ufCrmSegLastPurchase');
  });

  it('a segment mixing letters and digits: the name stays as it is (write-back used to camelCase it)', () => {
    expect(ufCamel('UF_CRM_SEG_P2')).toBe('UF_CRM_SEG_P2');
    expect(ufCamel('UF_CRM_69D39E301706D')).toBe('UF_CRM_69D39E301706D');
    // lower-case input: upper-cased, then the same rule
    expect(ufCamel('uf_crm_10_digit10')).toBe('UF_CRM_10_DIGIT10');
  });

  it('not a user field: unchanged (write-back used to camelCase it)', () => {
    expect(ufCamel('TITLE')).toBe('TITLE');
    expect(ufCamel('ASSIGNED_BY_ID')).toBe('ASSIGNED_BY_ID');
    expect(ufCamel('title')).toBe('title');
  });

  it('numbers, double and trailing underscores, lower case (the former copies agreed)', () => {
    expect(ufCamel('UF_CRM_1_2_3')).toBe('ufCrm1_2_3');
    expect(ufCamel('UF_CRM_ABC_123')).toBe('ufCrmAbc_123');
    expect(ufCamel('UF_CRM_12345_ABC')).toBe('ufCrm12345Abc');
    expect(ufCamel('UF_CRM__1')).toBe('ufCrm_1');
    expect(ufCamel('UF_CRM_SEG__X')).toBe('ufCrmSegX');
    expect(ufCamel('UF_CRM_SEG_')).toBe('ufCrmSeg');
    expect(ufCamel('uf_crm_seg_rfm')).toBe('ufCrmSegRfm');
    expect(ufCamel('UF_USR_1')).toBe('ufUsr_1');
  });

  it('write-back and the emulator use this one function', () => {
    expect(writebackUfCamel).toBe(ufCamel);
    expect(emulatorUfCamel).toBe(ufCamel);
  });
});
