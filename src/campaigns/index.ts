/**
 * Campaigns with holdout groups and measured lift (issue 15 items 1 and 2; docs/campaigns.md).
 *
 *   schema.ts       the create request and its bounds
 *   group.ts        treatment or holdout: stable hash per customer, seeded per campaign; the field value
 *   members.ts      a saved segment's members in the latest run (the segment compiler)
 *   create.ts       createCampaign: freeze members, draw groups, store (migration 014)
 *   write-group.ts  UF_CRM_SEG_CAMPAIGN_GROUP on every member
 *   run-steps.ts    runDueSteps: plan due steps (converted members dropped), send at most once
 *   deals-sql.ts    a member's won deals, per kind of customer
 *   lift.ts         the statistics, pure: lift with its 90 % interval, conversion difference, ROI
 *   figures.ts      treatment vs holdout from the members' deals, pure
 *   measure.ts      measureCampaign: the figures of a campaign and its steps
 *   read.ts         a campaign, the list
 */
export * from './schema.js';
export * from './errors.js';
export * from './group.js';
export { createCampaign, type CreatedCampaign } from './create.js';
export { runDueSteps, planDueSteps, type RunStepsResult, type PlannedStep } from './run-steps.js';
export { writeGroupFields, CAMPAIGN_GROUP_FIELD } from './write-group.js';
export * from './lift.js';
export { compareGroups, type Comparison, type GroupFigures, type MemberOutcome } from './figures.js';
export { measureCampaign, type CampaignMeasure, type StepMeasure } from './measure.js';
export { readCampaign, listCampaigns, type CampaignRow, type CampaignListItem } from './read.js';
