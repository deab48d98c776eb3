/**
 * The build stage's run: the pipeline's CodeBuild project builds the change's revision, runs
 * its unit tests and uploads the bundle (`codebuild:startBuild.sync`: Step Functions waits for
 * the build's end through an EventBridge rule, no polling). The build is told which pipeline,
 * change and revision, and where to upload (bucket and key); its record (`$.build.run`) carries
 * the version and SHA-256 it exported, which resolve-artifact checks against S3.
 */
import { BuildEnv } from '../core/build.ts';
import type { ResolvedPipeline } from '../core/model.ts';
import { artifactKey, buildProjectName } from '../core/naming.ts';
import type { State } from './asl.ts';
import { ARTIFACT_BUCKET_NAME_KEY, placeholder } from './resources.ts';

import { commitSource, type MachineOptions } from './commit-source.ts';

export const START_BUILD_SYNC = 'arn:aws:states:::codebuild:startBuild.sync';

/** A build that runs longer than this has failed (the project's own timeout is shorter). */
export const BUILD_TASK_TIMEOUT_SECONDS = 2 * 3600;

/** CodeBuild's refusals to start a build (its limits, its API rate): the build did not run. */
export const CODEBUILD_REFUSALS = ['CodeBuild.AccountLimitExceededException', 'CodeBuild.ThrottlingException', 'CodeBuild.LimitExceededException'];

/**
 * CodeBuild refusing a build for its limits (concurrent builds of the account, API rate):
 * waited out with backoff, for up to about half an hour. A build that ran and failed is not retried.
 */
export const BUILD_RETRY = [
  {
    ErrorEquals: CODEBUILD_REFUSALS,
    IntervalSeconds: 30,
    MaxAttempts: 8,
    BackoffRate: 2,
    MaxDelaySeconds: 300,
  },
];

/** The Task that runs the pipeline's build; any failure goes to `failedTo` (the change fails in build). */
export const runBuild = (p: ResolvedPipeline, next: string, failedTo: string, options: MachineOptions = {}): State => ({
  Type: 'Task',
  Resource: START_BUILD_SYNC,
  Parameters: {
    ProjectName: buildProjectName(p.name),
    ...commitSource(p, options),
    EnvironmentVariablesOverride: [
      { Name: BuildEnv.PIPELINE, Type: 'PLAINTEXT', 'Value.$': '$.pipeline' },
      { Name: BuildEnv.CHANGE, Type: 'PLAINTEXT', 'Value.$': '$.change' },
      { Name: BuildEnv.REVISION, Type: 'PLAINTEXT', 'Value.$': '$.revision' },
      { Name: BuildEnv.ARTIFACT_BUCKET, Type: 'PLAINTEXT', Value: placeholder(ARTIFACT_BUCKET_NAME_KEY) },
      // naming.artifactKey's form, with the revision filled in at run time.
      { Name: BuildEnv.ARTIFACT_KEY, Type: 'PLAINTEXT', 'Value.$': `States.Format('${artifactKey(p.name, '{}')}', $.revision)` },
    ],
  },
  TimeoutSeconds: BUILD_TASK_TIMEOUT_SECONDS,
  Retry: BUILD_RETRY,
  // The whole record: a path to a field a build may lack would be a States.Runtime error,
  // which no Catch takes.
  ResultSelector: { 'run.$': '$.Build' },
  ResultPath: '$.build',
  Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: failedTo }],
  Next: next,
});
