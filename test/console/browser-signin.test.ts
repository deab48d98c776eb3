/**
 * Sign-in on AWS in a real browser (Debian's chromium, driven by playwright-core): the real
 * app, told by its environment that it runs on AWS, over a fake backend of kind `aws`, and a
 * stand-in for the Cognito hosted UI (test/console/hosted-ui.ts), both on 127.0.0.1. "Sign
 * in" goes round the hosted UI's authorization code flow with PKCE and back, the page sends
 * the ID token as a Bearer token on every API call, shows who is signed in, an approver
 * approves, a non-approver is refused, and signing out forgets the token.
 *
 * API Gateway's JWT authorizer verifies the token before the console's function runs; here
 * the app's identity function reads the Bearer token's claims instead (tests only: the
 * function on AWS reads what the authorizer checked, console/identity.ts awsIdentity).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { Context } from 'hono';
import type { HandsoffEvent } from '../../core/events.ts';
import { CONSOLE_ENV } from '../../core/console.ts';
import { callerFromClaims, type Identify } from '../../console/identity.ts';
import { idTokenClaims } from '../../console/client/signin.ts';
import { fakeBackend, launch, serveApp } from './browser-support.ts';
import { demoEvents, demoPipeline } from './demo.ts';
import { startHostedUi, type HostedUi } from './hosted-ui.ts';

const NOW = Date.parse('2026-12-01T16:00:00.000Z');
const CLIENT_ID = 'handsoffconsoletest';
let browser: Awaited<ReturnType<typeof launch>>;
let server: Awaited<ReturnType<typeof serveApp>>;
let hosted: HostedUi;
let page: Page;
/** Every API call's Authorization header, as the app saw it. */
const calls: Array<{ path: string; authorization: string | undefined }> = [];
/** Tokens the test's stand-in authorizer refuses from now on (as API Gateway refuses an expired one). */
const refused = new Set<string>();

const bearerIdentity: Identify = (c: Context) => {
  const authorization = c.req.header('Authorization');
  calls.push({ path: c.req.path, authorization });
  const token = /^Bearer (\S+)$/.exec(authorization ?? '')?.[1];
  if (!token || refused.has(token)) return undefined;
  return callerFromClaims(idTokenClaims(token));
};

beforeAll(async () => {
  const environment: Record<string, string> = { [CONSOLE_ENV.USER_POOL_CLIENT_ID]: CLIENT_ID };
  hosted = await startHostedUi({ clientId: CLIENT_ID, redirectUri: () => environment[CONSOLE_ENV.REDIRECT_URI]! });
  const events: HandsoffEvent[] = (await demoEvents()).filter((e) => Date.parse(e.time) <= NOW);
  const backend = { ...fakeBackend(events, [demoPipeline()], NOW), kind: 'aws' as const, subscribe: undefined };
  server = await serveApp(backend, { identify: bearerIdentity, environment });
  environment[CONSOLE_ENV.SIGN_IN_DOMAIN] = hosted.url;
  environment[CONSOLE_ENV.REDIRECT_URI] = `${server.url}/`;
  browser = await launch();
  page = await browser.context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await hosted?.close();
});

const whoami = () => page.locator('#whoami').textContent();
const stored = () => page.evaluate(() => sessionStorage.getItem('handsoff-id-token'));
const auditTypes = (): Promise<string[]> => page.locator('table.audit tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-type') ?? ''));

const signIn = async (username: string, groups?: string[]): Promise<void> => {
  hosted.signInAs({ username, ...(groups ? { groups } : {}) });
  const before = hosted.issued.length;
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect.poll(() => hosted.issued.length).toBe(before + 1);
  await expect.poll(whoami).toBe(`Signed in as ${username}${groups?.includes('approvers') ? ' (approver)' : ''}`);
};

const signOut = async (): Promise<void> => {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect.poll(() => hosted.seen.at(-1)?.path).toBe('/logout');
  await page.waitForURL(`${server.url}/`);
  await expect.poll(whoami).toBe('Not signed in');
};

