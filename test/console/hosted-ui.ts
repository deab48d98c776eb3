/**
 * A stand-in for the Cognito hosted UI, on 127.0.0.1, for the browser test of sign-in on
 * AWS: `/oauth2/authorize` signs in whoever the test says and sends the browser back with a
 * code and the state; `/oauth2/token` trades the code for an (unsigned) ID token only with
 * the verifier of the code's challenge, for the client and redirect URI it was issued to;
 * `/logout` sends the browser back to the registered sign-out URL. Every request is kept,
 * so the test can look at what the page sent.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';

export interface FakeUser {
  username: string;
  groups?: string[];
}

const b64url = (s: string | Buffer): string => Buffer.from(s).toString('base64url');

/** An ID token as Cognito shapes it, with no signature (`alg: none`): for tests only; nothing on AWS accepts it. */
export const unsignedIdToken = (claims: Record<string, unknown>): string => `${b64url(JSON.stringify({ alg: 'none', typ: 'JWT' }))}.${b64url(JSON.stringify(claims))}.`;

export interface HostedUi {
  url: string;
  /** Who signs in at the next authorize request. */
  signInAs(user: FakeUser): void;
  /** Every request, in order, with its query or form parameters. */
  readonly seen: Array<{ path: string; params: Record<string, string> }>;
  /** The ID tokens it gave, in order. */
  readonly issued: string[];
  close(): Promise<void>;
}

export const startHostedUi = async (opts: { clientId: string; redirectUri: () => string }): Promise<HostedUi> => {
  let next: FakeUser | undefined;
  const codes = new Map<string, { challenge: string; redirectUri: string; user: FakeUser }>();
  const seen: HostedUi['seen'] = [];
  const issued: string[] = [];
  const app = new Hono();

  app.get('/oauth2/authorize', (c) => {
    const q = Object.fromEntries(new URL(c.req.url).searchParams);
    seen.push({ path: '/oauth2/authorize', params: q });
    const wrong = [
      q.response_type !== 'code' && 'response_type',
      q.client_id !== opts.clientId && 'client_id',
      q.redirect_uri !== opts.redirectUri() && 'redirect_uri',
      !(q.scope ?? '').split(' ').includes('openid') && 'scope',
      q.code_challenge_method !== 'S256' && 'code_challenge_method',
      !/^[\w-]{43}$/.test(q.code_challenge ?? '') && 'code_challenge',
      !q.state && 'state',
    ].filter(Boolean);
    if (wrong.length) return c.text(`bad authorize request: ${wrong.join(', ')}`, 400);
    if (!next) return c.text('the test named nobody to sign in', 400);
    const code = randomUUID();
    codes.set(code, { challenge: q.code_challenge!, redirectUri: q.redirect_uri!, user: next });
    next = undefined;
    return c.redirect(`${q.redirect_uri}?${new URLSearchParams({ code, state: q.state! })}`, 302);
  });

  app.post('/oauth2/token', async (c) => {
    // Cognito's token endpoint answers pages of any origin (a public client has no secret).
    c.header('Access-Control-Allow-Origin', c.req.header('Origin') ?? '*');
    const type = c.req.header('Content-Type') ?? '';
    const form = Object.fromEntries(new URLSearchParams(await c.req.text()));
    seen.push({ path: '/oauth2/token', params: form });
    if (!type.startsWith('application/x-www-form-urlencoded')) return c.json({ error: 'invalid_request' }, 400);
    const issuedCode = codes.get(form.code ?? '');
    codes.delete(form.code ?? '');
    const challenge = createHash('sha256').update(form.code_verifier ?? '').digest('base64url');
    if (form.grant_type !== 'authorization_code' || form.client_id !== opts.clientId) return c.json({ error: 'invalid_client' }, 400);
    if (!issuedCode || issuedCode.redirectUri !== form.redirect_uri || issuedCode.challenge !== challenge) return c.json({ error: 'invalid_grant' }, 400);
    const now = Math.floor(Date.now() / 1000);
    const token = unsignedIdToken({
      sub: randomUUID(),
      aud: opts.clientId,
      token_use: 'id',
      'cognito:username': issuedCode.user.username,
      ...(issuedCode.user.groups ? { 'cognito:groups': issuedCode.user.groups } : {}),
      iat: now,
      exp: now + 3600,
    });
    issued.push(token);
    return c.json({ id_token: token, access_token: 'unused', refresh_token: 'unused', token_type: 'Bearer', expires_in: 3600 });
  });

  app.get('/logout', (c) => {
    const q = Object.fromEntries(new URL(c.req.url).searchParams);
    seen.push({ path: '/logout', params: q });
    if (q.client_id !== opts.clientId || q.logout_uri !== opts.redirectUri()) return c.text('bad logout request', 400);
    return c.redirect(q.logout_uri, 302);
  });

  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    signInAs: (user) => (next = user),
    seen,
    issued,
    close: () =>
      new Promise<void>((resolve) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
};
