import * as m001 from './001_init.js';
import * as m002 from './002_scoring.js';
import * as m003 from './003_writeback.js';
import * as m004 from './004_jobs.js';
import * as m005 from './005_label_facts.js';
import * as m006 from './006_rate_limits.js';
import * as m007 from './007_ui_views.js';
import * as m008 from './008_company_labels.js';
import * as m009 from './009_leads_refusal.js';
import * as m010 from './010_effectiveness.js';
import * as m011 from './011_automation_lifecycle.js';
import * as m012 from './012_customer_fields.js';
import * as m013 from './013_field_values_index.js';
import * as m014 from './014_campaigns.js';
import * as m015 from './015_contact_channels.js';
import * as m016 from './016_lease_jobs.js';
import * as m019 from './019_company_automation.js';
import * as m020 from './020_company_std_fields.js';
import * as m021 from './021_contact_field_values.js';
import * as m023 from './023_std_field_bits.js';
import * as m024 from './024_triggers_without_jit.js';
import * as m025 from './025_field_value_triggers_planned_per_call.js';
import * as m026 from './026_rest_indexes.js';
import * as m027 from './027_facts_layout.js';
import * as m028 from './028_post_codes.js';
import * as m029 from './029_company_changes.js';
import * as m030 from './030_company_cube.js';
import * as m031 from './031_rebuild_lock.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** All migrations in order. Append only: never edit or renumber an applied one. */
export const migrations: readonly Migration[] = [
  { version: 1, ...m001 },
  { version: 2, ...m002 },
  { version: 3, ...m003 },
  { version: 4, ...m004 },
  { version: 5, ...m005 },
  { version: 6, ...m006 },
  { version: 7, ...m007 },
  { version: 8, ...m008 },
  { version: 9, ...m009 },
  { version: 10, ...m010 },
  { version: 11, ...m011 },
  { version: 12, ...m012 },
  { version: 13, ...m013 },
  { version: 14, ...m014 },
  { version: 15, ...m015 },
  { version: 16, ...m016 },
  { version: 19, ...m019 },
  { version: 20, ...m020 },
  { version: 21, ...m021 },
  { version: 23, ...m023 },
  { version: 24, ...m024 },
  { version: 25, ...m025 },
  { version: 26, ...m026 },
  { version: 27, ...m027 },
  { version: 28, ...m028 },
  { version: 29, ...m029 },
  { version: 30, ...m030 },
  { version: 31, ...m031 },
];