describe('sign-in on AWS, in chromium', () => {
  it('offers the hosted UI, not a name to type, and shows the API refusal until signed in', async () => {
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('401');
    expect(await page.getByRole('alert').textContent()).toContain('Sign in again with the Sign in button above.');
    expect(await page.getByLabel('Name', { exact: true }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Sign out', exact: true }).isVisible()).toBe(false);
    expect(await whoami()).toBe('Not signed in');
  });

  it('goes round the hosted UI with PKCE and back, keeps the ID token in the tab, and sends it on every API call', async () => {
    const from = calls.length;
    await signIn('dave');
    const [authorize, token] = hosted.seen.slice(-2);
    expect(authorize!.path).toBe('/oauth2/authorize');
    expect(token!.path).toBe('/oauth2/token');
    expect(token!.params).toMatchObject({ grant_type: 'authorization_code', client_id: CLIENT_ID, redirect_uri: `${server.url}/` });
    // The code and the state are off the address bar; the token is in sessionStorage, no cookie.
    expect(page.url()).toBe(`${server.url}/`);
    expect(await stored()).toBe(hosted.issued.at(-1));
    expect(await browser.context.cookies()).toEqual([]);
    await expect.poll(() => page.locator('table.changes tbody tr').count()).toBe(2);
    const after = calls.slice(from).filter((c) => c.authorization !== undefined);
    expect(after.length).toBeGreaterThan(0);
    expect(new Set(after.map((c) => c.authorization))).toEqual(new Set([`Bearer ${hosted.issued.at(-1)}`]));
    expect(await page.getByRole('button', { name: 'Sign in', exact: true }).isVisible()).toBe(false);
  });

  it('refuses an answer that does not carry the state this tab sent', async () => {
    const before = hosted.seen.length;
    await page.evaluate(() => sessionStorage.setItem('handsoff-sign-in', JSON.stringify({ state: 'mine', verifier: 'v'.repeat(43), returnTo: '/' })));
    await page.goto(`${server.url}/?code=stolen&state=theirs`);
    await expect.poll(() => page.locator('#signin-problem').textContent()).toContain('state differs');
    expect(hosted.seen.length).toBe(before);
    expect(page.url()).toBe(`${server.url}/`);
  });

  it('requests an emergency; a non-approver is refused, an approver approves; each comes back to the change page', async () => {
    await page.goto(`${server.url}/changes/c2`);
    const request = page.getByRole('form', { name: 'Emergency request' });
    await request.getByLabel('Reason', { exact: true }).fill('checkout is down for 3% of users');
    await request.getByRole('button', { name: 'Request emergency', exact: true }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Emergency requested.' }).count()).toBe(1);
    await expect.poll(auditTypes).toContain('approval.requested');
    await signOut();

    await page.goto(`${server.url}/changes/c2`);
    await signIn('mallory', ['developers']);
    expect(page.url()).toBe(`${server.url}/changes/c2`);
    const decision = page.getByRole('form', { name: 'Emergency decision' });
    await decision.getByLabel('Reason', { exact: true }).fill('looks fine to me');
    await decision.getByRole('button', { name: 'Approve', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not-an-approver');
    await signOut();

    await page.goto(`${server.url}/changes/c2`);
    await signIn('pat', ['approvers']);
    expect(page.url()).toBe(`${server.url}/changes/c2`);
    await decision.getByLabel('Reason', { exact: true }).fill('the fix is small and tested');
    await decision.getByRole('button', { name: 'Approve', exact: true }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Emergency approved.' }).count()).toBe(1);
    await expect.poll(auditTypes).toContain('approval.granted');
    const granted = page.locator('table.audit tr[data-type="approval.granted"]');
    expect(await granted.textContent()).toContain('pat');
    expect(await granted.textContent()).toContain('the fix is small and tested');
  });

  it('asks to sign in again when the API no longer takes the token', async () => {
    refused.add((await stored())!);
    await page.reload();
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('Sign in again');
    expect(await whoami()).toBe('Not signed in');
    expect(await stored()).toBeNull();
    await signIn('pat', ['approvers']);
  });

  it('signs out: the token is gone, the hosted UI ends its session, and the API calls carry no token', async () => {
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.locator('table.changes tbody tr').count()).toBe(2);
    await signOut();
    expect(hosted.seen.at(-1)!.params).toEqual({ client_id: CLIENT_ID, logout_uri: `${server.url}/` });
    expect(await stored()).toBeNull();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('401');
    expect(calls.at(-1)!.authorization).toBeUndefined();
    expect(browser.outside).toEqual([]);
  });
});
