/**
 * A migration, once released, never changes: the store records each one's checksum when it applies
 * it (src/store/migrate.ts) and an install that has it never runs it again, so an edit would reach
 * new installs only. Several migrations are generated from shared builders (005's labelFactsWriters,
 * used by 012, 023, 027, 028 and 031): a change to a builder must keep every earlier migration's
 * text. These are the checksums (migrate.ts: sha256, first 16 hex digits) of the released texts.
 */
import { createHash } from 'node:crypto';
import { expect, it } from 'vitest';
import { migrations } from '../../src/store/index.js';

const RELEASED: [number, string, string][] = [
  [1, 'init', 'd66df61af4a4258e'],
  [2, 'scoring', '7a144b3481b8f215'],
  [3, 'writeback', 'c083d046adb3ee7e'],
  [4, 'jobs', '208bc7a9dc63524c'],
  [5, 'label_facts', '9933b0337d6a5732'],
  [6, 'rate_limits', '29dff0144b95a584'],
  [7, 'ui_views', '9390e9c5a0ffd68e'],
  [8, 'company_labels', 'a0c1e9e870846041'],
  [9, 'leads_refusal', '78b750c781084312'],
  [10, 'effectiveness', '834ec68ea7fa5207'],
  [11, 'automation_lifecycle', '13eda70071ef62a3'],
  [12, 'customer_fields', 'feacfba2889558dd'],
  [13, 'field_values_index', 'df72a40cc8cf3324'],
  [14, 'campaigns', '67977ee695efe385'],
  [15, 'contact_channels', '7604e343daafd87d'],
  [16, 'lease_jobs', '5b6a7dfe36af51cc'],
  [19, 'company_automation', '90ee490f0da2b534'],
  [20, 'company_std_fields', 'aa64da137b4f1bb7'],
  [21, 'contact_field_values', 'f17f98a0e3abf26a'],
  [23, 'std_field_bits', '7bc83b8de1ffb73d'],
  [24, 'triggers_without_jit', 'cd06efa2a9851f27'],
  [25, 'field_value_triggers_planned_per_call', 'f9f8f38a806edba2'],
  [26, 'rest_indexes', 'e40d719e50874446'],
  [27, 'facts_layout', '08264c28db773430'],
  [28, 'post_codes', '20360acf558c592d'],
  [29, 'company_changes', 'c2c4a9c3401aa59a'],
  [30, 'company_cube', 'eddbdb662051583a'],
  [31, 'rebuild_lock', '036f25a74167108c'],
];

it('every released migration has the text it was released with, and versions only grow', () => {
  const now = migrations.map((m) => [m.version, m.name, createHash('sha256').update(m.sql).digest('hex').slice(0, 16)]);
  expect(now.slice(0, RELEASED.length)).toEqual(RELEASED);
  const versions = migrations.map((m) => m.version);
  expect(versions).toEqual([...versions].sort((a, b) => a - b));
  expect(new Set(versions).size).toBe(versions.length);
});
