import { describe, expect, it } from 'vitest';
import { approvingReviewers, githubReviewFacts, mergedPullRequest, type GitHubPull } from '../../core/github-review.ts';
import { decideReview } from '../../core/review.ts';
import { SourceConfigError, sourceFromContext } from '../../core/source.ts';

describe('the source from CDK context', () => {
  it('is CodeCommit when unset, GitHub with its repository when asked', () => {
    expect(sourceFromContext({})).toEqual({ kind: 'codecommit' });
    expect(sourceFromContext({ source: 'codecommit' })).toEqual({ kind: 'codecommit' });
    expect(sourceFromContext({ source: 'github', repository: 'acme/store-front.v2' })).toEqual({
      kind: 'github',
      owner: 'acme',
      name: 'store-front.v2',
      repository: 'acme/store-front.v2',
    });
  });

  it.each([
    [{ source: '' }, /context 'source' is empty; synthesize with -c source=github -c repository=OWNER\/NAME, or leave both unset for CodeCommit/],
    [{ source: 'gitlab' }, /context 'source' is 'gitlab': handsoff knows 'github' and 'codecommit'.*-c source=github -c repository=OWNER\/NAME/],
    [{ source: 'github' }, /context 'repository' is missing: .*add -c repository=OWNER\/NAME/],
    [{ source: 'github', repository: 'storefront' }, /context 'repository': 'storefront' is not OWNER\/NAME/],
    [{ source: 'github', repository: 'acme/store/front' }, /context 'repository': 'acme\/store\/front' is not OWNER\/NAME/],
    [{ source: 'github', repository: '-acme/storefront' }, /context 'repository': '-acme' is not a GitHub owner/],
    [{ source: 'github', repository: 'acme/..' }, /context 'repository': '..' is not a GitHub repository name/],
    [{ source: 'github', repository: 'acme/store front' }, /is not a GitHub repository name/],
    [{ source: 'github', repository: 42 }, /context 'repository' must be a string/],
    [{ repository: 'acme/storefront' }, /context 'repository' applies to source=github only/],
  ])('refuses %j, naming the context key and the fix', (context, message) => {
    expect(() => sourceFromContext(context)).toThrow(SourceConfigError);
    expect(() => sourceFromContext(context)).toThrow(message);
  });
});

const pull = (p: Partial<GitHubPull>): GitHubPull => ({ number: 1, user: { login: 'alice' }, merged_at: '2026-12-01T09:00:00Z', merge_commit_sha: 'c1', base: { ref: 'main' }, head: { sha: 'h1' }, ...p });

describe("GitHub's answers as review facts, decided by the one review rule", () => {
  it('finds the merged pull request into main whose merge commit is the commit', () => {
    const pulls = [pull({ number: 2, merged_at: null }), pull({ number: 3, base: { ref: 'release' } }), pull({ number: 4, merge_commit_sha: 'other' }), pull({ number: 5 })];
    expect(mergedPullRequest('c1', pulls)?.number).toBe(5);
    expect(mergedPullRequest('c1', pulls.slice(0, 3))).toBeUndefined();
  });

  it('counts the latest deciding review of each reviewer, in submission order whatever the list order', () => {
    const r = (id: number, login: string, state: string, at: string) => ({ id, user: { login }, state, commit_id: 'h1', submitted_at: at });
    expect(
      approvingReviewers([
        r(3, 'bob', 'CHANGES_REQUESTED', '2026-12-01T10:00:00Z'),
        r(1, 'bob', 'APPROVED', '2026-12-01T09:00:00Z'),
        r(2, 'Carol', 'APPROVED', '2026-12-01T09:30:00Z'),
        r(4, 'carol', 'COMMENTED', '2026-12-01T11:00:00Z'),
        r(5, 'dave', 'PENDING', '2026-12-01T11:00:00Z'),
        { id: 6, user: null, state: 'APPROVED', commit_id: 'h1', submitted_at: '2026-12-01T11:00:00Z' },
      ], 'h1'),
    ).toEqual(['Carol']);
  });

  it('counts only approvals of the pull request\'s last commit: a push after an approval was not reviewed', () => {
    const reviews = [
      { id: 1, user: { login: 'bob' }, state: 'APPROVED', commit_id: 'h0', submitted_at: '2026-12-01T09:00:00Z' },
      { id: 2, user: { login: 'carol' }, state: 'APPROVED', commit_id: 'h1', submitted_at: '2026-12-01T10:00:00Z' },
      { id: 3, user: { login: 'dave' }, state: 'APPROVED', submitted_at: '2026-12-01T10:00:00Z' },
    ];
    expect(approvingReviewers(reviews, 'h1')).toEqual(['carol']);
    expect(approvingReviewers(reviews, undefined)).toEqual([]);
    const stale = githubReviewFacts('acme/storefront', 'c1', pull({ number: 9 }), [reviews[0]!]);
    expect(decideReview(stale)).toMatchObject({ approved: false });
    const headless = githubReviewFacts('acme/storefront', 'c1', pull({ number: 9, head: null }), [reviews[1]!]);
    expect(decideReview(headless)).toMatchObject({ approved: false });
  });

  it('decides with core/review.ts: no rules of its own, the author never counts', () => {
    const facts = githubReviewFacts('acme/storefront', 'c1', pull({ number: 9 }), [{ id: 1, user: { login: 'ALICE' }, state: 'APPROVED', commit_id: 'h1' }]);
    expect(decideReview(facts)).toMatchObject({ approved: false, reason: 'self-approved' });
    const ok = githubReviewFacts('acme/storefront', 'c1', pull({ number: 9 }), [{ id: 1, user: { login: 'bob' }, state: 'APPROVED', commit_id: 'h1' }]);
    expect(decideReview(ok)).toEqual({ approved: true, pullRequest: 'acme/storefront#9', reviewers: ['bob'] });
    expect(decideReview(githubReviewFacts('acme/storefront', 'c1', undefined, []))).toMatchObject({ approved: false, reason: 'unreviewed' });
  });
});
