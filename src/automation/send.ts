/**
 * The one way the app sends an action to a customer (automation firings and campaign steps):
 *
 *  - actionCall: the REST call of an action (start a business process on the customer's document,
 *    a to-do for its responsible manager, a timeline comment) for a contact or a company;
 *  - sendOnce: the call, at most once. The caller claimed its row ('sending', committed) BEFORE
 *    calling; the outcome says what to record: 'done' (with the portal's answer), 'failed' (the
 *    portal answered with an error: nothing happened there), 'unknown' (the request may have
 *    reached the portal without an answer: never re-sent). Anything else (token death etc.: the call
 *    did not go out) is thrown, and the caller gives the row back.
 * Single calls, not `batch`: the client retries a batch on network errors (batch is treated as
 * idempotent), which would break at-most-once for these write methods.
 */
import type { B24Client } from '../b24/client.js';
import { B24Error, B24NetworkError } from '../b24/errors.js';
import type { AutomationRule } from '../settings/index.js';
import { fillText } from './rules.js';

export type AutomationAction = AutomationRule['action'];

/** Who an action is for: a contact or (B2B) a company. */
export interface ActionTarget {
  kind: 'contact' | 'company';
  id: number;
  name: string;
  assignedById: number | null;
}

const DOC = {
  contact: { cls: 'CCrmDocumentContact', prefix: 'CONTACT', ownerTypeId: 3 },
  company: { cls: 'CCrmDocumentCompany', prefix: 'COMPANY', ownerTypeId: 4 },
} as const;

function toIsoDate(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

/** The REST call of one action for `t`; texts get `vars` filled in (rules.ts fillText). */
export function actionCall(a: AutomationAction, t: ActionTarget, vars: Record<string, string | number | null>, nowMs: number): [string, Record<string, unknown>] {
  const d = DOC[t.kind];
  switch (a.type) {
    case 'workflow':
      return ['bizproc.workflow.start', { TEMPLATE_ID: a.templateId, DOCUMENT_ID: ['crm', d.cls, `${d.prefix}_${t.id}`], PARAMETERS: a.parameters ?? {} }];
    case 'todo':
      return ['crm.activity.todo.add', {
        ownerTypeId: d.ownerTypeId, ownerId: t.id, deadline: toIsoDate(nowMs + a.deadlineDays * 86_400_000),
        title: fillText(a.title, vars), description: fillText(a.description, vars),
        ...(t.assignedById ? { responsibleId: t.assignedById } : {}),
      }];
    case 'comment':
      return ['crm.timeline.comment.add', { fields: { ENTITY_ID: t.id, ENTITY_TYPE: t.kind, COMMENT: fillText(a.text, vars) } }];
  }
}

export type SendOutcome = { status: 'done'; result: string } | { status: 'failed' | 'unknown'; error: string };

/** One claimed call (see the module comment); throws when the call did not go out. */
export async function sendOnce(client: B24Client, method: string, params: Record<string, unknown>): Promise<SendOutcome> {
  try {
    const out = await client.call(method, params);
    return { status: 'done', result: typeof out === 'object' && out !== null ? JSON.stringify(out) : String(out) };
  } catch (e) {
    if (e instanceof B24NetworkError && e.maybeSent) return { status: 'unknown', error: e.message };
    if (e instanceof B24Error) return { status: 'failed', error: e.message };
    throw e;
  }
}
