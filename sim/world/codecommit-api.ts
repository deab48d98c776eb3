/**
 * The simulated CodeCommit: the answers the review-gate handler gets on AWS, built from the
 * scenario's changes. Each change is a commit (its id is the change id) pushed to main of the
 * pipeline's repository (named like the pipeline, as the CDK app's default). A change with
 * `approvedBy` reached main through a squash-merged pull request by its author, approved by
 * each of `approvedBy` on its last revision, under one approval rule that wants one approval;
 * a change without is a direct push (no pull request). The stand-in reports what the scenario
 * says; it judges nothing: core/review.ts does, in the handler, as on AWS.
 */
import {
  CommitDoesNotExistException,
  PullRequestDoesNotExistException,
  RepositoryDoesNotExistException,
} from '@aws-sdk/client-codecommit';
import type { StartChangeInput } from '../../core/contracts.ts';
import { dispatcher, meta, type Input } from './sdk.ts';

export interface SimCommit {
  /** The commit id (the change id). */
  id: string;
  repository: string;
  author: string;
  approvedBy: readonly string[];
  /** When it reaches main, epoch ms: pull requests merged later are not listed yet. */
  at: number;
}

const ACCOUNT = '000000000000';
/** The IAM user of a scenario name. */
export const userArn = (name: string): string => `arn:aws:iam::${ACCOUNT}:user/${name}`;
const RULE = 'one-reviewer';

/**
 * What the push rule's target (start-change) gets when `commit` reaches main of `repository`:
 * the pipeline, its machine and the CodeCommit event, whose id is the push's (a duplicated
 * delivery carries the same one).
 */
export const pushToMain = (
  c: Pick<SimCommit, 'id' | 'repository' | 'author'>,
  pipeline: string,
  stateMachineArn: string,
  region: string,
): StartChangeInput => ({
  pipeline,
  stateMachineArn,
  event: {
    id: `push-${c.id}`,
    source: 'aws.codecommit',
    'detail-type': 'CodeCommit Repository State Change',
    region,
    time: new Date(Date.now()).toISOString(),
    resources: [`arn:aws:codecommit:${region}:${ACCOUNT}:${c.repository}`],
    detail: {
      event: 'referenceUpdated',
      referenceType: 'branch',
      referenceName: 'main',
      repositoryName: c.repository,
      commitId: c.id,
      callerUserArn: userArn(c.author),
    },
  },
});

export const simulatedCodeCommit = (commits: readonly SimCommit[]) => {
  const reviewed = commits.filter((c) => c.approvedBy.length > 0);
  const prId = (c: SimCommit): string => String(reviewed.indexOf(c) + 1);
  const pullRequestOf = (input: Input): SimCommit => {
    const found = reviewed.find((c) => prId(c) === input.pullRequestId && Date.now() >= c.at);
    if (!found) throw new PullRequestDoesNotExistException({ message: `pull request ${String(input.pullRequestId)} does not exist`, ...meta });
    if (input.revisionId !== undefined && input.revisionId !== `rev-${found.id}`) {
      throw new PullRequestDoesNotExistException({ message: `pull request ${prId(found)} has no revision ${String(input.revisionId)}`, ...meta });
    }
    return found;
  };
  const repositoryOf = (input: Input): string => {
    const name = String(input.repositoryName);
    if (!commits.some((c) => c.repository === name)) {
      throw new RepositoryDoesNotExistException({ message: `repository ${name} does not exist`, ...meta });
    }
    return name;
  };
  return dispatcher('CodeCommit', {
    GetCommitCommand: (input) => {
      const repository = repositoryOf(input);
      const c = commits.find((x) => x.repository === repository && x.id === input.commitId && Date.now() >= x.at);
      if (!c) throw new CommitDoesNotExistException({ message: `commit ${String(input.commitId)} does not exist in ${repository}`, ...meta });
      const person = { name: c.author, email: `${c.author}@example.com`, date: String(Math.floor(c.at / 1000)) };
      return { commit: { commitId: c.id, treeId: `tree-${c.id}`, parents: [], message: `change ${c.id}`, author: person, committer: person } };
    },
    ListPullRequestsCommand: (input) => {
      const repository = repositoryOf(input);
      // Every simulated pull request is merged, hence closed; newest first.
      const ids = input.pullRequestStatus === 'OPEN' ? [] : reviewed.filter((c) => c.repository === repository && Date.now() >= c.at).map(prId).reverse();
      return { pullRequestIds: ids };
    },
    GetPullRequestCommand: (input) => {
      const c = pullRequestOf(input);
      return {
        pullRequest: {
          pullRequestId: prId(c),
          title: `change ${c.id}`,
          pullRequestStatus: 'CLOSED',
          authorArn: userArn(c.author),
          revisionId: `rev-${c.id}`,
          creationDate: new Date(c.at),
          lastActivityDate: new Date(c.at),
          pullRequestTargets: [
            {
              repositoryName: c.repository,
              sourceReference: `refs/heads/${c.id}`,
              destinationReference: 'refs/heads/main',
              sourceCommit: `src-${c.id}`,
              mergeMetadata: { isMerged: true, mergedBy: userArn(c.author), mergeCommitId: c.id, mergeOption: 'SQUASH_MERGE' },
            },
          ],
          approvalRules: [{ approvalRuleName: RULE, approvalRuleContent: '{"Version":"2018-11-08","Statements":[{"Type":"Approvers","NumberOfApprovalsNeeded":1}]}' }],
        },
      };
    },
    GetPullRequestApprovalStatesCommand: (input) => ({
      approvals: pullRequestOf(input).approvedBy.map((name) => ({ userArn: userArn(name), approvalState: 'APPROVE' })),
    }),
    EvaluatePullRequestApprovalRulesCommand: (input) => {
      const approved = pullRequestOf(input).approvedBy.length >= 1;
      return {
        evaluation: {
          approved,
          overridden: false,
          approvalRulesSatisfied: approved ? [RULE] : [],
          approvalRulesNotSatisfied: approved ? [] : [RULE],
        },
      };
    },
  });
};
