/** Global and user methods: profile, app.info, app.option.*, user.current, user.get (https://apidocs.bitrix24.com/api-reference/common/index.html). */
import type { UserRec } from '../model.js';
import { runList, type QField } from '../query.js';
import { isoDate, isoDateTime, localDate, tzOffsetMinutes, type FType } from '../serialize.js';
import { RestError, type CallContext } from '../types.js';
import { APP_CONTEXT, def, isObj, list, param, type Def } from './util.js';

function appOf(ctx: CallContext) {
  const id = ctx.auth.clientId;
  const app = id ? ctx.portal.apps.get(id) : undefined;
  if (!app) throw APP_CONTEXT.access();
  return app;
}

/** app-option-set.md: a non-admin gets 400 with the AccessException "Administrator authorization required". */
const adminRequired = (): RestError => new RestError('ACCESS_DENIED', 'Access denied! Administrator authorization required', 400);

/** ArgumentNullException('options') ([SRC] rest_provider.php appOptionSet); app-option-set.md names it "options is empty". */
const optionsEmpty = (): RestError => new RestError('ERROR_ARGUMENT', "Argument 'options' is null or empty", 400, { argument: 'options' });

function currentUser(ctx: CallContext): UserRec {
  const u = ctx.portal.users.get(ctx.auth.userId);
  if (!u) throw new RestError('NO_AUTH_FOUND', 'Wrong authorization data', 401);
  return u;
}

/**
 * The full user record as user.current / user.get return it (https://apidocs.bitrix24.com/api-reference/common/index.html; api-reference/user/user-current.md,
 * user-get.md). Empty dates are `""` (PERSONAL_BIRTHDAY, UF_EMPLOYMENT_DATE); DATE_REGISTER is a
 * local-midnight datetime; LAST_ACTIVITY_DATE is `YYYY-MM-DD HH:MM:SS` in user.current and, as the
 * user-get.md example shows, an empty object in user.get (TIMESTAMP_X too).
 */
export function userRecord(u: UserRec, tz: string, method: 'current' | 'get' = 'current'): Record<string, unknown> {
  const reg = u.dateRegister;
  const login = u.lastLogin ?? reg ?? null;
  const active = u.lastActivityDate ?? login;
  return {
    ID: String(u.id),
    XML_ID: null,
    ACTIVE: u.active,
    NAME: u.name,
    LAST_NAME: u.lastName,
    SECOND_NAME: '',
    EMAIL: u.email,
    LAST_LOGIN: login === null ? '' : isoDateTime(login, tz),
    DATE_REGISTER: reg === undefined ? '' : isoDate(localDate(reg, tz), tz),
    TIME_ZONE: u.timeZone,
    IS_ONLINE: 'N',
    ...(method === 'get' ? { TIMESTAMP_X: {} } : {}),
    LAST_ACTIVITY_DATE: method === 'get' ? {} : active === null ? '' : isoDateTime(active, tz).slice(0, 19).replace('T', ' '),
    PERSONAL_GENDER: u.personalGender,
    PERSONAL_BIRTHDAY: u.personalBirthday ? isoDate(u.personalBirthday, tz) : '',
    WORK_POSITION: u.workPosition ?? '',
    UF_EMPLOYMENT_DATE: '',
    UF_DEPARTMENT: u.departmentIds,
    USER_TYPE: 'employee',
  };
}

const USER_FIELDS: Record<string, { type: FType; get: (u: UserRec) => string | number | boolean | null | number[] }> = {
  ID: { type: 'id', get: (u) => u.id },
  ACTIVE: { type: 'char', get: (u) => u.active },
  NAME: { type: 'string', get: (u) => u.name },
  LAST_NAME: { type: 'string', get: (u) => u.lastName },
  EMAIL: { type: 'string', get: (u) => u.email },
  WORK_POSITION: { type: 'string', get: (u) => u.workPosition },
  UF_DEPARTMENT: { type: 'int', get: (u) => u.departmentIds },
  USER_TYPE: { type: 'string', get: () => 'employee' },
  IS_ADMIN: { type: 'char', get: (u) => u.isAdmin },
};

