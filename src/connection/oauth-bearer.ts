import type { OAuthOptions, OAuthToken, OAuthTokenFailure } from '../config/karafka-options.js';
import type { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';

/** Refresh when this share of the token's lifetime has passed. */
const REFRESH_AT = 0.8;

/** Consecutive failures with no usable token left after which the provider counts as broken. */
export const OAUTH_MAX_FAILURES = 5;

/** `lifetimeMs` above this is a point in time (ms since the epoch, as librdkafka's), below it a duration. */
const EPOCH_THRESHOLD_MS = 1e12;

/**
 * `oauth.tokenProvider` threw or returned no usable token. After {@link OAUTH_MAX_FAILURES}
 * failures in a row with no valid token left, `exhausted` is true and the engine gives up, as
 * for a rejected password.
 */
export class OAuthTokenError extends Error {
  override readonly name = 'OAuthTokenError';
  /**
   * Not retried by kafkajs: its retry would reuse the connection left half-way through the
   * SASL handshake, and the broker's ILLEGAL_SASL_STATE answer would hide this error. The
   * engine retries the connection instead.
   */
  readonly retriable = false;

  constructor(
    reason: string,
    /** Failures in a row, this one included. */
    readonly failures: number,
    /** What the provider threw. Not `cause`: kafkajs would report that in place of this error. */
    readonly providerError?: unknown,
  ) {
    super(`oauth.tokenProvider failed (${failures} in a row): ${reason}`);
  }

  get exhausted(): boolean {
    return this.failures >= OAUTH_MAX_FAILURES;
  }
}

/** When the token expires, in ms since the epoch (librdkafka's `md_lifetime_ms`). */
export function expiresAt(token: OAuthToken, now: number): number {
  return token.lifetimeMs > EPOCH_THRESHOLD_MS ? token.lifetimeMs : now + token.lifetimeMs;
}

/** The provider's answer as a token with its principal; a failure or a malformed token throws the reason. */
function checkToken(
  result: OAuthToken | OAuthTokenFailure | undefined,
  now: number,
): OAuthToken & { principalName: string } {
  if (result && 'failureReason' in result) throw new Error(String(result.failureReason));
  const token = result as (OAuthToken & { principalName?: string; principal?: string }) | undefined;
  const principalName = token?.principalName ?? token?.principal;
  if (
    !token ||
    typeof token.token !== 'string' ||
    token.token === '' ||
    !(token.lifetimeMs > 0) ||
    typeof principalName !== 'string'
  ) {
    throw new Error(
      'it must return { token: string, lifetimeMs: number > 0, principalName: string }, or { failureReason: string }, or throw with the reason',
    );
  }
  if (expiresAt(token, now) <= now) {
    throw new Error(
      `it returned a token that expired at ${new Date(token.lifetimeMs).toISOString()} (lifetimeMs is an expiry in ms since the epoch, or a duration)`,
    );
  }
  return { ...token, principalName };
}

/**
 * Wraps the user's token provider, shared by every client of the module (consumers, the DLQ
 * producer): a token is reused until 80% of its lifetime passed, then fetched again. Every
 * refresh emits `oauthbearer.token_refresh`; a failure emits `error.occurred` and, while the
 * previous token is still valid, keeps using it (as librdkafka does); with none left it rejects
 * with {@link OAuthTokenError}, which the client sees as a failed authentication. Once
 * exhausted, it rejects with that error at once and calls the provider no more: the engine has
 * given up, and a client still closing (or the DLQ producer) must not keep calling a broken endpoint.
 */
export function cachedTokenProvider(oauth: OAuthOptions, monitor: KarafkaMonitor): () => Promise<OAuthToken> {
  let current: { token: OAuthToken; refreshAt: number; expiresAt: number } | undefined;
  let failures = 0;
  let inFlight: Promise<OAuthToken> | undefined;
  let exhausted: OAuthTokenError | undefined;
  const refresh = async (): Promise<OAuthToken> => {
    try {
      const now = Date.now();
      const token = checkToken(await oauth.tokenProvider(), now);
      const expiry = expiresAt(token, now);
      current = { token, expiresAt: expiry, refreshAt: now + (expiry - now) * REFRESH_AT };
      failures = 0;
      monitor.instrument('oauthbearer.token_refresh', {
        principal: token.principalName,
        lifetimeMs: expiry - now,
      });
      return token;
    } catch (error) {
      failures++;
      const reason = error instanceof Error ? error.message : String(error);
      const failure = new OAuthTokenError(reason, failures, error);
      monitor.instrument('error.occurred', {
        type: 'oauthbearer.token_refresh.error',
        error: failure,
        fatal: false,
        hint: 'check oauth.tokenProvider: its credentials and the token endpoint it calls',
      });
      if (current && Date.now() < current.expiresAt) return current.token;
      if (failure.exhausted) exhausted = failure;
      throw failure;
    }
  };
  return () => {
    if (exhausted) return Promise.reject(exhausted);
    if (current && Date.now() < current.refreshAt) return Promise.resolve(current.token);
    // One refresh at a time: brokers connecting together share it.
    inFlight ??= refresh().finally(() => (inFlight = undefined));
    return inFlight;
  };
}
