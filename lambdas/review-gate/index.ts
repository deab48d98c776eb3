/**
 * Handler `review-gate`: the first step of every change. It asks the source how the pushed
 * commit reached main: GitHub (HANDSOFF_SOURCE=github: the merged pull request and its
 * reviews, lambdas/review-gate/github.ts) or, by default, CodeCommit: the merged pull
 * request whose merge commit it is, that pull request's
 * approval rules (EvaluatePullRequestApprovalRules) and approvals
 * (GetPullRequestApprovalStates) on its last revision, and the commit's git author
 * (GetCommit). core/review.ts decides; the state machine publishes `change.rejected` with
 * the reason when it says no, and nothing deploys.
 *
 * Fail closed: the source answering anything but throttling (GitHub: a rate limit, a 5xx or
 * no answer, after quick retries) is a rejection (`review-unknown`), never a pass; throttling
 * is thrown (ReviewThrottled) for the state machine's Retry, and a gate that still cannot
 * answer after it is a rejection too.
 */
import {
  EvaluatePullRequestApprovalRulesCommand,
  GetCommitCommand,
  GetPullRequestApprovalStatesCommand,
  GetPullRequestCommand,
  ListPullRequestsCommand,
  type PullRequest,
} from '@aws-sdk/client-codecommit';
import { ReviewGateInput, type ReviewGateOutput } from '../../core/contracts.ts';
import { isThrottling, ReviewThrottledError } from '../../core/errors.ts';
import { decideReview, RejectReason, type ReviewFacts } from '../../core/review.ts';
import { SourceKind, sourceKindOf } from '../../core/source.ts';
import { clients } from '../shared/clients.ts';
import { ConfigurationError, ENV } from '../shared/config.ts';
import { GitHubTransientError } from '../shared/github.ts';
import { githubReviewFactsOf } from './github.ts';
import { logger } from '../shared/logger.ts';
import { lambdaHandler } from '../runtime/handler.ts';

/** Closed pull requests examined at most (newest first), so a busy repository stays cheap. */
export const MAX_PULL_REQUESTS = 200;
const MAIN_REFS = new Set(['main', 'refs/heads/main']);

/** The merged pull request into main whose merge produced `commit`, if any. */
const mergedPullRequest = async (repository: string, commit: string): Promise<PullRequest | undefined> => {
  const codeCommit = clients().codeCommit();
  let examined = 0;
  let nextToken: string | undefined;
  do {
    const page = await codeCommit.send(
      new ListPullRequestsCommand({ repositoryName: repository, pullRequestStatus: 'CLOSED', nextToken, maxResults: 100 }),
    );
    for (const id of page.pullRequestIds ?? []) {
      if (++examined > MAX_PULL_REQUESTS) return undefined;
      const { pullRequest } = await codeCommit.send(new GetPullRequestCommand({ pullRequestId: id }));
      const target = pullRequest?.pullRequestTargets?.find(
        (t) =>
          t.repositoryName === repository &&
          MAIN_REFS.has(t.destinationReference ?? '') &&
          t.mergeMetadata?.isMerged === true &&
          t.mergeMetadata.mergeCommitId === commit,
      );
      if (target) return pullRequest;
    }
    nextToken = page.nextToken;
  } while (nextToken);
  return undefined;
};

const reviewFacts = async (input: ReviewGateInput): Promise<ReviewFacts> => {
  const codeCommit = clients().codeCommit();
  const { commit } = await codeCommit.send(new GetCommitCommand({ repositoryName: input.repository, commitId: input.commit }));
  const alsoAuthor = commit?.author?.name ? [commit.author.name] : [];
  const pr = await mergedPullRequest(input.repository, input.commit);
  if (!pr) return { commit: input.commit, alsoAuthor };
  const pullRequestId = pr.pullRequestId!;
  const revisionId = pr.revisionId!;
  const [{ evaluation }, { approvals }] = await Promise.all([
    codeCommit.send(new EvaluatePullRequestApprovalRulesCommand({ pullRequestId, revisionId })),
    codeCommit.send(new GetPullRequestApprovalStatesCommand({ pullRequestId, revisionId })),
  ]);
  return {
    commit: input.commit,
    alsoAuthor,
    pullRequest: {
      id: pullRequestId,
      author: pr.authorArn ?? '',
      approvers: (approvals ?? []).filter((a) => a.approvalState === 'APPROVE' && a.userArn).map((a) => a.userArn!),
      rules: {
        approved: evaluation?.approved === true,
        overridden: evaluation?.overridden === true,
        notSatisfied: evaluation?.approvalRulesNotSatisfied ?? [],
      },
    },
  };
};

/** The source the gate reads, from its configuration (unset: CodeCommit). */
export const configuredSource = (): SourceKind => {
  const value = process.env[ENV.SOURCE];
  const kind = sourceKindOf(value);
  if (kind) return kind;
  throw new ConfigurationError(`${ENV.SOURCE} is '${value}': the review gate reads '${SourceKind.GITHUB}' or '${SourceKind.CODECOMMIT}'`);
};

const SOURCE_NAME: Record<SourceKind, string> = { [SourceKind.CODECOMMIT]: 'CodeCommit', [SourceKind.GITHUB]: 'GitHub' };

/** The input is parsed with ReviewGateInput (core/contracts.ts) by the wrapper, before this runs. */
export const reviewGate = async (input: ReviewGateInput): Promise<ReviewGateOutput> => {
  let facts: ReviewFacts;
  let source = 'the source';
  try {
    const kind = configuredSource();
    source = SOURCE_NAME[kind];
    facts = kind === SourceKind.GITHUB ? await githubReviewFactsOf(input.repository, input.commit) : await reviewFacts(input);
  } catch (err) {
    // One name the state machine's Retry knows, whatever the source's throttling is called.
    if (isThrottling(err) || err instanceof GitHubTransientError) {
      throw new ReviewThrottledError(`${source} could not answer the review of ${input.commit} now: ${(err as Error).message}`, {}, { cause: err });
    }
    const e = err as Error;
    logger.error(`${source} could not be read; the change is rejected`, { change: input.change, error: e });
    return {
      approved: false,
      reason: `${RejectReason.REVIEW_UNKNOWN}: ${source} could not tell how commit ${input.commit} reached main (${e.name}: ${e.message}); nothing deploys without a known review`,
    };
  }
  const decision = decideReview(facts);
  if (decision.approved) return decision;
  return { approved: false, reason: `${decision.reason}: ${decision.detail}` };
};

export const handler = lambdaHandler('review-gate', ReviewGateInput, reviewGate);
