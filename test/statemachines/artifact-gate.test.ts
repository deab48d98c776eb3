/**
 * The build stage runs the pipeline's build (codebuild:startBuild.sync) and pins the object it
 * uploaded (resolve-artifact: S3 version id, ETag, SHA-256); a change whose build fails, or
 * whose artifact cannot be pinned, fails in build with the reason, before it takes a lane or
 * deploys anything: the pipeline definition run in the local interpreter, every Lambda task
 * answered by a recorder, the build by `built`, the resolver by `resolved`.
 */
import { StateMachine } from '../../sim/asl-runtime.ts';
import { describe, expect, it } from 'vitest';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { buildStateMachines } from '../../statemachines/index.ts';

const resolve = (input: unknown): ResolvedPipeline => {
  const v = validatePipeline(input, 'test', { catalog: REGION_CATALOG });
  if (!v.ok) throw new Error(v.problems.map((p) => p.message).join('\n'));
  return v.pipeline;
};
const pipeline = resolve({ name: 'storefront-api', service: 'StorefrontApi', team: 'storefront', regions: ['us-east-1'] });

/** Runs the pipeline machine until it fails or reaches a lane; returns the Lambda payloads it sent. */
const SHA = 'f'.repeat(64);
const BUILT = { Id: 'handsoff-storefront-api-build:1', BuildStatus: 'SUCCEEDED', ExportedEnvironmentVariables: [{ Name: 'ARTIFACT_SHA256', Value: SHA }, { Name: 'ARTIFACT_VERSION_ID', Value: 'v' }] };
const succeeded = (): unknown => ({ Build: BUILT });

/** Runs the pipeline machine until it fails or reaches a lane; returns the Lambda payloads it sent (and the StartBuild request). */
const run = async (
  input: Record<string, unknown>,
  resolved: () => unknown,
  built: () => unknown = succeeded,
): Promise<{ calls: Array<Record<string, any>>; builds: Array<Record<string, any>>; error?: string }> => {
  const builds: Array<Record<string, any>> = [];
  const def = buildStateMachines(pipeline).pipeline as any;
  const calls: Array<Record<string, any>> = [];
  const overrides: Record<string, (input: any) => Promise<any>> = {};
  const visit = (states: Record<string, any>): void => {
    for (const [name, s] of Object.entries(states)) {
      if (s.Type === 'Task') {
        overrides[name] = async (taskInput: any) => {
          if (name === 'Build.Run') {
            builds.push(taskInput);
            return built();
          }
          calls.push(taskInput.Payload);
          if (name === 'Source.Review') return { Payload: { approved: true, pullRequest: '7', reviewers: ['bob'] } };
          if (name === 'Build.ResolveArtifact') return { Payload: resolved() };
          // The first lane would wait for a task token: the run is far enough.
          if (taskInput.Payload?.action === 'acquire') throw Object.assign(new Error('stop here'), { name: 'Test.Stop' });
          return { Payload: {} };
        };
      }
      if (s.Type === 'Map') visit(s.ItemProcessor.States);
    }
  };
  visit(def.States);
  const machine = new StateMachine(def, { validationOptions: { checkArn: false, checkPaths: false } });
  const execution = machine.run(input as never, {
    overrides: { taskResourceLocalHandlers: overrides, retryIntervalOverrides: { 'Build.Run': 0 } },
    context: { Execution: { Id: 'arn:aws:states:us-west-2:111122223333:execution:handsoff-storefront-api:c1' }, Task: { Token: 'token' } } as any,
  });
  try {
    await execution.result;
    return { calls, builds };
  } catch (e) {
    return { calls, builds, error: (e as Error).name };
  }
};

const change = { pipeline: 'storefront-api', change: 'c1', revision: 'c1', author: 'ana', mergedAt: '2026-12-01T09:00:00Z', repository: 'storefront-api', commit: 'c1' };
const PINNED = { versionId: 'v', eTag: 'e', sha256: SHA };
const unavailable = (): never => {
  throw Object.assign(new Error('no artifact at s3://handsoff-artifacts/storefront-api/c1.zip: upload the change\'s build output there'), { name: 'ArtifactUnavailable' });
};

