/**
 * The field tables (src/store/crm-fields.ts) against the migrated schema: every declared column
 * exists with a compatible type, every table column is declared (or is bookkeeping: portal_id,
 * sync_run_id of run-tagged tables), the keys are the primary keys, and a NOT NULL column always
 * gets a value. Plus the derived TypeScript types, pinned to the shapes the app was written against.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { CRM_TABLES, type SqlType } from '../../src/store/crm-fields.js';
import type {
  CompanyInput, Contact, ContactInput, Currency, CurrencyInput, Deal, DealContactInput, DealInput, Funnel, FunnelInput, Product,
  ProductInput, ProductRowInput, Section, SectionInput, Stage, StageInput, StageSemantic, Timestamp,
} from '../../src/store/index.js';
import { eachDb } from '../helpers/db.js';

/** information_schema.columns.data_type of each declared SqlType. */
const DATA_TYPES: Record<SqlType, readonly string[]> = {
  bigint: ['bigint'],
  integer: ['integer'],
  text: ['text', 'character'], // stage_semantic / semantics are char(1)
  numeric: ['numeric'],
  boolean: ['boolean'],
  timestamptz: ['timestamp with time zone'],
  date: ['date'],
  jsonb: ['jsonb'],
};

eachDb('crm field tables = migrated schema', (getDb) => {
  it('columns, types, primary keys and NOT NULL defaults', async () => {
    const names = CRM_TABLES.map((t) => t.table);
    const { rows: cols } = await getDb().query<{ t: string; c: string; type: string; nullable: string; dflt: string | null }>(
      `SELECT table_name AS t, column_name AS c, data_type AS type, is_nullable AS nullable, column_default AS dflt
         FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ANY($1::text[])`,
      [names],
    );
    const { rows: pks } = await getDb().query<{ t: string; c: string; pos: number }>(
      `SELECT kcu.table_name AS t, kcu.column_name AS c, kcu.ordinal_position AS pos
         FROM information_schema.table_constraints tc
         JOIN information_schema.key_column_usage kcu
           ON kcu.constraint_name = tc.constraint_name AND kcu.table_schema = tc.table_schema AND kcu.table_name = tc.table_name
        WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema() AND tc.table_name = ANY($1::text[])
        ORDER BY kcu.table_name, kcu.ordinal_position`,
      [names],
    );
    for (const t of CRM_TABLES) {
      const schema = new Map(cols.filter((c) => c.t === t.table).map((c) => [c.c, c]));
      expect(schema.size, `${t.table} exists`).toBeGreaterThan(0);
      const declared = Object.entries(t.fields).filter(([, f]) => f.column !== null);
      const bookkeeping = ['portal_id', ...(t.runTagged ? ['sync_run_id'] : [])];
      expect([...schema.keys()].sort(), t.table).toEqual([...declared.map(([, f]) => f.column!), ...bookkeeping].sort());
      for (const [key, f] of declared) {
        const c = schema.get(f.column!)!;
        expect(DATA_TYPES[f.sql], `${t.table}.${f.column} (${key})`).toContain(c.type);
        // a NOT NULL column gets a value even when the input row leaves it out
        if (c.nullable === 'NO' && !f.required) expect(f.param(undefined), `${t.table}.${f.column} default`).not.toBeNull();
        if (c.nullable === 'NO' && !f.required) expect(f.param(undefined), `${t.table}.${f.column} default`).toBeDefined();
      }
      expect(pks.filter((p) => p.t === t.table).map((p) => p.c), `${t.table} primary key`).toEqual(['portal_id', ...t.key]);
    }
  });
});

type N<T> = T | null | undefined;

