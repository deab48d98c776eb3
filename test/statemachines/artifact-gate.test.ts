/**
 * A change without a pinned artifact (S3 version id, ETag, SHA-256) fails in build with the
 * reason, before it takes a lane or deploys anything: the pipeline definition run in the
 * local interpreter, every Lambda task answered by a recorder.
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
const run = async (input: Record<string, unknown>): Promise<{ calls: Array<Record<string, any>>; error?: string }> => {
  const def = buildStateMachines(pipeline).pipeline as any;
  const calls: Array<Record<string, any>> = [];
  const overrides: Record<string, (input: any) => Promise<any>> = {};
  const visit = (states: Record<string, any>): void => {
    for (const [name, s] of Object.entries(states)) {
      if (s.Type === 'Task') {
        overrides[name] = async (taskInput: any) => {
          calls.push(taskInput.Payload);
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

const change = { pipeline: 'storefront-api', change: 'c1', revision: 'c1', author: 'ana', mergedAt: '2026-12-01T09:00:00Z' };

describe('the pinned-artifact gate of the pipeline machine', () => {
  it.each([
    ['no artifact', {}],
    ['no version', { artifact: { eTag: 'e', sha256: 'f'.repeat(64) } }],
    ['no checksum', { artifact: { versionId: 'v', eTag: 'e' } }],
  ])('fails a change with %s in build, takes no lane and deploys nothing', async (_, extra) => {
    const { calls } = await run({ ...change, ...extra });
    const failed = calls.find((c) => c.type === 'change.failed');
    expect(failed).toMatchObject({ stage: 'build' });
    expect(JSON.stringify(failed)).toContain('never deploys by key alone');
    expect(calls.some((c) => c.action === 'acquire')).toBe(false);
    expect(calls.some((c) => typeof c.deploymentGroup === 'string')).toBe(false);
  });

  it('lets a change with its pinned artifact go on to its first lane', async () => {
    const { calls } = await run({ ...change, artifact: { versionId: 'v', eTag: 'e', sha256: 'f'.repeat(64) } });
    const acquire = calls.findIndex((c) => c.action === 'acquire');
    expect(acquire).toBeGreaterThan(0);
    // no failure before its first lane (the recorder stops the run there)
    expect(calls.slice(0, acquire).some((c) => c.type === 'change.failed')).toBe(false);
  });
});
