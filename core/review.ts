/**
 * The review rule of the source stage, pure: a commit may deploy only when it reached main
 * through a merged pull request whose approval rules are satisfied and that someone other
 * than its author approved. The review-gate handler reads the source (CodeCommit, or GitHub
 * through core/github-review.ts) and asks this; the simulator's CodeCommit stand-in answers
 * the same calls, so every source and the simulator decide here.
 */

/** Why a change is rejected (the first word of `change.rejected`'s reason). */
export const RejectReason = {
  /** No merged pull request brought the commit to main, or nobody approved it. */
  UNREVIEWED: 'unreviewed',
  /** Every approval is the author's own. */
  SELF_APPROVED: 'self-approved',
  /** The pull request's approval rules are not satisfied (or were overridden). */
  RULES_NOT_SATISFIED: 'approval-rules-not-satisfied',
  /** The source (CodeCommit, GitHub) could not be read: fail closed. */
  REVIEW_UNKNOWN: 'review-unknown',
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

/**
 * The person behind an identity: the last path segment of an IAM user or assumed-role ARN
 * (`arn:aws:iam::1:user/Alice`, `arn:aws:sts::1:assumed-role/Dev/alice`) or a plain name
 * whole (`x/pat` is `x/pat`, not `pat`: only an ARN has a path), lowercased. IAM names are
 * unique case-insensitively, so `Alice` and `alice` are one person.
 */
export const personOf = (identity: string): string => principalName(identity).toLowerCase();

/** The name of an identity as written (`Alice` of `arn:aws:iam::1:user/Alice`), for people to read. */
export const principalName = (identity: string): string => {
  const trimmed = identity.trim();
  if (!trimmed.startsWith('arn:')) return trimmed;
  const resource = trimmed.split(':').slice(5).join(':');
  return resource.split('/').pop() ?? resource;
};

export const samePerson = (a: string, b: string): boolean => personOf(a) === personOf(b);

/** What the source says about the commit's way to main. */
export interface ReviewFacts {
  commit: string;
  /** The merged pull request whose merge produced the commit; absent: none did. */
  pullRequest?: {
    id: string;
    /** The pull request's author (its ARN). */
    author: string;
    /** Identities that approved the pull request's last revision. */
    approvers: readonly string[];
    /**
     * CodeCommit's EvaluatePullRequestApprovalRules of that revision. Absent: the source has
     * no approval rules of its own (GitHub), so the approvals above are the whole review.
     */
    rules?: { approved: boolean; overridden: boolean; notSatisfied: readonly string[] };
  };
  /** Other names of the author (the commit's git author), whose approvals do not count either. */
  alsoAuthor?: readonly string[];
}

export type ReviewDecision =
  | { approved: true; pullRequest: string; reviewers: string[] }
  | { approved: false; reason: RejectReason; detail: string };

export const decideReview = (facts: ReviewFacts): ReviewDecision => {
  const pr = facts.pullRequest;
  if (!pr) {
    return { approved: false, reason: RejectReason.UNREVIEWED, detail: `commit ${facts.commit} did not reach main through a merged pull request` };
  }
  const authors = [pr.author, ...(facts.alsoAuthor ?? [])];
  const reviewers = [...new Set(pr.approvers.filter((a) => !authors.some((b) => samePerson(a, b))).map(personOf))];
  if (pr.approvers.length === 0) {
    return { approved: false, reason: RejectReason.UNREVIEWED, detail: `pull request ${pr.id} was merged without any approval` };
  }
  if (reviewers.length === 0) {
    return {
      approved: false,
      reason: RejectReason.SELF_APPROVED,
      detail: `pull request ${pr.id}: the only approval is the author's own (${personOf(pr.author)}); the author's approval never counts`,
    };
  }
  // An override sets the rules aside: that is not a review, whatever approvals there are.
  if (pr.rules?.overridden) {
    return { approved: false, reason: RejectReason.RULES_NOT_SATISFIED, detail: `pull request ${pr.id}: its approval rules were overridden` };
  }
  if (pr.rules && !pr.rules.approved) {
    const names = pr.rules.notSatisfied.length > 0 ? `: ${pr.rules.notSatisfied.join(', ')}` : '';
    return { approved: false, reason: RejectReason.RULES_NOT_SATISFIED, detail: `pull request ${pr.id}: approval rules not satisfied${names}` };
  }
  return { approved: true, pullRequest: pr.id, reviewers };
};