describe('derived types', () => {
  it('inputs', () => {
    expectTypeOf<ContactInput>().toEqualTypeOf<{
      id: number; name?: N<string>; secondName?: N<string>; lastName?: N<string>; typeId?: N<string>; sourceId?: N<string>;
      assignedById?: N<number>; companyId?: N<number>; city?: N<string>; hasPhone?: N<boolean>; hasEmail?: N<boolean>;
      emails?: N<string[]>; phones?: N<string[]>;
      dateCreate?: N<Timestamp>; dateModify?: N<Timestamp>; birthdate?: N<Timestamp>; post?: N<string>; std?: N<Record<string, unknown>>;
      uf?: N<Record<string, unknown>>; raw?: unknown;
    }>();
    expectTypeOf<CompanyInput>().toEqualTypeOf<{
      id: number; title?: N<string>; companyType?: N<string>; industry?: N<string>; revenue?: N<number>; employees?: N<string>; currencyId?: N<string>;
      sourceId?: N<string>; assignedById?: N<number>; city?: N<string>; hasPhone?: N<boolean>; hasEmail?: N<boolean>;
      emails?: N<string[]>; phones?: N<string[]>;
      dateCreate?: N<Timestamp>; dateModify?: N<Timestamp>; std?: N<Record<string, unknown>>; uf?: N<Record<string, unknown>>; raw?: unknown;
    }>();
    expectTypeOf<DealInput>().toEqualTypeOf<{
      id: number; title?: N<string>; typeId?: N<string>; categoryId?: N<number>; stageId?: N<string>; stageSemantic?: N<StageSemantic>;
      currencyId?: N<string>; opportunity?: N<number>; opportunityBase?: N<number>; closeDate?: N<Timestamp>; beginDate?: N<Timestamp>;
      dateCreate?: N<Timestamp>; dateModify?: N<Timestamp>; assignedById?: N<number>; companyId?: N<number>; sourceId?: N<string>;
      lossReason?: N<string>; uf?: N<Record<string, unknown>>; raw?: unknown;
    }>();
    expectTypeOf<DealContactInput>().toEqualTypeOf<{ dealId: number; contactId: number; sort?: N<number>; isPrimary?: N<boolean> }>();
    expectTypeOf<ProductRowInput>().toEqualTypeOf<{
      id: number; dealId: number; productId?: N<number>; productName?: N<string>; price?: N<number>; quantity?: N<number>;
      discountSum?: N<number>; taxRate?: N<number>; measureName?: N<string>; sort?: N<number>; sectionId?: N<number>;
    }>();
    expectTypeOf<ProductInput>().toEqualTypeOf<{
      id: number; name?: N<string>; sectionId?: N<number>; catalogId?: N<number>; price?: N<number>; currencyId?: N<string>;
      active?: N<boolean>; raw?: unknown;
    }>();
    expectTypeOf<SectionInput>().toEqualTypeOf<{ id: number; parentId?: N<number>; catalogId?: N<number>; name?: N<string> }>();
    expectTypeOf<StageInput>().toEqualTypeOf<{
      entityId: string; statusId: string; name?: N<string>; semantics?: N<StageSemantic>; categoryId?: N<number>; sort?: N<number>; color?: N<string>;
    }>();
    expectTypeOf<FunnelInput>().toEqualTypeOf<{ id: number; name?: N<string>; sort?: N<number>; isDefault?: N<boolean> }>();
    expectTypeOf<CurrencyInput>().toEqualTypeOf<{ code: string; amount: number; amountCnt?: N<number>; base?: N<boolean>; sort?: N<number> }>();
  });

  it('rows read back', () => {
    expectTypeOf<Contact>().toEqualTypeOf<{
      id: number; name: string | null; secondName: string | null; lastName: string | null; typeId: string | null; sourceId: string | null;
      assignedById: number | null; companyId: number | null; city: string | null; hasPhone: boolean; hasEmail: boolean;
      emails: string[]; phones: string[];
      dateCreate: Date | null; dateModify: Date | null; birthdate: string | null; post: string | null; uf: Record<string, unknown>;
    }>();
    expectTypeOf<Deal>().toEqualTypeOf<{
      id: number; title: string | null; typeId: string | null; categoryId: number; stageId: string | null; stageSemantic: StageSemantic | null;
      currencyId: string | null; opportunity: number | null; opportunityBase: number | null; closeDate: string | null; beginDate: string | null;
      dateCreate: Date | null; dateModify: Date | null; assignedById: number | null; companyId: number | null; sourceId: string | null;
      lossReason: string | null; uf: Record<string, unknown>;
    }>();
    expectTypeOf<Currency>().toEqualTypeOf<{ code: string; amount: number; amountCnt: number; base: boolean; sort: number | null }>();
    expectTypeOf<Stage>().toEqualTypeOf<{
      entityId: string; statusId: string; name: string | null; semantics: StageSemantic; categoryId: number | null; sort: number | null; color: string | null;
    }>();
    expectTypeOf<Funnel>().toEqualTypeOf<{ id: number; name: string | null; sort: number | null; isDefault: boolean }>();
    expectTypeOf<Section>().toEqualTypeOf<{ id: number; parentId: number | null; catalogId: number | null; name: string | null; depth: number | null }>();
    expectTypeOf<Product>().toEqualTypeOf<{
      id: number; name: string | null; sectionId: number | null; catalogId: number | null; price: number | null; currencyId: string | null; active: boolean | null;
      purchasingPrice: number | null; purchasingCurrency: string | null;
    }>();
  });
});
