/**
 * The review gate with a GitHub source: recorded GitHub API responses (fixtures/github)
 * behind a stubbed fetch, the token secret behind a mocked Secrets Manager. No network.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { reviewGate } from '../../lambdas/review-gate/index.ts';
import { setGitHubApi } from '../../lambdas/review-gate/github.ts';
import { ENV } from '../../lambdas/shared/config.ts';
import { GITHUB_ATTEMPTS, githubApi } from '../../lambdas/shared/github.ts';
import { forgetToken, githubToken, TOKEN_CACHE_MS } from '../../lambdas/shared/github-token.ts';
import { logger } from '../../lambdas/shared/logger.ts';
import { $metadata, NOW, codeCommit, useAwsMocks } from './support.ts';

useAwsMocks();

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/github');
const fixture = (name: string): unknown => JSON.parse(readFileSync(path.join(fixtures, `${name}.json`), 'utf8'));

const REPO = 'acme/storefront';
const COMMIT = '4c1e2f0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e';
const SECRET = 'arn:aws:secretsmanager:us-west-2:111122223333:secret:handsoff/github-token-AbCdEf';
const TOKEN = 'github_pat_11AAAAAAA0test0token0never0logged';
const input = { pipeline: 'storefront-api', change: COMMIT, repository: REPO, commit: COMMIT };
const PULLS = `/repos/acme/storefront/commits/${COMMIT}/pulls`;
const REVIEWS = '/repos/acme/storefront/pulls/42/reviews';

const secrets = mockClient(SecretsManagerClient);

interface Answer {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}
/** Answers per path (a list: one per call, the last repeated); every request recorded. */
let routes: Record<string, Answer | Answer[] | Error>;
let requests: Array<{ url: string; authorization: string | undefined; version: string | undefined }>;
let sleeps: number[];

const stubFetch = (async (url: string | URL, init?: RequestInit) => {
  const u = new URL(String(url));
  const headers = (init?.headers ?? {}) as Record<string, string>;
  requests.push({ url: u.pathname + u.search, authorization: headers.Authorization, version: headers['X-GitHub-Api-Version'] });
  const route = routes[u.pathname + (u.searchParams.has('page') ? `?page=${u.searchParams.get('page')}` : '')];
  if (route === undefined) return new Response(JSON.stringify(fixture('error-not-found')), { status: 404 });
  if (route instanceof Error) throw route;
  const answers = [route].flat();
  const calls = requests.filter((r) => r.url.split('?')[0] === u.pathname).length;
  const answer = answers[Math.min(calls, answers.length) - 1]!;
  return new Response(JSON.stringify(answer.body), { status: answer.status ?? 200, headers: answer.headers });
}) as typeof fetch;

beforeEach(() => {
  secrets.reset();
  secrets.on(GetSecretValueCommand, { SecretId: SECRET }).resolves({ SecretString: TOKEN });
  forgetToken();
  vi.stubEnv(ENV.SOURCE, 'github');
  vi.stubEnv(ENV.GITHUB_TOKEN_SECRET, SECRET);
  requests = [];
  sleeps = [];
  routes = { [PULLS]: { body: fixture('commit-pulls-merged') }, [REVIEWS]: { body: fixture('reviews-approved') } };
  // The real client and token cache, over the stubbed fetch; no real waiting between tries.
  setGitHubApi(
    githubApi({
      token: () => githubToken(process.env[ENV.GITHUB_TOKEN_SECRET]!),
      forgetToken,
      fetch: stubFetch,
      sleep: async (ms) => void sleeps.push(ms),
    }),
  );
});
afterEach(() => setGitHubApi(undefined));

const rejection = async () => {
  const out = await reviewGate(input);
  expect(out.approved).toBe(false);
  return (out as { reason: string }).reason;
};

