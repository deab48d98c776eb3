/**
 * Sign-in on AWS without a browser: PKCE as RFC 7636 computes it, the hosted UI's authorize,
 * token and sign-out requests as the page makes them, the hosted UI's answer checked against
 * the sign-in this tab started, what the page reads from an ID token, and what the app tells
 * its page about where it runs (console/page-config.ts, console/page.ts).
 */
import { describe, expect, it } from 'vitest';
import { CONSOLE_ENV } from '../../core/console.ts';
import { base64url, beginSignIn, codeChallenge, idTokenClaims, idTokenOf, logoutUrl, randomToken, readCallback, signedInFrom, tokenRequest, authorizeUrl } from '../../console/client/signin.ts';
import type { ConsoleBackend } from '../../console/api.ts';
import { createApp } from '../../console/app.ts';
import { pageConfig } from '../../console/page-config.ts';
import { pageHtml } from '../../console/page.ts';
import { unsignedIdToken } from './hosted-ui.ts';

const CFG = { domain: 'https://handsoff-123.auth.us-east-1.amazoncognito.com', clientId: '4pq7clientid', redirectUri: 'https://abc123.execute-api.us-east-1.amazonaws.com/' };
const params = (url: string) => Object.fromEntries(new URL(url).searchParams);

describe('PKCE (RFC 7636)', () => {
  it("gives Appendix B's verifier for its octets and its S256 challenge for that verifier", async () => {
    const octets = [116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191, 240, 91, 88, 5, 88, 83, 132, 141, 121];
    expect(base64url(Uint8Array.from(octets))).toBe('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk');
    expect(await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('draws verifiers of 32 random octets (43 characters), fresh each time', () => {
    expect(randomToken(32, (a) => a.fill(0xff))).toBe(`${'_'.repeat(42)}8`);
    const a = randomToken();
    expect(a).toMatch(/^[\w-]{43}$/);
    expect(randomToken()).not.toBe(a);
  });
});

describe("the hosted UI's requests", () => {
  it('sends the browser to authorize with the code flow, the client, the callback, openid, the state and the S256 challenge', () => {
    const url = authorizeUrl(CFG, { state: 'st4te', challenge: 'ch4llenge' });
    expect(url.startsWith(`${CFG.domain}/oauth2/authorize?`)).toBe(true);
    expect(params(url)).toEqual({
      response_type: 'code',
      client_id: CFG.clientId,
      redirect_uri: CFG.redirectUri,
      scope: 'openid email profile',
      state: 'st4te',
      code_challenge: 'ch4llenge',
      code_challenge_method: 'S256',
    });
    // A domain written with a trailing slash gives the same endpoint.
    expect(authorizeUrl({ ...CFG, domain: `${CFG.domain}/` }, { state: 's', challenge: 'c' }).startsWith(`${CFG.domain}/oauth2/authorize?`)).toBe(true);
  });

  it('trades the code with a form-encoded POST carrying the verifier', () => {
    const req = tokenRequest(CFG, { code: 'c0de', verifier: 'v3rifier' });
    expect(req.url).toBe(`${CFG.domain}/oauth2/token`);
    expect(req.init.method).toBe('POST');
    expect(req.init.headers).toEqual({ 'Content-Type': 'application/x-www-form-urlencoded' });
    expect(Object.fromEntries(new URLSearchParams(req.init.body))).toEqual({
      grant_type: 'authorization_code',
      client_id: CFG.clientId,
      code: 'c0de',
      redirect_uri: CFG.redirectUri,
      code_verifier: 'v3rifier',
    });
  });

  it("signs out at the hosted UI's /logout, back to the console", () => {
    const url = logoutUrl(CFG);
    expect(url.startsWith(`${CFG.domain}/logout?`)).toBe(true);
    expect(params(url)).toEqual({ client_id: CFG.clientId, logout_uri: CFG.redirectUri });
  });

  it('begins a sign-in whose challenge is its verifier\'s, and comes back only to a page of the console', async () => {
    const { pending, url } = await beginSignIn(CFG, '/changes/c2');
    expect(pending.returnTo).toBe('/changes/c2');
    expect(pending.state).not.toBe(pending.verifier);
    expect(params(url)).toMatchObject({ state: pending.state, code_challenge: await codeChallenge(pending.verifier) });
    for (const elsewhere of ['//evil.example/', 'https://evil.example/', 'changes']) expect((await beginSignIn(CFG, elsewhere)).pending.returnTo).toBe('/');
  });
});

describe("the hosted UI's answer", () => {
  const pending = { state: 'st4te', verifier: 'v', returnTo: '/' };

  it('is nothing on a plain page load, the code when the state is the one this tab sent', () => {
    expect(readCallback('', pending)).toEqual({ kind: 'none' });
    expect(readCallback('?x=1', pending)).toEqual({ kind: 'none' });
    expect(readCallback('?code=c0de&state=st4te', pending)).toEqual({ kind: 'code', code: 'c0de' });
  });

  it('is refused with what to do when the state differs, no sign-in was started, or the hosted UI said no', () => {
    const refused = (search: string, started: boolean = true) => {
      const a = readCallback(search, started ? pending : undefined);
      return a.kind === 'error' ? a.message : `not refused: ${a.kind}`;
    };
    expect(refused('?code=c0de&state=other')).toMatch(/state differs.*press Sign in again/);
    expect(refused('?code=c0de')).toMatch(/state differs/);
    expect(refused('?code=c0de&state=st4te', false)).toMatch(/did not start a sign-in/);
    expect(refused('?error=access_denied&error_description=User+is+disabled&state=st4te')).toMatch(/refused: User is disabled/);
    expect(refused('?error=access_denied&state=other')).toMatch(/state differs/);
    expect(refused('?code=&state=st4te')).toMatch(/no code/);
  });
});

describe('the ID token, as the page reads it', () => {
  const NOW = Date.parse('2026-12-01T12:00:00Z');
  const exp = NOW / 1000 + 3600;

  it('gives its claims (UTF-8 names too), or nothing for what is not a JWT', () => {
    const token = unsignedIdToken({ 'cognito:username': 'zoë', exp });
    expect(idTokenClaims(token)).toEqual({ 'cognito:username': 'zoë', exp });
    for (const bad of ['', 'abc', 'a.b', 'a.!!!.c', `a.${Buffer.from('[1]').toString('base64url')}.c`, 'a.b.c.d']) expect(idTokenClaims(bad), bad).toBeUndefined();
  });

  it('says who is signed in and whether in approvers, until it expires', () => {
    const pat = unsignedIdToken({ 'cognito:username': 'pat', 'cognito:groups': ['developers', 'approvers'], exp });
    expect(signedInFrom(pat, NOW, 'approvers')).toEqual({ token: pat, name: 'pat', approver: true, expiresAt: exp * 1000 });
    expect(signedInFrom(unsignedIdToken({ 'cognito:username': 'dave', exp }), NOW, 'approvers')).toMatchObject({ name: 'dave', approver: false });
    expect(signedInFrom(pat, exp * 1000, 'approvers')).toBeUndefined();
    expect(signedInFrom(unsignedIdToken({ sub: 'x', exp }), NOW, 'approvers')).toBeUndefined();
    expect(signedInFrom(unsignedIdToken({ 'cognito:username': 'pat' }), NOW, 'approvers')).toBeUndefined();
    expect(signedInFrom(null, NOW, 'approvers')).toBeUndefined();
  });

  it("is taken from the token endpoint's answer, or the page says what went wrong", () => {
    const token = unsignedIdToken({ 'cognito:username': 'pat', exp });
    expect(idTokenOf(200, { id_token: token, access_token: 'a' })).toEqual({ ok: true, token });
    expect(idTokenOf(400, { error: 'invalid_grant' })).toEqual({ ok: false, message: 'the token endpoint answered 400 (invalid_grant); press Sign in again' });
    expect(idTokenOf(200, { access_token: 'a' })).toMatchObject({ ok: false, message: expect.stringContaining('no ID token') });
    expect(idTokenOf(200, null)).toMatchObject({ ok: false });
  });
});

describe('what the app tells its page', () => {
  const ENV = {
    [CONSOLE_ENV.USER_POOL_CLIENT_ID]: CFG.clientId,
    [CONSOLE_ENV.SIGN_IN_DOMAIN]: CFG.domain,
    [CONSOLE_ENV.REDIRECT_URI]: CFG.redirectUri,
  };

  it('locally: sign in by name, whatever the environment', () => {
    expect(pageConfig('local', ENV)).toEqual({ mode: 'local' });
    expect(pageConfig('local', {})).toEqual({ mode: 'local' });
  });

  it('on AWS: the hosted UI, the app client and the callback from the environment', () => {
    expect(pageConfig('aws', ENV)).toEqual({ mode: 'aws', signIn: CFG, approversGroup: 'approvers' });
    expect(pageConfig('aws', { ...ENV, [CONSOLE_ENV.SIGN_IN_DOMAIN]: `${CFG.domain}/` }).mode).toBe('aws');
  });

  it('on AWS: a missing or malformed value is a deployment error naming the variable', () => {
    for (const name of Object.keys(ENV)) expect(() => pageConfig('aws', { ...ENV, [name]: undefined }), name).toThrow(`${name} is not set`);
    expect(() => pageConfig('aws', { ...ENV, [CONSOLE_ENV.SIGN_IN_DOMAIN]: 'http://handsoff.auth.example.com' })).toThrow(/SIGN_IN_DOMAIN must be an https URL/);
    expect(() => pageConfig('aws', { ...ENV, [CONSOLE_ENV.SIGN_IN_DOMAIN]: `${CFG.domain}/oauth2` })).toThrow(/without a path/);
    expect(() => pageConfig('aws', { ...ENV, [CONSOLE_ENV.REDIRECT_URI]: 'not a url' })).toThrow(/REDIRECT_URI is not a URL/);
    expect(() => pageConfig('aws', { ...ENV, [CONSOLE_ENV.USER_POOL_CLIENT_ID]: 'a b' })).toThrow(/not a Cognito app client id/);
  });

  it("on AWS the page's header has the Sign in and Sign out buttons and no Name field; locally the Name form", () => {
    const aws = pageHtml('/', pageConfig('aws', ENV));
    expect(aws).toContain('<button type="button" id="signin">Sign in</button>');
    expect(aws).toContain('>Sign out</button>');
    expect(aws).not.toContain('<label>Name');
    const config = /data-config="([^"]*)"/.exec(aws)![1]!.replace(/&quot;/g, '"').replace(/&amp;/g, '&').replace(/&#39;/g, "'");
    expect(JSON.parse(config)).toEqual({ mode: 'aws', signIn: CFG, approversGroup: 'approvers' });
    const local = pageHtml('/');
    expect(local).toMatch(/<label>Name<input name="name"/);
    expect(local).not.toContain('Sign out');
    expect(local).toContain('data-config="{&quot;mode&quot;:&quot;local&quot;}"');
  });

  it('the app picks it from its backend and environment: a console on AWS without its sign-in answers 500 naming the variable', async () => {
    const backend = (kind: ConsoleBackend['kind']) => ({ kind }) as unknown as ConsoleBackend;
    const configOf = async (res: Response) => JSON.parse(/data-config="([^"]*)"/.exec(await res.text())![1]!.replace(/&quot;/g, '"')) as unknown;
    const local = createApp({ backend: backend('local'), identify: () => undefined, environment: ENV });
    expect(await configOf(await local.request('/'))).toEqual({ mode: 'local' });
    const aws = createApp({ backend: backend('aws'), identify: () => undefined, environment: ENV });
    expect(await configOf(await aws.request('/changes/c1'))).toMatchObject({ mode: 'aws', signIn: CFG });
    const broken = await createApp({ backend: backend('aws'), identify: () => undefined, environment: {} }).request('/');
    expect(broken.status).toBe(500);
    expect(((await broken.json()) as { error: string }).error).toContain(`${CONSOLE_ENV.USER_POOL_CLIENT_ID} is not set`);
  });
});
