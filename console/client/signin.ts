/**
 * Sign-in on AWS, the pure part (docs/console.md "Who calls"): the authorization code flow
 * with PKCE (RFC 7636, S256) against the Cognito hosted UI, the token request, and what the
 * page reads from an ID token. No DOM, no storage, no network: the browser glue is
 * console/client/session.ts; these run in Node as in the browser (Web Crypto, `atob`/`btoa`).
 *
 * The page reads the ID token's claims to show who is signed in; it checks nothing with
 * them. The API decides (API Gateway's JWT authorizer verifies the token's signature, issuer,
 * audience and expiry before the console's function sees a request).
 */
import type { SignInConfig } from '../api.ts';

/** base64url without padding (RFC 4648 §5), as PKCE and JWTs write bytes. */
export const base64url = (bytes: Uint8Array): string => {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
};

const fromBase64url = (text: string): Uint8Array => {
  const b64 = text.replace(/-/g, '+').replace(/_/g, '/');
  const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (ch) => ch.charCodeAt(0));
};

/** A fresh random value: `bytes` octets from the platform's CSPRNG, base64url (32 octets: a 43-character PKCE verifier). */
export const randomToken = (bytes = 32, fill: (a: Uint8Array) => Uint8Array = (a) => globalThis.crypto.getRandomValues(a)): string =>
  base64url(fill(new Uint8Array(bytes)));

/** The S256 code challenge of a verifier: base64url(SHA-256(ASCII(verifier))). */
export const codeChallenge = async (verifier: string): Promise<string> =>
  base64url(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));

/** The scopes the page asks for (the app client allows these). */
export const SCOPES = ['openid', 'email', 'profile'] as const;

const endpoint = (domain: string, path: string): string => `${domain.replace(/\/+$/, '')}${path}`;

/** Where the "Sign in" button sends the browser: the hosted UI's authorize endpoint. */
export const authorizeUrl = (cfg: SignInConfig, p: { state: string; challenge: string }): string => {
  const q = new URLSearchParams({
    response_type: 'code',
    client_id: cfg.clientId,
    redirect_uri: cfg.redirectUri,
    scope: SCOPES.join(' '),
    state: p.state,
    code_challenge: p.challenge,
    code_challenge_method: 'S256',
  });
  return `${endpoint(cfg.domain, '/oauth2/authorize')}?${q}`;
};

/** The token request that trades the code (and the verifier) for tokens: a form-encoded POST. */
export const tokenRequest = (cfg: SignInConfig, p: { code: string; verifier: string }): { url: string; init: { method: 'POST'; headers: Record<string, string>; body: string } } => ({
  url: endpoint(cfg.domain, '/oauth2/token'),
  init: {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: cfg.clientId, code: p.code, redirect_uri: cfg.redirectUri, code_verifier: p.verifier }).toString(),
  },
});

/** Where "Sign out" sends the browser: the hosted UI ends its session and comes back to the console. */
export const logoutUrl = (cfg: SignInConfig): string =>
  `${endpoint(cfg.domain, '/logout')}?${new URLSearchParams({ client_id: cfg.clientId, logout_uri: cfg.redirectUri })}`;

/** What the browser remembers between "Sign in" and the hosted UI's answer (sessionStorage, this tab only). */
export interface PendingSignIn {
  state: string;
  verifier: string;
  /** The page to go back to once signed in (the callback is always the console's `/`). */
  returnTo: string;
}

/** A sign-in to start: the pending record to keep and the URL to go to. */
export const beginSignIn = async (cfg: SignInConfig, returnTo: string, random: () => string = () => randomToken()): Promise<{ pending: PendingSignIn; url: string }> => {
  const pending = { state: random(), verifier: random(), returnTo: /^\/(?!\/)/.test(returnTo) ? returnTo : '/' };
  return { pending, url: authorizeUrl(cfg, { state: pending.state, challenge: await codeChallenge(pending.verifier) }) };
};

/**
 * The hosted UI's answer in the callback's query: nothing (not a callback), the code to trade
 * (its `state` is the one this tab sent), or why not, in words for the page.
 */
export const readCallback = (search: string, pending: PendingSignIn | undefined): { kind: 'none' } | { kind: 'code'; code: string } | { kind: 'error'; message: string } => {
  const q = new URLSearchParams(search);
  const code = q.get('code');
  const error = q.get('error');
  if (code === null && error === null) return { kind: 'none' };
  if (!pending) return { kind: 'error', message: 'this tab did not start a sign-in (or it was already used); press Sign in again' };
  if (q.get('state') !== pending.state) return { kind: 'error', message: 'the sign-in answer does not belong to the sign-in this tab started (state differs); press Sign in again' };
  if (error !== null) return { kind: 'error', message: `the sign-in was refused: ${q.get('error_description') ?? error}; press Sign in again` };
  if (!code) return { kind: 'error', message: 'the sign-in answer carries no code; press Sign in again' };
  return { kind: 'code', code };
};

/** The claims of a JWT, read without checking its signature (display only); undefined when it is not a JWT. */
export const idTokenClaims = (token: string): Record<string, unknown> | undefined => {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const claims = JSON.parse(new TextDecoder().decode(fromBase64url(parts[1]))) as unknown;
    return claims && typeof claims === 'object' && !Array.isArray(claims) ? (claims as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
};

/** Who the page says is signed in. */
export interface SignedIn {
  token: string;
  name: string;
  /** In the `approvers` group as the token says: shown, never trusted (the API decides). */
  approver: boolean;
  /** The token's `exp`, in ms. */
  expiresAt: number;
}

/** The token's `cognito:username` and groups, while it has not expired; undefined otherwise. */
export const signedInFrom = (token: string | null | undefined, nowMs: number, approversGroup: string): SignedIn | undefined => {
  if (!token) return undefined;
  const claims = idTokenClaims(token);
  const name = claims?.['cognito:username'];
  const exp = claims?.exp;
  if (typeof name !== 'string' || name === '' || typeof exp !== 'number' || exp * 1000 <= nowMs) return undefined;
  const groups = claims!['cognito:groups'];
  return { token, name, approver: Array.isArray(groups) && groups.includes(approversGroup), expiresAt: exp * 1000 };
};

/** The ID token from the token endpoint's answer, or what went wrong in words. */
export const idTokenOf = (status: number, body: unknown): { ok: true; token: string } | { ok: false; message: string } => {
  const b = (body ?? {}) as Record<string, unknown>;
  if (status !== 200) return { ok: false, message: `the token endpoint answered ${status}${typeof b.error === 'string' ? ` (${b.error})` : ''}; press Sign in again` };
  if (typeof b.id_token !== 'string' || !idTokenClaims(b.id_token)) return { ok: false, message: 'the token endpoint gave no ID token; press Sign in again' };
  return { ok: true, token: b.id_token };
};
