/**
 * The pipeline machine's source stage and its named region children, run in the local ASL
 * interpreter with every task replaced: what runs after the review gate says no, and what a
 * wave does with a region execution that already ran.
 */
import { StateMachine, type StateMachineDefinition } from '../../sim/asl-runtime.ts';
import { describe, expect, it } from 'vitest';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { buildStateMachines } from '../../statemachines/index.ts';
import { REGION_EXECUTIONS_ARN_PREFIX_KEY } from '../../statemachines/resources.ts';

const resolved = validatePipeline(
  { name: 'storefront-api', service: 'StorefrontApi', team: 'storefront', regions: ['us-east-1', 'sa-east-1'] },
  'test',
  { catalog: REGION_CATALOG },
);
if (!resolved.ok) throw new Error('fixture pipeline is invalid');
const defs = buildStateMachines(resolved.pipeline);
const PREFIX = 'arn:aws:states:us-east-1:111122223333:execution:handsoff-storefront-api-region';

/** Placeholders filled as CloudFormation fills them (any ARN of the right shape will do). */
const substituted = (def: unknown): StateMachineDefinition =>
  JSON.parse(
    JSON.stringify(def).replace(/\$\{([A-Za-z0-9]+)\}/g, (_, key: string) =>
      key === REGION_EXECUTIONS_ARN_PREFIX_KEY ? PREFIX : `arn:aws:lambda:us-east-1:111122223333:function:${key}`,
    ),
  ) as StateMachineDefinition;

/** Task state names, nested ones included. */
const taskNames = (def: any, out: string[] = []): string[] => {
  for (const [name, s] of Object.entries<any>(def.States)) {
    if (s.Type === 'Task') out.push(name);
    if (s.Type === 'Map') taskNames(s.ItemProcessor, out);
  }
  return out;
};

const CONTEXT = { Execution: { Id: 'arn:aws:states:us-east-1:111122223333:execution:handsoff-storefront-api:c1' }, Task: { Token: 'token' } };

class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

const ARTIFACT = { versionId: 'v1', eTag: '"e1"', sha256: 'f'.repeat(64) };

const change = {
  pipeline: 'storefront-api',
  change: 'c1',
  revision: 'c1',
  author: 'alice',
  mergedAt: '2026-11-30T09:00:00Z',
  repository: 'storefront-api',
  commit: 'c1',
};

/** Runs the pipeline machine with `review` as the gate's task; every other task records itself. */
const runPipeline = async (review: () => Promise<unknown>) => {
  const ran: Array<{ state: string; input: any }> = [];
  const handlers: Record<string, (input: any) => Promise<any>> = {};
  for (const name of taskNames(defs.pipeline)) {
    handlers[name] = async (input) => {
      ran.push({ state: name, input });
      if (name === 'Source.Review') return { Payload: await review() };
      if (name === 'Build.Run') return { Build: { Id: 'storefront-api-build:1', BuildStatus: 'SUCCEEDED', ExportedEnvironmentVariables: [{ Name: 'ARTIFACT_SHA256', Value: ARTIFACT.sha256 }] } };
      if (name === 'Build.ResolveArtifact') return { Payload: ARTIFACT };
      return { Payload: {} };
    };
  }
  const machine = new StateMachine(substituted(defs.pipeline), { validationOptions: { checkArn: false } });
  const execution = machine.run(change as any, { overrides: { taskResourceLocalHandlers: handlers }, context: CONTEXT });
  const error = await execution.result.then(
    () => undefined,
    (e: Error & { cause?: Error }) => e.cause ?? e,
  );
  return { ran, error };
};

