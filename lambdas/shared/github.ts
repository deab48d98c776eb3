/**
 * GitHub's REST API, read-only, with Node's fetch: what the review gate asks GitHub. Every
 * answer is sorted into one of three outcomes, so that nothing unreadable passes as a review:
 * - the body (2xx), every page of it (Link rel="next", same origin only: the token never
 *   leaves for another host);
 * - GitHubTransientError: rate-limited (429, or 403 with the rate limit spent, Retry-After or a
 *   secondary rate limit's message), 5xx and no answer (a network failure, or none within
 *   GITHUB_REQUEST_TIMEOUT_MS) after a few quick retries here: the state machine retries later;
 * - GitHubRefusedError: 401 (after one retry with a freshly read token), 403, 404 and every
 *   other answer: permanent, the gate rejects the change with the status.
 */
import { HandsoffError } from '../../core/errors.ts';

export const GITHUB_API = 'https://api.github.com';
/** GitHub's REST API version handsoff is written against. */
export const GITHUB_API_VERSION = '2022-11-28';
/** Quick tries per request for a 5xx or a network failure (more is the state machine's Retry). */
export const GITHUB_ATTEMPTS = 3;
/** How long one request may take before it counts as no answer (three fit in the gate's 30 seconds). */
export const GITHUB_REQUEST_TIMEOUT_MS = 5000;
/** Pages of one list at most (100 items each). */
export const GITHUB_MAX_PAGES = 10;

/** GitHub could not answer now (rate limit, 5xx, network): try again later. */
export class GitHubTransientError extends HandsoffError {
  override readonly name = 'GitHubTransient';
  override readonly retryable = true;
}

/** GitHub refused the request (401, 403, 404, ...): asking again will not help. */
export class GitHubRefusedError extends HandsoffError {
  override readonly name = 'GitHubRefused';
  override readonly retryable = false;
}

export interface GitHubApiOptions {
  /** The token (read from Secrets Manager, cached). */
  token: () => Promise<string>;
  /** GitHub refused the token: the next `token()` must read it again. */
  forgetToken: () => void;
  fetch?: typeof fetch;
  baseUrl?: string;
  /** Waits between quick retries. @default setTimeout */
  sleep?: (ms: number) => Promise<void>;
}

export interface GitHubApi {
  /** Every item of a list endpoint (`/repos/o/r/...`), all pages. */
  list<T>(path: string): Promise<T[]>;
}

const nextLink = (link: string | null): string | undefined => {
  for (const part of link?.split(',') ?? []) {
    const m = /<([^>]+)>\s*;\s*rel="next"/.exec(part);
    if (m) return m[1];
  }
  return undefined;
};

/** A primary or secondary rate limit: 429, or a 403 that says so (headers, or GitHub's message). */
const rateLimited = (res: Response, message: string): boolean =>
  res.status === 429 ||
  (res.status === 403 && (res.headers.get('x-ratelimit-remaining') === '0' || res.headers.has('retry-after') || /rate limit/i.test(message)));

const messageOf = async (res: Response): Promise<string> => {
  try {
    const body = (await res.json()) as { message?: unknown };
    return typeof body.message === 'string' ? body.message : res.statusText;
  } catch {
    return res.statusText;
  }
};

export const githubApi = (options: GitHubApiOptions): GitHubApi => {
  const baseUrl = options.baseUrl ?? GITHUB_API;
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));

  const request = async (url: string): Promise<Response> => {
    let refreshed = false;
    for (let attempt = 1; ; attempt++) {
      const token = await options.token();
      let res: Response;
      try {
        res = await doFetch(url, {
          headers: {
            Accept: 'application/vnd.github+json',
            Authorization: `Bearer ${token}`,
            'X-GitHub-Api-Version': GITHUB_API_VERSION,
            'User-Agent': 'handsoff-review-gate',
          },
          signal: AbortSignal.timeout(GITHUB_REQUEST_TIMEOUT_MS),
        });
      } catch (err) {
        if (attempt < GITHUB_ATTEMPTS) {
          await sleep(200 * 2 ** attempt);
          continue;
        }
        throw new GitHubTransientError(`GitHub could not be reached (${(err as Error).message})`, {}, { cause: err });
      }
      if (res.ok) return res;
      const what = `GitHub answered ${res.status} to GET ${new URL(url).pathname}`;
      const message = await messageOf(res);
      if (rateLimited(res, message)) {
        const reset = res.headers.get('x-ratelimit-reset');
        throw new GitHubTransientError(`${what}: rate-limited${reset ? ` until ${new Date(Number(reset) * 1000).toISOString()}` : ''}`);
      }
      if (res.status >= 500) {
        if (attempt < GITHUB_ATTEMPTS) {
          await sleep(200 * 2 ** attempt);
          continue;
        }
        throw new GitHubTransientError(`${what} (${message}) ${attempt} times`);
      }
      if (res.status === 401 && !refreshed) {
        // The token may have been rotated since it was cached: read it again, once.
        refreshed = true;
        options.forgetToken();
        continue;
      }
      throw new GitHubRefusedError(`${what}: ${message}`, { status: res.status });
    }
  };

  return {
    async list<T>(path: string): Promise<T[]> {
      const items: T[] = [];
      let url: string | undefined = `${baseUrl}${path}${path.includes('?') ? '&' : '?'}per_page=100`;
      for (let page = 1; url; page++) {
        if (page > GITHUB_MAX_PAGES) {
          throw new GitHubRefusedError(`GET ${path} has more than ${GITHUB_MAX_PAGES} pages; handsoff reads no partial list`);
        }
        const res = await request(url);
        const body = (await res.json()) as unknown;
        if (!Array.isArray(body)) throw new GitHubRefusedError(`GET ${path} answered something other than a list`);
        items.push(...(body as T[]));
        const next = nextLink(res.headers.get('link'));
        if (next && new URL(next).origin !== new URL(baseUrl).origin) {
          throw new GitHubRefusedError(`GET ${path}: the next page is on another host (${new URL(next).origin}); not following it`);
        }
        url = next;
      }
      return items;
    },
  };
};