describe('the pinned-artifact gate of the pipeline machine', () => {
  it('fails a change whose artifact the build cannot pin in build, with the reason, takes no lane and deploys nothing', async () => {
    const { calls } = await run(change, unavailable);
    const failed = calls.find((c) => c.type === 'change.failed');
    expect(failed).toMatchObject({ stage: 'build' });
    expect(JSON.stringify(failed)).toContain('no artifact at s3://handsoff-artifacts/storefront-api/c1.zip');
    expect(calls.some((c) => c.action === 'acquire')).toBe(false);
    expect(calls.some((c) => typeof c.deploymentGroup === 'string')).toBe(false);
  });

  it.each([
    ['no version', { eTag: 'e', sha256: 'f'.repeat(64) }],
    ['no checksum', { versionId: 'v', eTag: 'e' }],
  ])('fails a change pinned with %s in build, takes no lane and deploys nothing', async (_, answer) => {
    const { calls } = await run(change, () => answer);
    const failed = calls.find((c) => c.type === 'change.failed');
    expect(failed).toMatchObject({ stage: 'build' });
    expect(JSON.stringify(failed)).toContain('never deploys by key alone');
    expect(calls.some((c) => c.action === 'acquire')).toBe(false);
    expect(calls.some((c) => typeof c.deploymentGroup === 'string')).toBe(false);
  });

  it('asks for the artifact of the change, and lets a pinned change go on to its first lane with it', async () => {
    const { calls } = await run(change, () => PINNED);
    expect(calls).toContainEqual({ pipeline: 'storefront-api', change: 'c1', revision: 'c1', build: BUILT });
    const acquire = calls.findIndex((c) => c.action === 'acquire');
    expect(acquire).toBeGreaterThan(0);
    // no failure before its first lane (the recorder stops the run there)
    expect(calls.slice(0, acquire).some((c) => c.type === 'change.failed')).toBe(false);
    // build.completed names the revision and the SHA-256 pinned, before the build stage completes.
    const recorded = calls.findIndex((c) => c.type === 'build.completed');
    expect(calls[recorded]).toMatchObject({ stage: 'build', fields: { revision: 'c1', sha256: SHA } });
    expect(calls.findIndex((c) => c.type === 'stage.completed' && c.stage === 'build')).toBeGreaterThan(recorded);
  });

  it("builds the change's revision on the pipeline's project, told where to upload", async () => {
    const { builds } = await run(change, () => PINNED);
    expect(builds).toEqual([
      {
        ProjectName: 'handsoff-storefront-api-build',
        SourceVersion: 'c1',
        EnvironmentVariablesOverride: [
          { Name: 'HANDSOFF_PIPELINE', Type: 'PLAINTEXT', Value: 'storefront-api' },
          { Name: 'HANDSOFF_CHANGE', Type: 'PLAINTEXT', Value: 'c1' },
          { Name: 'HANDSOFF_REVISION', Type: 'PLAINTEXT', Value: 'c1' },
          { Name: 'HANDSOFF_ARTIFACT_BUCKET', Type: 'PLAINTEXT', Value: '${ArtifactBucketName}' },
          { Name: 'HANDSOFF_ARTIFACT_KEY', Type: 'PLAINTEXT', Value: 'storefront-api/c1.zip' },
        ],
      },
    ]);
  });

  it("waits out CodeBuild's limits (throttling, too many concurrent builds) and builds once they let it", async () => {
    let attempts = 0;
    const { calls, builds } = await run(change, () => PINNED, () => {
      attempts++;
      if (attempts === 1) throw Object.assign(new Error('Rate exceeded'), { name: 'CodeBuild.ThrottlingException' });
      if (attempts === 2) throw Object.assign(new Error('Cannot have more than 60 active builds for the account'), { name: 'CodeBuild.AccountLimitExceededException' });
      return succeeded();
    });
    expect(builds).toHaveLength(3);
    // (The recorder stops the run at its first lane.)
    expect(calls.some((c) => c.type === 'change.failed' && c.stage === 'build')).toBe(false);
    expect(calls.some((c) => c.action === 'acquire')).toBe(true);
    expect(calls.some((c) => c.type === 'build.completed')).toBe(true);
  });

  it('fails a change whose build failed in build, with the failing phase and its message, before pinning, a lane or a deployment', async () => {
    const failedBuild = {
      Id: 'handsoff-storefront-api-build:2',
      BuildStatus: 'FAILED',
      Phases: [
        { PhaseType: 'INSTALL', PhaseStatus: 'SUCCEEDED' },
        { PhaseType: 'BUILD', PhaseStatus: 'FAILED', Contexts: [{ StatusCode: 'COMMAND_EXECUTION_ERROR', Message: 'Error while executing command: npm test. Reason: exit status 1' }] },
      ],
    };
    const { calls } = await run(change, () => PINNED, () => {
      throw Object.assign(new Error(JSON.stringify({ Build: failedBuild })), { name: 'States.TaskFailed' });
    });
    const failed = calls.find((c) => c.type === 'change.failed');
    expect(failed).toMatchObject({ stage: 'build' });
    expect(JSON.parse(failed!.fields.cause)).toEqual({ Build: failedBuild });
    expect(calls.some((c) => 'revision' in c && !('type' in c))).toBe(false); // resolve-artifact never asked
    expect(calls.some((c) => c.type === 'build.completed')).toBe(false);
    expect(calls.some((c) => c.action === 'acquire')).toBe(false);
    expect(calls.some((c) => typeof c.deploymentGroup === 'string')).toBe(false);
  });
});
