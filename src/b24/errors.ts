/**
 * Typed errors of the Bitrix24 REST client. Messages never contain tokens.
 */

/** A REST error answered by the portal: `{"error": code, "error_description": description}` + HTTP status. */
export class B24Error extends Error {
  override readonly name: string = 'B24Error';
  constructor(
    /** Portal error code, e.g. `QUERY_LIMIT_EXCEEDED`, `expired_token`; legacy CRM methods may answer `''`. */
    public readonly code: string,
    public readonly description: string,
    /** HTTP status (0 for a network failure, 200 for a failed batch command). */
    public readonly status: number,
    /** The method that failed (a batch command's own method for per-command errors). */
    public readonly method?: string,
  ) {
    super(`${method ? `${method}: ` : ''}${code || '(no code)'}${description ? ` - ${description}` : ''} [HTTP ${status}]`);
  }

  /** 503 QUERY_LIMIT_EXCEEDED: the portal's leaky bucket is over its threshold. */
  get isRateLimit(): boolean {
    return this.code === 'QUERY_LIMIT_EXCEEDED' || (this.status === 503 && this.code !== 'OVERLOAD_LIMIT');
  }

  /** 429 OPERATION_TIME_LIMIT: the method's operating-time budget is spent. */
  get isOperatingLimit(): boolean {
    return this.code === 'OPERATION_TIME_LIMIT' || this.status === 429;
  }

  /** 401 expired_token / invalid_token: refresh the access token and retry once. */
  get isExpiredToken(): boolean {
    return this.code === 'expired_token' || this.code === 'invalid_token';
  }
}

/** The request did not get an HTTP answer (connection refused/reset, timeout). */
export class B24NetworkError extends B24Error {
  override readonly name = 'B24NetworkError';
  constructor(
    method: string,
    public readonly causeCode: string,
    /** true when the request may have reached the portal (body written): retrying a write may duplicate it. */
    public readonly maybeSent: boolean,
  ) {
    super('NETWORK_ERROR', causeCode, 0, method);
  }
}

/** The OAuth server refused the refresh token (`invalid_grant`): the portal must re-authorize the app. */
export class DeadRefreshTokenError extends Error {
  override readonly name = 'DeadRefreshTokenError';
  constructor(
    public readonly code: string,
    public readonly description: string,
    /** member_id or another label of the portal, if known. */
    public readonly portal?: string,
  ) {
    super(`refresh token rejected${portal ? ` for portal ${portal}` : ''}: ${code}${description ? ` - ${description}` : ''}`);
  }
}

/** Any other OAuth-server failure (invalid_client, PAYMENT_REQUIRED, bad response shape). */
export class OAuthError extends Error {
  override readonly name = 'OAuthError';
  constructor(
    public readonly code: string,
    public readonly description: string,
    public readonly status: number,
  ) {
    super(`OAuth refresh failed: ${code}${description ? ` - ${description}` : ''} [HTTP ${status}]`);
  }
}