function userResolver(name: string): QField<UserRec> | undefined {
  const f = USER_FIELDS[name.toUpperCase()];
  return f ? { name, type: f.type, get: f.get, isId: name.toUpperCase() === 'ID' } : undefined;
}

export const commonMethods: Def[] = [
  def('profile', null, 'get', (ctx) => {
    const u = currentUser(ctx);
    return {
      result: {
        ID: String(u.id),
        ADMIN: ctx.auth.isAdmin,
        NAME: u.name,
        LAST_NAME: u.lastName,
        PERSONAL_GENDER: u.personalGender,
        TIME_ZONE: u.timeZone,
        TIME_ZONE_OFFSET: tzOffsetMinutes(u.timeZone || ctx.portal.timeZone, ctx.now) * 60,
      },
    };
  }),

  def('app.info', null, 'get', (ctx) => {
    const app = appOf(ctx);
    const p = ctx.portal;
    const ent = p.plan === 'enterprise';
    return {
      result: {
        ID: Number.parseInt(app.clientId.replace(/\D/g, '').slice(0, 6) || '1', 10),
        CODE: app.code,
        VERSION: app.version,
        STATUS: app.status,
        INSTALLED: app.installed,
        PAYMENT_EXPIRED: app.paymentExpired ? 'Y' : 'N',
        DAYS: app.status === 'F' || app.status === 'L' ? null : app.paymentExpired ? -1 : 30,
        LANGUAGE_ID: p.language,
        LICENSE: `${p.language}_${ent ? 'ent250' : 'std'}`,
        LICENSE_TYPE: ent ? 'ent250' : 'std',
        LICENSE_FAMILY: ent ? 'ent' : 'std',
      },
    };
  }, { appOnly: true, appOnlyError: APP_CONTEXT.access }),

  def('app.option.get', null, 'get', (ctx, params) => {
    const app = appOf(ctx);
    const name = param(params, 'option');
    if (name === undefined || name === null || name === '') return { result: app.options };
    const key = String(name);
    return { result: key in app.options ? app.options[key] : null };
  }, { appOnly: true, appOnlyError: APP_CONTEXT.access }),

  def('app.option.set', null, 'write', (ctx, params) => {
    const app = appOf(ctx);
    const wrapped = param(params, 'options');
    const src: Record<string, unknown> = isObj(wrapped) ? wrapped : { ...params };
    if (!isObj(wrapped)) { delete src['auth']; delete src['options']; }
    if (Object.keys(src).length === 0) throw optionsEmpty();
    Object.assign(app.options, src);
    return { result: true };
  }, { appOnly: true, appOnlyError: APP_CONTEXT.access, adminOnly: true, adminError: adminRequired }),

  def('user.current', 'user', 'get', (ctx) => ({ result: userRecord(currentUser(ctx), ctx.portal.timeZone) }), { altScopes: ['user_brief', 'user_basic'] }),

  def('user.get', 'user', 'list', (ctx, params) => {
    // user.get takes filter keys either inside FILTER or at top level (ID=1).
    const filter: Record<string, unknown> = {};
    const f = param(params, 'filter');
    if (isObj(f)) Object.assign(filter, f);
    for (const [k, v] of Object.entries(params)) {
      if (userResolver(k.replace(/^[!=<>@%]+/, '')) && !['filter', 'sort', 'order', 'start'].includes(k.toLowerCase())) filter[k] = v;
    }
    const sortKey = param(params, 'sort');
    const order = isObj(param(params, 'order')) ? param(params, 'order')
      : typeof sortKey === 'string' ? { [sortKey]: String(param(params, 'order') ?? 'ASC') } : undefined;
    const out = runList(ctx.portal.users, { filter, order, start: param(params, 'start') }, userResolver, { strict: false, allowLogic: false, tz: ctx.portal.timeZone });
    return list(out.rows.map((u) => userRecord(u, ctx.portal.timeZone, 'get')), out.total, out.next);
  }, { altScopes: ['user_brief', 'user_basic'] }),
];
