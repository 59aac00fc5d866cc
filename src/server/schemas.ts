/**
 * zod schemas of everything Bitrix24 sends us (https://apidocs.bitrix24.com/api-reference/common/events/on-app-install.html, https://apidocs.bitrix24.com/settings/oauth/simple-way.html, https://apidocs.bitrix24.com/api-reference/widgets/index.html, https://apidocs.bitrix24.com/api-reference/events/index.html). Unknown extra
 * fields are allowed (Bitrix adds fields over time); the ones we use are validated strictly.
 */
import { z } from 'zod';

/** Portal host, optionally with a port: `x.bitrix24.com`, `crm.example.org:8443`, `127.0.0.1:7777`. */
export const domainSchema = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(/^(?=.{1,253}(:\d{1,5})?$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:\d{1,5})?$/, 'must be a host name such as x.bitrix24.com (optionally :port)');

/** member_id: 32 hex characters on real portals; accept a conservative superset. */
export const memberIdSchema = z.string().trim().regex(/^[A-Za-z0-9_.-]{8,64}$/, 'must be 8-64 characters [A-Za-z0-9_.-]');

const token = z.string().trim().min(8, 'too short').max(512).regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces');

const absUrl = z.string().trim().refine((s) => {
  try {
    const u = new URL(s);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an absolute http(s) URL');

const intString = z.union([z.string(), z.number()]).transform((v) => Number(v)).pipe(z.number().int().nonnegative());

/** ONAPPINSTALL (install callback), form-encoded: event, data[...], ts, auth[...]. */
export const installEventSchema = z.object({
  event: z.string().transform((s) => s.toUpperCase()).pipe(z.literal('ONAPPINSTALL')),
  data: z.record(z.string(), z.unknown()).optional(),
  ts: z.string().optional(),
  auth: z.object({
    access_token: token,
    refresh_token: token,
    expires: intString.optional(),
    expires_in: intString,
    scope: z.string().max(2000).optional(),
    domain: domainSchema,
    server_endpoint: absUrl,
    client_endpoint: absUrl,
    member_id: memberIdSchema,
    application_token: token,
    status: z.string().max(2).optional(),
    user_id: z.string().optional(),
  }),
});
export type InstallEvent = z.infer<typeof installEventSchema>;

/** The install page / app page query string. */
export const frameQuerySchema = z.object({
  DOMAIN: domainSchema,
  PROTOCOL: z.enum(['0', '1']).default('1'),
  LANG: z.string().regex(/^[a-z]{2}$/i).optional(),
  APP_SID: z.string().max(128).optional(),
});

/** The install page (wizard) POST body: the fields of https://apidocs.bitrix24.com/settings/oauth/simple-way.html. */
export const installPageSchema = z.object({
  query: frameQuerySchema,
  body: z.object({
    AUTH_ID: token,
    AUTH_EXPIRES: intString,
    REFRESH_ID: token,
    SERVER_ENDPOINT: absUrl,
    APPLICATION_TOKEN: token,
    APPLICATION_SCOPE: z.string().max(2000).optional(),
    member_id: memberIdSchema,
    status: z.string().max(2).optional(),
    PLACEMENT: z.string().max(100).optional(),
    PLACEMENT_OPTIONS: z.string().max(10_000).optional(),
  }),
});

/** App page / placement handler: query + body. */
export const framePageSchema = z.object({
  query: frameQuerySchema.partial({ DOMAIN: true }),
  body: z.object({
    AUTH_ID: z.string().optional(),
    AUTH_EXPIRES: z.string().optional(),
    REFRESH_ID: z.string().optional(),
    APPLICATION_TOKEN: z.string().min(1, 'required'),
    member_id: memberIdSchema,
    PLACEMENT: z.string().max(100).default('DEFAULT'),
    PLACEMENT_OPTIONS: z.string().max(10_000).optional(),
  }),
});

/** Any event POST: we need `event` and the auth block to authenticate it. */
export const eventEnvelopeSchema = z.object({
  event: z.string().min(1).max(100).transform((s) => s.toUpperCase()),
  event_handler_id: z.string().optional(),
  data: z.unknown().optional(),
  ts: z.string().optional(),
  auth: z.object({
    member_id: memberIdSchema,
    application_token: z.string().min(1).max(512),
    domain: z.string().optional(),
  }).passthrough(),
});

/** data of ONAPPUNINSTALL. */
export const uninstallDataSchema = z.object({
  CLEAN: z.enum(['0', '1']).default('0'),
  LANGUAGE_ID: z.string().optional(),
}).passthrough();

/** data of ONCRM{DEAL,CONTACT}{ADD,UPDATE,DELETE}: data[FIELDS][ID]. */
export const crmEventDataSchema = z.object({
  FIELDS: z.object({ ID: z.union([z.string(), z.number()]).transform(Number).pipe(z.number().int().positive()) }).passthrough(),
}).passthrough();

export const CRM_EVENT_RE = /^ONCRM(DEAL|CONTACT)(ADD|UPDATE|DELETE)$/;

/** Parses PLACEMENT_OPTIONS (a JSON string); anything unparsable becomes {}. */
export function parsePlacementOptions(s: string | undefined): Record<string, unknown> {
  if (!s) return {};
  try {
    const v: unknown = JSON.parse(s);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
