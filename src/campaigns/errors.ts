/** Why a campaign request is refused: an HTTP status, a code and a reason (the UI API answers them as they are). */
export class CampaignError extends Error {
  override name = 'CampaignError';
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}
