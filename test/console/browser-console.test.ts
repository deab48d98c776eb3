/**
 * The page in chromium against `handsoff console` itself (the live simulator, the real
 * operator handler): sign in, the pictures, a refusal from the API, an emergency requested,
 * refused to a non-approver, approved by an approver into the audit trail, and an override.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { writeJson } from '../sim/cli-harness.ts';
import { SMALL_PIPELINE } from './fixtures.ts';
import { launch, startConsole } from './browser-support.ts';

/** c1 arrives a minute in and takes hours of virtual time (a virtual minute per real second). */
const SCENARIO = {
  start: '2026-11-30T08:59:00Z',
  until: '2026-12-04T00:00:00Z',
  approvers: ['pat'],
  changes: [{ id: 'c1', at: '2026-11-30T09:00:00Z', author: 'alice', approvedBy: ['bob'], behavior: { kind: 'healthy' } }],
};

let browser: Awaited<ReturnType<typeof launch>>;
let consoleRun: Awaited<ReturnType<typeof startConsole>>;
let page: Page;

beforeAll(async () => {
  consoleRun = await startConsole(['--pipeline', SMALL_PIPELINE, '--scenario', writeJson('browser-scenario.json', SCENARIO), '--speed', '60']);
  browser = await launch();
  page = await browser.context.newPage();
});

afterAll(async () => {
  await browser?.close();
  expect(await consoleRun?.stop()).toBe(0);
});

const signIn = async (name: string): Promise<void> => {
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect.poll(() => page.locator('#whoami').textContent()).toBe(`Signed in as ${name}`);
};

const auditTypes = (): Promise<string[]> => page.locator('table.audit tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-type') ?? ''));

describe('the page over handsoff console', () => {
  it('signs in, draws the pipeline and lists the change as the live run reaches it', async () => {
    await page.goto(`${consoleRun.url}/`);
    await signIn('dave');
    await page.getByRole('img', { name: /^Pipeline graph at .* UTC: storefront-api/ }).waitFor();
    // The page follows the run by itself: c1 appears without a reload.
    await expect.poll(() => page.locator('table.changes tr[data-change="c1"]').count()).toBe(1);
    await page.goto(`${consoleRun.url}/changes/c1`);
    await page.getByRole('img', { name: /^Rollout timeline of change c1/ }).waitFor();
    await expect.poll(auditTypes).toContain('change.received');
    expect(browser.outside).toEqual([]);
  });

  it("shows the API's refusal of a bad override, naming the field", async () => {
    await page.goto(`${consoleRun.url}/changes/c1`);
    const form = page.getByRole('form', { name: 'Override a blocker' });
    await form.getByLabel('Blocker', { exact: true }).fill('time-window');
    await form.getByLabel('Region', { exact: true }).fill('us-east-1');
    await form.getByLabel('Reason', { exact: true }).fill('ship the fix');
    await form.getByLabel('Expires', { exact: true }).fill('2030-01-01T00:00:00Z');
    await form.getByRole('button', { name: 'Override', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/Refused \(400.*expires/s);
  });

  it('requests an emergency, refuses a non-approver, and an approver approves it into the audit trail', async () => {
    await page.goto(`${consoleRun.url}/changes/c1`);
    await signIn('dave');
    const request = page.getByRole('form', { name: 'Emergency request' });
    await request.getByLabel('Reason', { exact: true }).fill('checkout is down for 3% of users');
    await request.getByRole('button', { name: 'Request emergency', exact: true }).click();
    await expect.poll(auditTypes).toContain('approval.requested');

    await signIn('mallory');
    const decision = page.getByRole('form', { name: 'Emergency decision' });
    await decision.getByLabel('Reason', { exact: true }).fill('fine by me');
    await decision.getByRole('button', { name: 'Deny', exact: true }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not-an-approver');

    await signIn('pat');
    await decision.getByLabel('Reason', { exact: true }).fill('small, tested fix');
    await decision.getByRole('button', { name: 'Approve', exact: true }).click();
    await expect.poll(auditTypes).toContain('approval.granted');
    expect(await page.locator('table.audit tr[data-type="approval.granted"]').textContent()).toContain('pat');
  });

  it('overrides a blocker, and the override is in the audit trail and the blockers list', async () => {
    await page.goto(`${consoleRun.url}/changes/c1`);
    await signIn('dave');
    const state = (await (await fetch(`${consoleRun.url}/api/state`, { headers: { 'X-Handsoff-User': 'dave' } })).json()) as { now: string };
    const expires = new Date(Date.parse(state.now) + 6 * 3_600_000).toISOString();
    const form = page.getByRole('form', { name: 'Override a blocker' });
    await form.getByLabel('Blocker', { exact: true }).fill('time-window');
    await form.getByLabel('Region', { exact: true }).fill('us-east-1');
    await form.getByLabel('Reason', { exact: true }).fill('ship the checkout fix tonight');
    await form.getByLabel('Expires', { exact: true }).fill(expires);
    await form.getByRole('button', { name: 'Override', exact: true }).click();
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Override applied' }).count()).toBe(1);
    await expect.poll(auditTypes).toContain('override.applied');
    await page.goto(`${consoleRun.url}/`);
    await expect.poll(() => page.locator('table.blockers').textContent()).toContain('ship the checkout fix tonight');
  });
});
