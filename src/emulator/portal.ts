/**
 * One emulated Bitrix24 portal: its CRM data, apps, tokens, bindings and clock.
 * Stateful, one portal per instance; several may live in one process (tenant-isolation tests).
 *
 * Shared by the method layer (`methods/`), the HTTP face (`http/`) and the data generator:
 * tables are plain Maps keyed by ID; inserting in ascending ID order keeps them sorted,
 * which the list methods rely on (see `sortedIds`).
 */
import { randomBytes } from 'node:crypto';
import { PortalClock } from './clock.js';
import type {
  AppRec, BizprocTemplateRec, CategoryRec, CompanyRec, ContactRec, CurrencyRec, DealRec, DepartmentRec,
  EventBindingRec, LeadRec, LiveCustomerRec, LiveMoveRec, OfflineEventRec, PlacementBindingRec, ProductRec, ProductRowRec, SectionRec,
  StatusRec, TimelineCommentRec, TodoRec, TokenRec, UserFieldRec, UserRec, WebhookRec, WorkflowStartRec,
} from './model.js';
import type { CrmEvent } from './types.js';

export type Plan = 'standard' | 'enterprise';

export interface PortalOptions {
  memberId?: string;
  /** host[:port] the portal answers on; set by the HTTP face once it listens. */
  domain?: string;
  plan?: Plan;
  clock?: PortalClock;
  /** Base currency code (the currency with AMOUNT 1). */
  baseCurrency?: string;
  /** Access-token lifetime in portal seconds (default 3600, https://apidocs.bitrix24.com/settings/oauth/index.html). */
  accessTokenTtl?: number;
  /** Language of the portal (LANG for the frame, LANGUAGE_ID in events). */
  language?: string;
  timeZone?: string;
  /**
   * `server_endpoint` the portal hands out (install events, app pages, OAuth answers): the REST
   * base of the OAuth server. Default null: the emulator's own `/rest/` (its OAuth server is
   * served on its own host). A real portal names `https://oauth.bitrix.info/rest/`.
   */
  serverEndpoint?: string | null;
}

type Table = 'contact' | 'company' | 'deal' | 'lead' | 'productRow' | 'product' | 'section' | 'status' | 'userField'
  | 'enumItem' | 'placement' | 'eventBinding' | 'offlineEvent' | 'timelineComment' | 'todo' | 'bizprocTemplate'
  | 'multifield' | 'workflow' | 'user';

export class Portal {
  readonly memberId: string;
  domain: string;
  plan: Plan;
  readonly clock: PortalClock;
  baseCurrency: string;
  accessTokenTtl: number;
  language: string;
  timeZone: string;
  /** See PortalOptions.serverEndpoint. */
  serverEndpoint: string | null;

  // CRM data
  readonly contacts = new Map<number, ContactRec>();
  readonly companies = new Map<number, CompanyRec>();
  readonly deals = new Map<number, DealRec>();
  readonly leads = new Map<number, LeadRec>();
  /** Product rows by owner deal ID. */
  readonly productRows = new Map<number, ProductRowRec[]>();
  readonly products = new Map<number, ProductRec>();
  readonly sections = new Map<number, SectionRec>();
  readonly statuses: StatusRec[] = [];
  readonly categories: CategoryRec[] = [];
  readonly currencies: CurrencyRec[] = [];
  readonly users = new Map<number, UserRec>();
  /** Company structure (departments by ID), for the CRM permission levels 'D'/'F'. */
  readonly departments = new Map<number, DepartmentRec>();
  readonly userFields = new Map<number, UserFieldRec>();

  // Apps and auth
  readonly apps = new Map<string, AppRec>();
  readonly tokens = new Map<string, TokenRec>(); // by access token
  readonly refreshTokens = new Map<string, TokenRec>(); // by refresh token
  readonly webhooks: WebhookRec[] = [];

  // Bindings
  readonly placements: PlacementBindingRec[] = [];
  readonly eventBindings: EventBindingRec[] = [];
  readonly offlineEvents: OfflineEventRec[] = [];

  // Recorded side effects
  readonly workflowStarts: WorkflowStartRec[] = [];
  readonly timelineComments: TimelineCommentRec[] = [];
  readonly todos: TodoRec[] = [];
  readonly bizprocTemplates: BizprocTemplateRec[] = [];

  // The living portal (live/): customers still buying, the scheduled stage moves of its deals, and its
  // settings. liveCursor: portal ms up to which the process has run (0: not started).
  readonly liveCustomers = new Map<number, LiveCustomerRec>();
  readonly liveMoves: LiveMoveRec[] = [];
  liveSeed = 0;
  liveUplift = 0;
  liveCursor = 0;
  /** workflowStarts already turned into uplift intervals */
  liveStartsSeen = 0;

  /** Receives every CRM data event (ONCRMDEALUPDATE, ...); the HTTP face delivers them. */
  eventSink: ((ev: CrmEvent) => void) | null = null;

  private readonly seq = new Map<Table, number>();

  constructor(opts: PortalOptions = {}) {
    this.memberId = opts.memberId ?? randomBytes(16).toString('hex');
    this.domain = opts.domain ?? 'portal.localhost';
    this.plan = opts.plan ?? 'standard';
    this.clock = opts.clock ?? new PortalClock();
    this.baseCurrency = opts.baseCurrency ?? 'USD';
    this.accessTokenTtl = opts.accessTokenTtl ?? 3600;
    this.language = opts.language ?? 'en';
    this.timeZone = opts.timeZone ?? 'UTC';
    this.serverEndpoint = opts.serverEndpoint ?? null;
  }

  /** Next ID of a table (1, 2, ...). */
  nextId(table: Table): number {
    const id = (this.seq.get(table) ?? 0) + 1;
    this.seq.set(table, id);
    return id;
  }

  /** Makes sure later `nextId(table)` calls return IDs above `id` (used after bulk loads). */
  bumpId(table: Table, id: number): void {
    if ((this.seq.get(table) ?? 0) < id) this.seq.set(table, id);
  }

  /** Sequence state, for saving a portal to a file. */
  sequences(): Record<string, number> {
    return Object.fromEntries(this.seq);
  }

  restoreSequences(s: Record<string, number>): void {
    for (const [k, v] of Object.entries(s)) this.seq.set(k as Table, v);
  }

  /** Hands a CRM data event to the HTTP face for delivery. */
  emit(ev: CrmEvent): void {
    this.eventSink?.(ev);
  }
}
