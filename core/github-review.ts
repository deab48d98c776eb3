/**
 * GitHub's answers, as review facts for the one review rule (core/review.ts decideReview).
 * Pure: the review gate fetches the commit's pull requests and the merged one's reviews
 * through GitHub's REST API and hands them here.
 *
 * - The commit's way to main is the merged pull request into main whose merge commit it is
 *   (`merge_commit_sha`: a merge, squash or rebase merge). A commit pushed straight to main
 *   has none, and is rejected as unreviewed.
 * - A reviewer's latest deciding review counts (APPROVED, CHANGES_REQUESTED, DISMISSED; a
 *   COMMENTED review decides nothing, as on GitHub): an approval later dismissed, or followed
 *   by requested changes, is no approval. Only APPROVED approves, and only an approval of the
 *   pull request's last commit (`commit_id` = `head.sha`): commits pushed after an approval were
 *   not reviewed, as CodeCommit counts only approvals of the last revision.
 * - The pull request's author's own approval never counts (decideReview).
 */
import { MAIN_BRANCH } from './source.ts';
import type { ReviewFacts } from './review.ts';

/** The fields of a pull request (GET /repos/{o}/{r}/commits/{sha}/pulls) this reads. */
export interface GitHubPull {
  number: number;
  user: { login: string } | null;
  merged_at: string | null;
  merge_commit_sha: string | null;
  base: { ref: string };
  /** The pull request's last commit; absent, no approval counts. */
  head?: { sha: string } | null;
}

/** The fields of a review (GET /repos/{o}/{r}/pulls/{n}/reviews, oldest first) this reads. */
export interface GitHubReview {
  id: number;
  user: { login: string } | null;
  state: string;
  /** The commit the review was given on. */
  commit_id?: string | null;
  submitted_at?: string | null;
}

/** Review states that change a reviewer's standing; COMMENTED and PENDING do not. */
const DECIDING = new Set(['APPROVED', 'CHANGES_REQUESTED', 'DISMISSED']);

/** The merged pull request into main that produced `commit`, if any. */
export const mergedPullRequest = (commit: string, pulls: readonly GitHubPull[], branch: string = MAIN_BRANCH): GitHubPull | undefined =>
  pulls.find((p) => p.merged_at !== null && p.merge_commit_sha === commit && p.base.ref === branch);

/**
 * Logins whose latest deciding review approves `head` (the pull request's last commit), sorted
 * (reviews in any order: by submission time, then id). Without `head`, nobody.
 */
export const approvingReviewers = (reviews: readonly GitHubReview[], head: string | undefined): string[] => {
  const ordered = [...reviews].sort((a, b) => (a.submitted_at ?? '').localeCompare(b.submitted_at ?? '') || a.id - b.id);
  const latest = new Map<string, GitHubReview & { user: { login: string } }>();
  for (const r of ordered) {
    if (!r.user || !DECIDING.has(r.state)) continue;
    // Logins are unique case-insensitively on GitHub.
    latest.set(r.user.login.toLowerCase(), r as GitHubReview & { user: { login: string } });
  }
  return [...latest.values()]
    .filter((r) => r.state === 'APPROVED' && head !== undefined && r.commit_id === head)
    .map((r) => r.user.login)
    .sort((a, b) => a.localeCompare(b));
};

/** The pull request's name in reasons: `OWNER/NAME#12`. */
export const pullRequestName = (repository: string, pull: Pick<GitHubPull, 'number'>): string => `${repository}#${pull.number}`;

/**
 * Review facts from GitHub: the merged pull request (absent when the commit reached main
 * otherwise), its author and its approving reviewers. GitHub has no approval rules of its own
 * in this model (branch protection decides what may merge; handsoff decides what may deploy).
 */
export const githubReviewFacts = (
  repository: string,
  commit: string,
  pull: GitHubPull | undefined,
  reviews: readonly GitHubReview[],
): ReviewFacts => {
  if (!pull) return { commit };
  return {
    commit,
    pullRequest: {
      id: pullRequestName(repository, pull),
      // A deleted account (user null) is nobody: its approvals cannot be told from the author's.
      author: pull.user?.login ?? 'ghost',
      approvers: approvingReviewers(reviews, pull.head?.sha ?? undefined),
    },
  };
};
