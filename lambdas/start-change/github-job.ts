/**
 * start-change as the invoke action of a GitHub source pipeline (infra: github-source.ts):
 * CodePipeline's trigger runs the pipeline on each push to main, its source action reads the
 * commit through the CodeConnections connection, and this action hands the commit to
 * start-change as UserParameters (core/source.ts GitHubTriggerParameters). The pipeline
 * execution's id is the delivery id: a retried action, or a duplicated invocation, is the same
 * push and so the same change. Another execution of the same commit is the same change too,
 * unless that change ended without succeeding (core/source.ts reusesChangeOfCommit).
 *
 * Every outcome is reported to CodePipeline (PutJobSuccessResult, PutJobFailureResult), so a
 * push that could not start a change shows as a failed source pipeline execution, with the
 * reason, for a person to retry; nothing is dropped silently.
 */
import { PutJobFailureResultCommand, PutJobSuccessResultCommand } from '@aws-sdk/client-codepipeline';
import type { StartChangeOutput } from '../../core/contracts.ts';
import { hasName } from '../../core/errors.ts';
import { GitHubTriggerParameters, MAIN_BRANCH, reusesChangeOfCommit, type CodePipelineJobEvent } from '../../core/source.ts';
import { CopyObjectCommand } from '@aws-sdk/client-s3';
import { sourceArchiveKey } from '../../core/naming.ts';
import { clients } from '../shared/clients.ts';
import { env, ENV } from '../shared/config.ts';
import { nowIso } from '../shared/duration.ts';
import { logger } from '../shared/logger.ts';
import { parseInput } from '../runtime/handler.ts';
import type { Push } from './index.ts';

const codePipeline = () => clients().codePipeline();

/** CodePipeline keeps a failure message to 5000 characters. */
const MAX_MESSAGE = 5000;

export const isCodePipelineJob = (event: unknown): boolean =>
  typeof event === 'object' && event !== null && 'CodePipeline.job' in event;

const pushOf = (p: GitHubTriggerParameters): Push => ({
  pipeline: p.pipeline,
  stateMachineArn: p.stateMachineArn,
  delivery: `codepipeline:${p.execution}`,
  commit: p.commit,
  repository: p.repository,
  // When the push reached handsoff, not the commit's author date: a rebased or back-dated
  // commit keeps its old date, and release batching orders changes by this time (a retried
  // action is the same change, whose first time stands).
  time: nowIso(),
  reuses: (existing) => reusesChangeOfCommit(existing.status),
});

const parameters = (job: CodePipelineJobEvent): GitHubTriggerParameters => {
  const raw = job['CodePipeline.job'].data.actionConfiguration.configuration.UserParameters;
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error(`the action's UserParameters are not JSON: ${raw.slice(0, 200)}`);
  }
  return parseInput('start-change', GitHubTriggerParameters, json);
};

/** A job reported twice (a duplicated invocation) is already closed: that is no failure. */
const reported = async (send: () => Promise<unknown>): Promise<void> => {
  try {
    await send();
  } catch (err) {
    if (!hasName(err, 'InvalidJobStateException')) throw err;
    logger.info('the job was already reported');
  }
};

export type JobOutcome = StartChangeOutput | { failed: string };

/**
 * Keeps the commit's checkout (the action's input artifact) at `sourceArchiveKey` in the
 * artifact bucket, where the build and the stage suites read it: before the change starts, so
 * that its build finds it. A retried action copies it again (the same bytes). No checkout, no
 * change: the build would have nothing to build.
 */
const keepArchive = async (job: CodePipelineJobEvent, p: GitHubTriggerParameters): Promise<void> => {
  const from = job['CodePipeline.job'].data.inputArtifacts?.[0]?.location.s3Location;
  if (!from) throw new Error("the action has no input artifact (the source action's checkout): give the StartChange action the source's output artifact");
  const bucket = env(ENV.ARTIFACT_BUCKET);
  const key = sourceArchiveKey(p.pipeline, p.commit);
  await clients()
    .s3()
    .send(new CopyObjectCommand({ Bucket: bucket, Key: key, CopySource: `${from.bucketName}/${from.objectKey.split('/').map(encodeURIComponent).join('/')}` }));
  logger.info("kept the commit's archive", { commit: p.commit, key });
};

export const startChangeFromJob = async (job: CodePipelineJobEvent, start: (push: Push) => Promise<StartChangeOutput>): Promise<JobOutcome> => {
  const jobId = job['CodePipeline.job'].id;
  let out: StartChangeOutput;
  try {
    const p = parameters(job);
    if (p.branch !== MAIN_BRANCH) throw new Error(`the push went to ${p.branch}, not ${MAIN_BRANCH}: no change starts`);
    await keepArchive(job, p);
    out = await start(pushOf(p));
  } catch (err) {
    const message = `no change started: ${(err as Error).name}: ${(err as Error).message}`.slice(0, MAX_MESSAGE);
    // `reason`: the logger keeps `message` for its own text and drops an extra key of that name.
    logger.error('the push could not start a change; the source pipeline execution fails', { jobId, reason: message });
    await reported(() => codePipeline().send(new PutJobFailureResultCommand({ jobId, failureDetails: { type: 'JobFailed', message } })));
    return { failed: message };
  }
  await reported(() =>
    codePipeline().send(
      new PutJobSuccessResultCommand({
        jobId,
        executionDetails: { summary: `change ${out.change} ${out.started ? 'started' : 'already started'}`, externalExecutionId: out.change },
      }),
    ),
  );
  return out;
};
