/**
 * What a campaign is made of (the create request, validated at the boundary), and its bounds.
 *
 *   { name, savedSegmentId, entity: 'contact' | 'company',
 *     action: an automation action (a workflow template of the portal, a to-do, a timeline comment),
 *     steps: [{ kind: 'announce' | 'start' | 'reminder', at, action? }] (≤ MAX_STEPS; none: one 'start' step at the start),
 *     holdoutShare (0, 0.5], default 0.1; windowDays 30 | 60 | 90; costFixed, costPerMessage ≥ 0;
 *     startAt (default: now); requestKey (a repeated create with the same key returns the first campaign) }
 */
import { z } from 'zod';
import { automationActionSchema, savedSegmentId } from '../settings/index.js';

/** At most this many dated steps per campaign. */
export const MAX_STEPS = 5;
/** A campaign freezes at most this many members (a larger saved segment is refused: split it). */
export const MAX_CAMPAIGN_MEMBERS = 250_000;
/** A step may be dated at most this many days before the start (an announcement). */
export const MAX_ANNOUNCE_DAYS = 30;
export const STEP_KINDS = ['announce', 'start', 'reminder'] as const;
export const WINDOW_DAYS = [30, 60, 90] as const;
export const DEFAULT_HOLDOUT_SHARE = 0.1;

const isoTime = z.iso.datetime({ offset: true });

export const campaignStepSchema = z.object({
  kind: z.enum(STEP_KINDS),
  at: isoTime,
  /** this step's own action (e.g. a reminder text); default: the campaign's */
  action: automationActionSchema.optional(),
}).strict();

export const campaignInputSchema = z.object({
  name: z.string().trim().min(1).max(120),
  savedSegmentId,
  entity: z.enum(['contact', 'company']).default('contact'),
  action: automationActionSchema,
  steps: z.array(campaignStepSchema).max(MAX_STEPS).default([]),
  holdoutShare: z.number().gt(0).max(0.5).default(DEFAULT_HOLDOUT_SHARE),
  windowDays: z.union([z.literal(30), z.literal(60), z.literal(90)]).default(30),
  costFixed: z.number().min(0).max(1e9).default(0),
  costPerMessage: z.number().min(0).max(1e6).default(0),
  startAt: isoTime.optional(),
  requestKey: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/).optional(),
}).strict();

export type CampaignInput = z.input<typeof campaignInputSchema>;
export type CampaignSpec = z.output<typeof campaignInputSchema>;
export type CampaignStepSpec = z.output<typeof campaignStepSchema>;
export type CampaignEntity = CampaignSpec['entity'];
