/**
 * Names of CRM user fields in the crm.item.* methods. The legacy methods (crm.contact.*,
 * crm.deal.*) and the database use UPPER_SNAKE names (`UF_CRM_SEG_RFM`); crm.item.* answers with
 * camelCase keys (`ufCrmSegRfm`) and accepts either form (unless `useOriginalUfNames=Y` is sent,
 * which keeps the UPPER_SNAKE names in answers too).
 *
 * The rule, from the docs (b24restdocs `api-reference/crm/universal/index.md`, "Features of
 * Working with Field Names", with the examples of `crm-item-get.md` and
 * `_include/user-fields-for-examples-cut.md`):
 *  - `UF_CRM_<digits>_...` (smart-process style) drops the underscore after CRM:
 *    `UF_CRM_2_1639669411830` → `ufCrm2_1639669411830`, `UF_CRM_44_1721812760630` → `ufCrm44_1721812760630`;
 *  - an underscore followed by a digit is kept: `UF_CRM_1720019876534` → `ufCrm_1720019876534`;
 *  - every other underscore is removed and the next letter upper-cased: `UF_CRM_SEG_RFM` → `ufCrmSegRfm`;
 *  - a name with a segment that mixes letters and digits (`UF_CRM_10_DIGIT10`) could not be
 *    converted back unambiguously (`ufCrm10Digit10` ← `UF_CRM_10_DIGIT10` or `UF_CRM_10_DIGIT_10`?):
 *    since crm 21.1800.0 such names are not converted and stay as they are.
 * Input case does not matter (Bitrix24 field names are upper case); a name that is not a user
 * field (`TITLE`) is returned unchanged.
 *
 * Shared by the app (write-back through crm.item.update) and the emulator (its crm.item answers).
 */
export function ufCamel(name: string): string {
  const up = name.toUpperCase();
  if (!up.startsWith('UF_')) return name;
  const segments = up.split('_');
  if (segments.some((s) => /[A-Z]/.test(s) && /\d/.test(s))) return up;
  return up
    .replace(/^UF_CRM_(\d+)_/, 'UF_CRM$1_')
    .split('_')
    .map((s, i) => {
      const low = s.toLowerCase();
      if (i === 0) return low;
      if (/^\d/.test(s)) return `_${low}`;
      return low.charAt(0).toUpperCase() + low.slice(1);
    })
    .join('');
}
