import type { OAuthOptions, OAuthToken } from '../config/karafka-options.js';
import type { KarafkaMonitor } from '../instrumentation/karafka-monitor.js';

/** Refresh when this share of the token's lifetime has passed. */
const REFRESH_AT = 0.8;

/**
 * Wraps the user's token provider: a token is reused until 80% of its lifetime passed, then
 * fetched again. Every refresh emits `oauthbearer.token_refresh`; a failure emits
 * `error.occurred` and rejects, so the client treats it as an authentication failure.
 */
export function cachedTokenProvider(oauth: OAuthOptions, monitor: KarafkaMonitor): () => Promise<OAuthToken> {
  let current: { token: OAuthToken; refreshAt: number } | undefined;
  let inFlight: Promise<OAuthToken> | undefined;
  const refresh = async (): Promise<OAuthToken> => {
    try {
      const token = await oauth.tokenProvider();
      if (!token || typeof token.token !== 'string' || token.token === '' || !(token.lifetimeMs > 0)) {
        throw new Error(
          'oauth.tokenProvider must return { token: string, lifetimeMs: number > 0, principal: string }',
        );
      }
      current = { token, refreshAt: Date.now() + token.lifetimeMs * REFRESH_AT };
      monitor.instrument('oauthbearer.token_refresh', {
        principal: token.principal,
        lifetimeMs: token.lifetimeMs,
      });
      return token;
    } catch (error) {
      const failure = error instanceof Error ? error : new Error(String(error));
      monitor.instrument('error.occurred', {
        type: 'oauthbearer.token_refresh.error',
        error: failure,
        fatal: false,
      });
      throw failure;
    } finally {
      inFlight = undefined;
    }
  };
  return () => {
    if (current && Date.now() < current.refreshAt) return Promise.resolve(current.token);
    inFlight ??= refresh();
    return inFlight;
  };
}
