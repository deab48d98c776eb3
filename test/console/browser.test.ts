/**
 * The console's page in a real browser (Debian's chromium, driven by playwright-core): sign
 * in, see the pipeline graph and the changes, request an emergency, have it denied to a
 * non-approver and approved by an approver, override a blocker, and read each result on the
 * page, by the accessible names docs/console.md lists. The page runs over the real app
 * (console/app.ts); the backend is the demo's stream at a moment of its second day, with the
 * operator actions answered by the core's rules (test/console/browser-support.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import type { HandsoffEvent } from '../../core/events.ts';
import { fakeBackend, launch, serveApp } from './browser-support.ts';
import { demoEvents, demoPipeline } from './demo.ts';

const NOW = Date.parse('2026-12-01T16:00:00.000Z');
let browser: Awaited<ReturnType<typeof launch>>;
let server: Awaited<ReturnType<typeof serveApp>>;
let events: HandsoffEvent[];
let page: Page;

beforeAll(async () => {
  events = (await demoEvents()).filter((e) => Date.parse(e.time) <= NOW);
  server = await serveApp(fakeBackend(events, [demoPipeline()], NOW), ['pat']);
  browser = await launch();
  page = await browser.context.newPage();
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

const signIn = async (name: string): Promise<void> => {
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect.poll(() => page.locator('#whoami').textContent()).toBe(`Signed in as ${name}`);
};

/** With HANDSOFF_SCREENSHOTS=DIR, each step's page is saved there (to look at; never committed). */
const shot = async (name: string): Promise<void> => {
  const dir = process.env.HANDSOFF_SCREENSHOTS;
  if (dir) await page.screenshot({ path: `${dir}/${name}.png`, fullPage: true });
};

const auditTypes = (): Promise<string[]> => page.locator('table.audit tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-type') ?? ''));

describe('the console page in chromium', () => {
  it('asks who you are first, and shows the API refusal until you sign in', async () => {
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('401');
    await signIn('dave');
    const cookies = await browser.context.cookies(server.url);
    expect(cookies.find((c) => c.name === 'handsoff-user')?.value).toBe('dave');
  });

  it('draws every pipeline as a picture and lists the changes with their status and what holds them', async () => {
    await page.goto(`${server.url}/`);
    const graph = page.getByRole('img', { name: /^Pipeline graph at 2026-12-01 16:00 UTC: storefront-api; 2 changes$/ });
    await graph.waitFor();
    expect(await graph.locator('title').first().textContent()).toMatch(/^Pipeline graph/);
    const rows = page.locator('table.changes tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    const c2 = page.locator('table.changes tr[data-change="c2"]');
    expect(await c2.textContent()).toContain('waiting');
    expect(await c2.textContent()).toContain('time-window');
    expect(await page.locator('table.blockers').textContent()).toContain('time-window');
    expect(browser.outside).toEqual([]);
    await shot('index');
  });

  it("shows a change's rollout timeline and its audit trail", async () => {
    await page.goto(`${server.url}/changes/c2`);
    const timeline = page.getByRole('img', { name: /^Rollout timeline of change c2/ });
    await timeline.waitFor();
    expect(await timeline.locator('title').first().textContent()).toMatch(/^Rollout timeline of change c2/);
    await expect.poll(auditTypes).toContain('blocked');
    expect((await auditTypes())[0]).toBe('change.received');
    await shot('change');
  });

  it('requests an emergency, shows a non-approver the refusal, and an approver approves it into the audit trail', async () => {
    await page.goto(`${server.url}/changes/c2`);
    await signIn('dave');
    const request = page.getByRole('form', { name: 'Emergency request' });
    await request.getByLabel('Reason', { exact: true }).fill('checkout is down for 3% of users');
    await request.getByRole('button', { name: 'Request emergency', exact: true }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Emergency requested.' }).count()).toBe(1);
    await expect.poll(auditTypes).toContain('approval.requested');

    await signIn('mallory');
    const decision = page.getByRole('form', { name: 'Emergency decision' });
    await decision.getByLabel('Reason', { exact: true }).fill('looks fine to me');
    await decision.getByRole('button', { name: 'Deny', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not-an-approver');
    await shot('not-an-approver');

    await signIn('Pat');
    await decision.getByLabel('Reason', { exact: true }).fill('the fix is small and tested');
    await decision.getByRole('button', { name: 'Approve', exact: true }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Emergency approved.' }).count()).toBe(1);
    await expect.poll(auditTypes).toContain('approval.granted');
    const granted = page.locator('table.audit tr[data-type="approval.granted"]');
    expect(await granted.textContent()).toContain('Pat');
    expect(await granted.textContent()).toContain('the fix is small and tested');
    // The timeline marks the request and the approval.
    expect(await page.locator('#change-timeline svg g.mark.granted title').textContent()).toContain('emergency approved by Pat');
    await shot('approved');
  });

  it('overrides a blocker from the change page, and names every field the API refuses', async () => {
    await page.goto(`${server.url}/changes/c2`);
    await signIn('dave');
    const form = page.getByRole('form', { name: 'Override a blocker' });
    await form.getByLabel('Blocker', { exact: true }).fill('time-window');
    await form.getByLabel('Region', { exact: true }).fill('ap-southeast-6');
    await form.getByLabel('Reason', { exact: true }).fill('ship the checkout fix tonight');
    await form.getByLabel('Expires', { exact: true }).fill('2026-12-09T00:00:00Z');
    await form.getByRole('button', { name: 'Override', exact: true }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('expires');
    expect(await alert.textContent()).toContain('400');
    await shot('override-refused');

    await form.getByLabel('Expires', { exact: true }).fill('2026-12-01T18:00:00Z');
    await form.getByRole('button', { name: 'Override', exact: true }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Override applied' }).count()).toBe(1);
    await expect.poll(auditTypes).toContain('override.applied');
    expect(await page.locator('table.audit tr[data-type="override.applied"]').textContent()).toContain('ship the checkout fix tonight');
    await page.goto(`${server.url}/`);
    await expect.poll(() => page.locator('table.blockers').textContent()).toContain('by dave until 2026-12-01 18:00:00 UTC: ship the checkout fix tonight');
    await shot('overridden');
    expect(browser.outside).toEqual([]);
  });
});