describe('a GitHub source: the merged pull request and its reviews decide', () => {
  it('lets through a commit merged by a pull request someone else approved, naming the reviewers whose latest review approves', async () => {
    const out = await reviewGate(input);
    // bob (a comment after his approval changes nothing), carol (approved after requesting
    // changes); not dave (dismissed) and not alice (the author).
    expect(out).toEqual({ approved: true, pullRequest: 'acme/storefront#42', reviewers: ['bob', 'carol'] });
    expect(requests.map((r) => r.url)).toEqual([`${PULLS}?per_page=100`, `${REVIEWS}?per_page=100`]);
    expect(requests.every((r) => r.authorization === `Bearer ${TOKEN}` && r.version === '2022-11-28')).toBe(true);
    expect(codeCommit.calls()).toHaveLength(0);
  });

  it('rejects a commit pushed straight to main (no merged pull request made it), with the reason', async () => {
    routes[PULLS] = { body: fixture('commit-pulls-direct-push') };
    expect(await rejection()).toBe(`unreviewed: commit ${COMMIT} did not reach main through a merged pull request`);
    expect(requests).toHaveLength(1);
  });

  it('rejects a commit whose pull request was merged into another branch', async () => {
    routes[PULLS] = { body: fixture('commit-pulls-other-branch') };
    expect(await rejection()).toMatch(/^unreviewed: commit .* did not reach main through a merged pull request$/);
  });

  it("never counts the author's own approval (case-insensitively)", async () => {
    routes[REVIEWS] = { body: fixture('reviews-self-approved') };
    expect(await rejection()).toMatch(/^self-approved: pull request acme\/storefront#42: the only approval is the author's own \(alice\)/);
  });

  it('counts the latest deciding review per reviewer: an approval followed by requested changes is none', async () => {
    routes[REVIEWS] = { body: fixture('reviews-changes-requested') };
    expect(await rejection()).toBe('unreviewed: pull request acme/storefront#42 was merged without any approval');
  });

  it('reads every page of the reviews (Link rel="next"): a later page can take an approval back', async () => {
    const [first, second] = fixture('reviews-changes-requested') as unknown[];
    routes[REVIEWS] = { body: [first], headers: { link: `<https://api.github.com${REVIEWS}?per_page=100&page=2>; rel="next", <https://api.github.com${REVIEWS}?per_page=100&page=2>; rel="last"` } };
    routes[`${REVIEWS}?page=2`] = { body: [second] };
    expect(await rejection()).toMatch(/^unreviewed:/);
    expect(requests.map((r) => r.url)).toEqual([`${PULLS}?per_page=100`, `${REVIEWS}?per_page=100`, `${REVIEWS}?per_page=100&page=2`]);
  });

  it('does not follow a next page on another host (the token stays with GitHub)', async () => {
    routes[REVIEWS] = { body: [], headers: { link: '<https://evil.example/steal?page=2>; rel="next"' } };
    expect(await rejection()).toMatch(/^review-unknown: GitHub could not tell .*another host/);
    expect(requests.some((r) => r.url.includes('steal'))).toBe(false);
  });
});

describe('a GitHub source fails closed', () => {
  it('rejects when GitHub answers 404 (no such repository, or the token cannot see it)', async () => {
    routes[PULLS] = { status: 404, body: fixture('error-not-found') };
    const reason = await rejection();
    expect(reason).toMatch(/^review-unknown: GitHub could not tell how commit .* reached main \(GitHubRefused: GitHub answered 404 .*Not Found\)/);
  });

  it('rejects when the token may not read pull requests (403 without a rate limit)', async () => {
    routes[REVIEWS] = { status: 403, body: fixture('error-not-accessible'), headers: { 'x-ratelimit-remaining': '4999' } };
    expect(await rejection()).toMatch(/^review-unknown: .*403 .*Resource not accessible/);
  });

  it('reads the secret again once after a 401 (a rotated token), then rejects, never naming the token', async () => {
    routes[PULLS] = { status: 401, body: fixture('error-bad-credentials') };
    const spies = (['debug', 'info', 'warn', 'error'] as const).map((level) => vi.spyOn(logger, level));
    const reason = await rejection();
    expect(reason).toMatch(/^review-unknown: .*401 .*Bad credentials/);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(requests).toHaveLength(2);
    expect(reason).not.toContain(TOKEN);
    expect(JSON.stringify(spies.flatMap((s) => s.mock.calls))).not.toContain(TOKEN);
  });

  it('goes on with the rotated token when the first one is refused', async () => {
    secrets.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'old-token' }).resolves({ SecretString: TOKEN });
    routes[PULLS] = [{ status: 401, body: fixture('error-bad-credentials') }, { body: fixture('commit-pulls-merged') }];
    expect((await reviewGate(input)).approved).toBe(true);
    expect(requests.map((r) => r.authorization)).toEqual(['Bearer old-token', `Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
  });

  it('throws a rate limit (403 with the limit spent, or 429) for the state machine to retry, without waiting here', async () => {
    routes[PULLS] = { status: 403, body: fixture('error-rate-limited'), headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1796144400' } };
    await expect(reviewGate(input)).rejects.toMatchObject({ name: 'ReviewThrottled', retryable: true, message: expect.stringContaining('rate-limited until') });
    routes[PULLS] = { status: 429, body: { message: 'You have exceeded a secondary rate limit.' }, headers: { 'retry-after': '60' } };
    await expect(reviewGate(input)).rejects.toMatchObject({ name: 'ReviewThrottled' });
    // A secondary rate limit may come as a bare 403 with its message only.
    routes[PULLS] = { status: 403, body: { message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.' } };
    await expect(reviewGate(input)).rejects.toMatchObject({ name: 'ReviewThrottled' });
    expect(requests).toHaveLength(3);
    expect(sleeps).toEqual([]);
  });

  it(`retries a 5xx here (${GITHUB_ATTEMPTS} tries), then throws it for the state machine to retry`, async () => {
    routes[PULLS] = { status: 502, body: { message: 'Server Error' } };
    await expect(reviewGate(input)).rejects.toMatchObject({ name: 'ReviewThrottled', message: expect.stringContaining('502') });
    expect(requests).toHaveLength(GITHUB_ATTEMPTS);
    requests = [];
    routes[PULLS] = [{ status: 503, body: { message: 'Unavailable' } }, { body: fixture('commit-pulls-merged') }];
    expect((await reviewGate(input)).approved).toBe(true);
  });

  it('treats no answer at all (a network failure, or none in time) as transient', async () => {
    routes[PULLS] = new TypeError('fetch failed');
    await expect(reviewGate(input)).rejects.toMatchObject({ name: 'ReviewThrottled', message: expect.stringContaining('could not be reached') });
    expect(requests).toHaveLength(GITHUB_ATTEMPTS);
    routes[PULLS] = new DOMException('The operation was aborted due to timeout', 'TimeoutError');
    await expect(reviewGate(input)).rejects.toMatchObject({ name: 'ReviewThrottled', message: expect.stringContaining('aborted due to timeout') });
  });

  it('bounds every request in time', async () => {
    const signals: Array<AbortSignal | null | undefined> = [];
    setGitHubApi(githubApi({ token: async () => TOKEN, forgetToken, fetch: (async (url: string, init?: RequestInit) => (signals.push(init?.signal), stubFetch(url, init))) as typeof fetch }));
    await reviewGate(input);
    expect(signals).toHaveLength(2);
    expect(signals.every((s) => s instanceof AbortSignal)).toBe(true);
  });

  it('rejects when the token secret cannot be read or is empty, and retries Secrets Manager throttling', async () => {
    secrets.on(GetSecretValueCommand).rejects(Object.assign(new Error('not authorized to perform secretsmanager:GetSecretValue'), { name: 'AccessDeniedException', $metadata }));
    expect(await rejection()).toMatch(/^review-unknown: GitHub could not tell .*AccessDeniedException/);
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '  ' });
    expect(await rejection()).toMatch(/^review-unknown: .*holds no token/);
    secrets.on(GetSecretValueCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata }));
    await expect(reviewGate(input)).rejects.toMatchObject({ name: 'ReviewThrottled' });
    expect(requests).toHaveLength(0);
  });
});

describe('the token', () => {
  it(`is read once and reused for ${TOKEN_CACHE_MS / 60000} minutes, then read again`, async () => {
    await reviewGate(input);
    await reviewGate(input);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    vi.setSystemTime(NOW.getTime() + TOKEN_CACHE_MS + 1);
    await reviewGate(input);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('may be stored as JSON with a token field', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ token: TOKEN }) });
    expect((await reviewGate(input)).approved).toBe(true);
    expect(requests[0]!.authorization).toBe(`Bearer ${TOKEN}`);
  });
});

describe('the source the gate reads', () => {
  it('is its configuration: an unknown source is a rejection, not a guess', async () => {
    vi.stubEnv(ENV.SOURCE, 'gitlab');
    expect(await rejection()).toMatch(/^review-unknown: .*HANDSOFF_SOURCE is 'gitlab'/);
    expect(requests).toHaveLength(0);
  });

  it('rejects a repository that is not OWNER/NAME without asking GitHub', async () => {
    const out = await reviewGate({ ...input, repository: 'storefront' });
    expect(out).toMatchObject({ approved: false, reason: expect.stringMatching(/^review-unknown: .*not OWNER\/NAME/) });
    expect(requests).toHaveLength(0);
  });
});
