/**
 * The review gate's GitHub side: how the pushed commit reached main, from GitHub's REST API
 * (the commit's pull requests, then the merged one's reviews), as review facts for the one
 * rule in core/review.ts. The token comes from Secrets Manager (lambdas/shared/github-token.ts).
 */
import { githubReviewFacts, mergedPullRequest, type GitHubPull, type GitHubReview } from '../../core/github-review.ts';
import type { ReviewFacts } from '../../core/review.ts';
import { parseGitHubRepository } from '../../core/source.ts';
import { ENV, env } from '../shared/config.ts';
import { githubApi, GitHubRefusedError, type GitHubApi } from '../shared/github.ts';
import { forgetToken, githubToken } from '../shared/github-token.ts';

let api: GitHubApi | undefined;

/** Tests hand another client (a stubbed fetch); undefined: the real one again. */
export const setGitHubApi = (next: GitHubApi | undefined): void => {
  api = next;
};

const defaultApi = (): GitHubApi =>
  (api ??= githubApi({ token: () => githubToken(env(ENV.GITHUB_TOKEN_SECRET)), forgetToken }));

/** One list request (the commit's pull requests), and one more for the merged one's reviews. */
export const githubReviewFactsOf = async (repository: string, commit: string): Promise<ReviewFacts> => {
  const parsed = parseGitHubRepository(repository);
  if ('problem' in parsed) throw new GitHubRefusedError(`the change's repository ${parsed.problem}`);
  const path = `/repos/${encodeURIComponent(parsed.owner)}/${encodeURIComponent(parsed.name)}`;
  const github = defaultApi();
  const pulls = await github.list<GitHubPull>(`${path}/commits/${encodeURIComponent(commit)}/pulls`);
  const pull = mergedPullRequest(commit, pulls);
  const reviews = pull ? await github.list<GitHubReview>(`${path}/pulls/${pull.number}/reviews`) : [];
  return githubReviewFacts(repository, commit, pull, reviews);
};
