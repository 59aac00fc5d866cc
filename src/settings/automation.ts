/**
 * Automation rules (settings.automation, run by src/automation/engine.ts): when a contact becomes
 * sleeping, enters a segment the admin chose, moves from one given segment to another, or changes
 * its lifecycle stage (optionally from / to given stages), start a business process on the contact, add a
 * to-do for its responsible manager, or add a timeline comment. That is how the portal's own
 * channels (e-mail, SMS, messengers configured in the workflow template) reach a customer who fell
 * asleep, e.g. with a promo code.
 *
 *   settings.automation = { rules: [
 *     { id: 'wake-up', trigger: { type: 'becameSleeping' }, action: { type: 'workflow', templateId: 12 } },
 *     { id: 'promo', trigger: { type: 'becameRefused', reasons: ['Price'] }, action: { type: 'workflow', templateId: 14 } },
 *     { id: 'vip', trigger: { type: 'enteredSegment', segment: 'champions' },
 *       action: { type: 'todo', title: 'Call {name}', description: 'Now {segment}', deadlineDays: 2 } },
 *     { id: 'slipping', trigger: { type: 'movedSegment', from: 'loyal', to: 'at_risk' }, action: { type: 'comment', text: '…' } },
 *     { id: 'second', trigger: { type: 'lifecycleChanged', from: 'one_time', to: 'returning' }, action: … },
 *   ] }
 *
 * A rule's `entity` (default contact) makes it watch companies instead (B2B: company_labels) and act
 * on the company (its workflow document, to-do, timeline).
 *
 * Texts may use {name}, {contactId} (a company rule: {companyId}), {segment}, {prevSegment}, {lifecycle}, {reason} (the refusal reason). A list saved by earlier versions of
 * the settings page ({segment, action, value, enabled}[]) is read as these rules (migrate.ts).
 */
import { z } from 'zod';
import { LIFECYCLE_CODES, SEGMENT_CODES } from '../scoring/index.js';
import { migrateAutomation } from './migrate.js';

/** The customers a rule can watch: contacts, or companies (scored with the B2B option on). */
export const AUTOMATION_ENTITIES = ['contact', 'company'] as const;
export type AutomationEntity = (typeof AUTOMATION_ENTITIES)[number];

export const automationTriggerSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('becameSleeping') }),
  z.object({ type: z.literal('enteredSegment'), segment: z.enum(SEGMENT_CODES) }),
  /** a specific move: the segment was `from` at the previous evaluation and is `to` now */
  z.object({ type: z.literal('movedSegment'), from: z.enum(SEGMENT_CODES), to: z.enum(SEGMENT_CODES) }),
  /** the lifecycle stage changed; `from` / `to` narrow it (missing = any stage) */
  z.object({ type: z.literal('lifecycleChanged'), from: z.enum(LIFECYCLE_CODES).optional(), to: z.enum(LIFECYCLE_CODES).optional() }),
  /**
   * a customer without purchases became refused, or a refused one's reason changed; `reasons` (its
   * words or keys, compared case- and space-insensitively: refusal.ts) limits it to those reasons,
   * empty = any reason (also none)
   */
  z.object({ type: z.literal('becameRefused'), reasons: z.array(z.string().trim().min(1).max(200)).max(50).default([]) }),
]);

/** A move or a lifecycle change whose from and to are the same stage can never happen. */
function checkTrigger(t: z.infer<typeof automationTriggerSchema>, ctx: z.RefinementCtx): void {
  if ((t.type === 'movedSegment' || t.type === 'lifecycleChanged') && t.from !== undefined && t.from === t.to) {
    ctx.addIssue({ code: 'custom', path: ['trigger', 'to'], message: 'from and to must differ', params: { i18n: 'sameFromTo' } });
  }
}

export const automationActionSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('workflow'), templateId: z.coerce.number().int().positive(), parameters: z.record(z.string(), z.unknown()).optional() }),
  z.object({
    type: z.literal('todo'),
    title: z.string().trim().min(1).max(255),
    description: z.string().max(4000).default(''),
    deadlineDays: z.number().int().min(0).max(365).default(1),
  }),
  z.object({ type: z.literal('comment'), text: z.string().trim().min(1).max(4000) }),
]);

export const automationRuleSchema = z.object({
  /** stable id: the firing key; renaming a rule makes it a new rule */
  id: z.string().trim().min(1).max(64).regex(/^[A-Za-z0-9_.:-]+$/),
  name: z.string().max(200).optional(),
  enabled: z.boolean().default(true),
  /** whose transitions the rule watches and whose card it acts on: contacts (default) or companies (B2B) */
  entity: z.enum(AUTOMATION_ENTITIES).default('contact'),
  trigger: automationTriggerSchema,
  action: automationActionSchema,
}).superRefine((r, ctx) => checkTrigger(r.trigger, ctx));

export const automationSettingsSchema = z.preprocess(
  migrateAutomation,
  z
    .object({ rules: z.array(automationRuleSchema).max(50).default([]) })
    .refine((s) => new Set(s.rules.map((r) => r.id)).size === s.rules.length, { message: 'rule ids must be unique', path: ['rules'] }),
);

export type AutomationRule = z.infer<typeof automationRuleSchema>;
export type AutomationSettings = z.infer<typeof automationSettingsSchema>;
