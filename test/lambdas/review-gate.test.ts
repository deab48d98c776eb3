import {
  CommitDoesNotExistException,
  EncryptionKeyAccessDeniedException,
  EvaluatePullRequestApprovalRulesCommand,
  GetCommitCommand,
  GetPullRequestApprovalStatesCommand,
  GetPullRequestCommand,
  ListPullRequestsCommand,
} from '@aws-sdk/client-codecommit';
import type { Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { handler, reviewGate } from '../../lambdas/review-gate/index.ts';
import { $metadata, codeCommit, printedLogs, useAwsMocks } from './support.ts';

useAwsMocks();

const REPO = 'storefront-api';
const COMMIT = '4c1e2f0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e';
const user = (name: string): string => `arn:aws:iam::111122223333:user/${name}`;
const input = { pipeline: 'storefront-api', change: COMMIT, repository: REPO, commit: COMMIT };

/** A repository whose pull request 7, by `author`, was merged into main as COMMIT. */
const given = (opts: {
  author?: string;
  approvers?: string[];
  approved?: boolean;
  overridden?: boolean;
  merged?: { into?: string; commit?: string };
  gitAuthor?: string;
}): void => {
  const author = opts.author ?? 'alice';
  codeCommit.on(GetCommitCommand).resolves({ commit: { commitId: COMMIT, author: { name: opts.gitAuthor ?? author } } });
  codeCommit.on(ListPullRequestsCommand).resolves({ pullRequestIds: ['9', '7'] });
  // Pull request 9 went to another branch: not this commit's way to main.
  codeCommit.on(GetPullRequestCommand, { pullRequestId: '9' }).resolves({
    pullRequest: {
      pullRequestId: '9',
      authorArn: user('bob'),
      revisionId: 'r9',
      pullRequestTargets: [
        { repositoryName: REPO, destinationReference: 'refs/heads/release', mergeMetadata: { isMerged: true, mergeCommitId: COMMIT } },
      ],
    },
  });
  codeCommit.on(GetPullRequestCommand, { pullRequestId: '7' }).resolves({
    pullRequest: {
      pullRequestId: '7',
      authorArn: user(author),
      revisionId: 'r7',
      pullRequestStatus: 'CLOSED',
      pullRequestTargets: [
        {
          repositoryName: REPO,
          destinationReference: opts.merged?.into ?? 'refs/heads/main',
          mergeMetadata: { isMerged: true, mergeCommitId: opts.merged?.commit ?? COMMIT, mergedBy: user(author) },
        },
      ],
    },
  });
  codeCommit.on(GetPullRequestApprovalStatesCommand, { pullRequestId: '7', revisionId: 'r7' }).resolves({
    approvals: (opts.approvers ?? []).map((name) => ({ userArn: user(name), approvalState: 'APPROVE' as const })),
  });
  codeCommit.on(EvaluatePullRequestApprovalRulesCommand, { pullRequestId: '7', revisionId: 'r7' }).resolves({
    evaluation: {
      approved: opts.approved ?? true,
      overridden: opts.overridden ?? false,
      approvalRulesSatisfied: opts.approved === false ? [] : ['two-reviewers'],
      approvalRulesNotSatisfied: opts.approved === false ? ['two-reviewers'] : [],
    },
  });
};

describe('review-gate', () => {
  it('lets a commit through that reached main by a pull request approved by someone else', async () => {
    given({ author: 'alice', approvers: ['bob'] });
    await expect(reviewGate(input)).resolves.toEqual({ approved: true, pullRequest: '7', reviewers: ['bob'] });
  });

  it('rejects a pull request approved only by its author', async () => {
    given({ author: 'alice', approvers: ['alice'] });
    const out = await reviewGate(input);
    expect(out).toMatchObject({ approved: false, reason: expect.stringMatching(/^self-approved: /) });
  });

  it('compares names case-insensitively: Alice approving alice\'s pull request is a self-approval', async () => {
    given({ author: 'alice', approvers: ['Alice'] });
    await expect(reviewGate(input)).resolves.toMatchObject({ approved: false, reason: expect.stringMatching(/^self-approved: /) });
    given({ author: 'Alice', approvers: ['ALICE', 'alice'] });
    await expect(reviewGate(input)).resolves.toMatchObject({ approved: false, reason: expect.stringMatching(/^self-approved: /) });
  });

  it('does not count the approval of the commit\'s git author either', async () => {
    given({ author: 'alice', gitAuthor: 'Carol', approvers: ['carol'] });
    await expect(reviewGate(input)).resolves.toMatchObject({ approved: false, reason: expect.stringMatching(/^self-approved: /) });
  });

  it('rejects a commit that reached main without a merged pull request, as unreviewed', async () => {
    given({ approvers: ['bob'], merged: { commit: 'another-commit' } });
    await expect(reviewGate(input)).resolves.toMatchObject({ approved: false, reason: expect.stringMatching(/^unreviewed: .*did not reach main through a merged pull request/) });
    given({ approvers: ['bob'], merged: { into: 'refs/heads/feature' } });
    await expect(reviewGate(input)).resolves.toMatchObject({ approved: false, reason: expect.stringMatching(/^unreviewed: /) });
  });

  it('rejects a merged pull request nobody approved, as unreviewed', async () => {
    given({ approvers: [] });
    await expect(reviewGate(input)).resolves.toMatchObject({ approved: false, reason: expect.stringMatching(/^unreviewed: pull request 7/) });
  });

  it('rejects a pull request whose approval rules are not satisfied, naming them', async () => {
    given({ approvers: ['bob'], approved: false });
    await expect(reviewGate(input)).resolves.toEqual({
      approved: false,
      reason: 'approval-rules-not-satisfied: pull request 7: approval rules not satisfied: two-reviewers',
    });
  });

  it('rejects a pull request whose approval rules were overridden', async () => {
    given({ approvers: ['bob'], overridden: true });
    await expect(reviewGate(input)).resolves.toMatchObject({ approved: false, reason: expect.stringMatching(/^approval-rules-not-satisfied: .*overridden/) });
  });

  it('fails closed when CodeCommit cannot be read: a rejection with the reason, never a pass', async () => {
    given({ approvers: ['bob'] });
    codeCommit
      .on(EvaluatePullRequestApprovalRulesCommand)
      .rejects(new EncryptionKeyAccessDeniedException({ message: 'An encryption integrity check failed', $metadata }));
    await expect(reviewGate(input)).resolves.toMatchObject({
      approved: false,
      reason: expect.stringMatching(/^review-unknown: .*EncryptionKeyAccessDeniedException/),
    });
    codeCommit.on(GetCommitCommand).rejects(new CommitDoesNotExistException({ message: 'no such commit', $metadata }));
    await expect(reviewGate(input)).resolves.toMatchObject({ approved: false, reason: expect.stringMatching(/^review-unknown: /) });
  });

  it('logs the error that left the review unknown, its name and message kept', async () => {
    given({ approvers: ['bob'] });
    codeCommit
      .on(EvaluatePullRequestApprovalRulesCommand)
      .rejects(new EncryptionKeyAccessDeniedException({ message: 'An encryption integrity check failed', $metadata }));
    const logs = await printedLogs(() => reviewGate(input));
    expect(logs.find((l) => l.level === 'ERROR')).toMatchObject({
      message: 'CodeCommit could not be read; the change is rejected',
      error: { name: 'EncryptionKeyAccessDeniedException', message: 'An encryption integrity check failed' },
    });
    expect(logs.map((l) => l.message)).not.toContainEqual(expect.stringContaining('reserved key'));
  });

  it('lets throttling through for the state machine to retry', async () => {
    given({ approvers: ['bob'] });
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata });
    codeCommit.on(ListPullRequestsCommand).rejects(throttled);
    await expect(reviewGate(input)).rejects.toMatchObject({ name: 'ReviewThrottled', retryable: true, message: expect.stringContaining('Rate exceeded') });
  });

  it('rejects input without a repository or commit', async () => {
    const context = { functionName: 'handsoff-review-gate', awsRequestId: 'r-1' } as unknown as Context;
    await expect(handler({ ...input, commit: '' }, context)).rejects.toMatchObject({ name: 'InvalidInput' });
    await expect(handler({ pipeline: 'storefront-api', change: COMMIT, commit: COMMIT }, context)).rejects.toThrow(/repository/);
    expect(codeCommit.calls()).toHaveLength(0);
  });
});