describe('source stage', () => {
  it('asks the review gate first, about the pushed commit of the repository', async () => {
    const { ran } = await runPipeline(async () => ({ approved: false, reason: 'unreviewed: no pull request' }));
    expect(ran.map((r) => r.state).slice(0, 3)).toEqual(['Change.Received', 'Source.Started', 'Source.Review']);
    expect(ran[2]!.input.Payload).toEqual({ pipeline: 'storefront-api', change: 'c1', repository: 'storefront-api', commit: 'c1' });
  });

  it('publishes change.rejected with the reason and runs nothing else when the gate says no', async () => {
    const { ran, error } = await runPipeline(async () => ({ approved: false, reason: 'self-approved: only alice approved' }));
    expect(ran.map((r) => r.state)).toEqual(['Change.Received', 'Source.Started', 'Source.Review', 'Source.Rejected']);
    expect(ran[3]!.input.Payload).toMatchObject({ type: 'change.rejected', change: 'c1', fields: { reason: 'self-approved: only alice approved' } });
    expect(error?.name).toBe('ChangeRejected');
  });

  it('rejects (fail closed) when the review gate itself fails', async () => {
    const { ran, error } = await runPipeline(async () => {
      throw new NamedError('Error', 'the review gate crashed');
    });
    const rejected = ran.find((r) => r.state === 'Source.Rejected');
    expect(rejected?.input.Payload.fields.reason).toMatch(/^review-unknown: .*the review gate crashed/);
    expect(ran.some((r) => /Deploy|Lane|Region/.test(r.state))).toBe(false);
    expect(error?.name).toBe('ChangeRejected');
  });

  it('goes on to the build and the first stage only when the gate approves', async () => {
    const { ran } = await runPipeline(async () => ({ approved: true, pullRequest: '7', reviewers: ['bob'] }));
    const states = ran.map((r) => r.state);
    expect(states).toContain('Source.Completed');
    expect(states).not.toContain('Source.Rejected');
    expect(states.some((s) => s.endsWith('.Deploy') || s.endsWith('.Lane'))).toBe(true);
  });
});

describe('region children', () => {
  const wave = (defs.pipeline as any).States['Wave1.Regions'];
  const processor = substituted({ StartAt: wave.ItemProcessor.StartAt, States: wave.ItemProcessor.States });
  const region = (defs.pipeline as any).States['Wave1.Plan'].Result.regions[0];
  const item = { pipeline: 'storefront-api', change: 'c1', revision: 'c1', artifact: ARTIFACT, stage: 'wave-1', item: region };
  const runRegion = (start: () => unknown, describe: (input: any) => unknown) =>
    new StateMachine(processor, { validationOptions: { checkArn: false } }).run(item as any, {
      context: CONTEXT,
      overrides: {
        taskResourceLocalHandlers: {
          'Wave1.Region': async () => start() as any,
          'Wave1.Region.Adopt': async (input: any) => describe(input) as any,
        },
      },
    }).result;

  it('names each region execution after the change and the region', async () => {
    let name: string | undefined;
    await new StateMachine(processor, { validationOptions: { checkArn: false } }).run(item as any, {
      context: CONTEXT,
      overrides: {
        taskResourceLocalHandlers: {
          'Wave1.Region': async (input: any) => {
            name = input.Name;
            return { Output: { region: 'sa-east-1', status: 'succeeded', reason: '' } };
          },
        },
      },
    }).result;
    expect(name).toBe('c1-sa-east-1');
  });

  it.each(['StepFunctions.ExecutionAlreadyExists', 'StepFunctions.ExecutionAlreadyExistsException'])('adopts the outcome of a region execution that already ran (%s), without running it again', async (error) => {
    let described: string | undefined;
    const out = await runRegion(
      () => {
        throw new NamedError(error, 'Execution Already Exists');
      },
      (input) => {
        described = input.ExecutionArn;
        return { Status: 'SUCCEEDED', Output: JSON.stringify({ region: 'sa-east-1', status: 'succeeded', reason: '' }) };
      },
    );
    expect(described).toBe(`${PREFIX}:c1-sa-east-1`);
    expect(out).toEqual({ region: 'sa-east-1', status: 'succeeded', reason: '' });
  });

  it('counts a region whose earlier execution did not succeed as failed, never as done', async () => {
    const out = await runRegion(
      () => {
        throw new NamedError('StepFunctions.ExecutionAlreadyExists', 'Execution Already Exists');
      },
      () => ({ Status: 'ABORTED' }),
    );
    expect(out).toMatchObject({ region: 'sa-east-1', status: 'failed', reason: expect.stringContaining('c1-sa-east-1') });
  });
});
