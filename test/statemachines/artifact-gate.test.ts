/**
 * The build stage pins the change's artifact (resolve-artifact: S3 version id, ETag,
 * SHA-256); a change it cannot pin fails in build with the reason, before it takes a lane or
 * deploys anything: the pipeline definition run in the local interpreter, every Lambda task
 * answered by a recorder, the resolver by `resolved`.
 */
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { buildStateMachines } from '../../statemachines/index.ts';

// aws-local-stepfunctions 3 uses Promise.withResolvers (Node 22); Node 20 lacks it (sim/engine.ts shims it the same way).
if (!(Promise as unknown as { withResolvers?: unknown }).withResolvers) {
  (Promise as unknown as { withResolvers: () => unknown }).withResolvers = () => {
    let resolve!: (v: unknown) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const resolve = (input: unknown): ResolvedPipeline => {
  const v = validatePipeline(input, 'test', { catalog: REGION_CATALOG });
  if (!v.ok) throw new Error(v.problems.map((p) => p.message).join('\n'));
  return v.pipeline;
};
const pipeline = resolve({ name: 'storefront-api', service: 'StorefrontApi', team: 'storefront', regions: ['us-east-1'] });

/** Runs the pipeline machine until it fails or reaches a lane; returns the Lambda payloads it sent. */
const run = async (input: Record<string, unknown>, resolved: () => unknown): Promise<{ calls: Array<Record<string, any>>; error?: string }> => {
  const def = buildStateMachines(pipeline).pipeline as any;
  const calls: Array<Record<string, any>> = [];
  const overrides: Record<string, (input: any) => Promise<any>> = {};
  const visit = (states: Record<string, any>): void => {
    for (const [name, s] of Object.entries(states)) {
      if (s.Type === 'Task') {
        overrides[name] = async (taskInput: any) => {
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
    overrides: { taskResourceLocalHandlers: overrides },
    context: { Execution: { Id: 'arn:aws:states:us-west-2:111122223333:execution:handsoff-storefront-api:c1' }, Task: { Token: 'token' } } as any,
  });
  try {
    await execution.result;
    return { calls };
  } catch (e) {
    return { calls, error: (e as Error).name };
  }
};

const change = { pipeline: 'storefront-api', change: 'c1', revision: 'c1', author: 'ana', mergedAt: '2026-12-01T09:00:00Z', repository: 'storefront-api', commit: 'c1' };
const PINNED = { versionId: 'v', eTag: 'e', sha256: 'f'.repeat(64) };
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
    expect(calls).toContainEqual({ pipeline: 'storefront-api', change: 'c1', revision: 'c1' });
    const acquire = calls.findIndex((c) => c.action === 'acquire');
    expect(acquire).toBeGreaterThan(0);
    // no failure before its first lane (the recorder stops the run there)
    expect(calls.slice(0, acquire).some((c) => c.type === 'change.failed')).toBe(false);
  });
});
