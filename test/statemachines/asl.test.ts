import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import { buildStateMachines, definitionPlaceholders } from '../../statemachines/index.ts';
import { ARTIFACT_BUCKET_NAME_KEY, functionArnKey, REGION_EXECUTIONS_ARN_PREFIX_KEY, REGION_STATE_MACHINE_ARN_KEY, TaskHandlers } from '../../statemachines/resources.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';

const aslValidator = createRequire(import.meta.url)('asl-validator') as (
  def: unknown,
  opts?: { checkArn?: boolean; checkPaths?: boolean },
) => { isValid: boolean; errorsText: (sep?: string) => string };

const resolve = (input: unknown): ResolvedPipeline => {
  const v = validatePipeline(input, 'test', { catalog: REGION_CATALOG });
  if (!v.ok) throw new Error(v.problems.map((p) => p.message).join('\n'));
  return v.pipeline;
};

const pipelineJson = {
  name: 'storefront-api',
  service: 'StorefrontApi',
  team: 'storefront',
  regions: ['us-east-1', 'us-west-2', 'eu-west-1', 'sa-east-1', 'ap-southeast-2'],
};
const pipeline = resolve(pipelineJson);

/** Walks every state, nested ones included. */
const allStates = (def: any, out: Array<[string, any]> = []): Array<[string, any]> => {
  for (const [name, s] of Object.entries<any>(def.States)) {
    out.push([name, s]);
    if (s.Type === 'Map') allStates(s.ItemProcessor, out);
  }
  return out;
};

describe('buildStateMachines', () => {
  const defs = buildStateMachines(pipeline);

  it.each(['pipeline', 'region'] as const)('produces a valid %s definition (asl-validator, placeholders unsubstituted)', (kind) => {
    // asl-validator mutates its input: give it a clone.
    const result = aslValidator(structuredClone(defs[kind]), { checkArn: false });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('runs one child region execution per region, waves in plan order', () => {
    const json = JSON.stringify(defs.pipeline);
    expect(json).toContain('arn:aws:states:::states:startExecution.sync:2');
    const plans = allStates(defs.pipeline).filter(([n]) => /^Wave\d+\.Plan$/.test(n));
    expect(plans.map(([, s]) => s.Result.regions.map((r: { region: string }) => r.region))).toEqual(
      pipeline.waves.map((w) => w.regions.map((r) => r.region)),
    );
    // wave 1 of an auto plan holds exactly one region
    expect(plans[0]![1].Result.regions).toHaveLength(1);
  });

  it('waits for deployments, bakes and rollbacks on task tokens, never by polling', () => {
    const tasks = allStates(defs.region).filter(([, s]) => s.Type === 'Task');
    const waiting = tasks.filter(([n]) => /Deploy$|Bake$|Rollback$|WaitForWindow$/.test(n));
    expect(waiting.length).toBeGreaterThanOrEqual(5);
    for (const [, s] of waiting) {
      expect(s.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
      expect(s.Parameters.Payload['taskToken.$']).toBe('$$.Task.Token');
      // aws-local-stepfunctions defaults tasks to 60 s: every wait sets its own timeout
      expect(s.TimeoutSeconds).toBeGreaterThan(3600);
    }
    // no Wait state with a fixed polling interval
    expect(allStates(defs.region).filter(([, s]) => s.Type === 'Wait' && s.Seconds)).toEqual([]);
    // holds while a window is closed are waits on a token too
    expect(allStates(defs.region).filter(([n]) => n.endsWith('WaitForWindow')).every(([, s]) => s.Type === 'Task')).toBe(true);
  });

  it('deploys one unit at a time after the one-box and its bake', () => {
    const units = (defs.region as any).States.Units;
    expect(units.MaxConcurrency).toBe(1);
    expect((defs.region as any).States['OneBox.Deploy'].Next).toBe('OneBox.Bake');
    expect((defs.region as any).States['OneBox.Bake'].Next).toBe('Units');
  });

  it('gates each production step on the window and blockers, holding while the change runs in the region', () => {
    const states = Object.fromEntries(allStates(defs.region));
    for (const gate of ['OneBox.Gate', 'Unit.Gate']) {
      // The gate also asks whether the alarms the step's deployment watches have data.
      expect(states[gate].Parameters.Payload).toMatchObject({ team: 'storefront', 'alarms.$': '$.alarmNames', 'previous.$': '$.gate.value' });
    }
    // A deployment that did not start for an alarm without data goes back to its gate (which holds); nothing else does.
    for (const [deploy, gate] of [['OneBox.Deploy', 'OneBox.Gate'], ['Unit.Deploy', 'Unit.Gate']]) {
      expect(states[deploy].Catch).toEqual([
        { ErrorEquals: ['AlarmWithoutData'], ResultPath: '$.error', Next: gate },
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: deploy === 'OneBox.Deploy' ? 'Region.Rollback' : 'Unit.Failed' },
      ]);
    }
    // before the one-box nothing of the change runs in the region: a hold that watches nothing
    // (a task, so that an override of the window or an approved emergency ends it early)
    const first = states['OneBox.WaitForWindow'];
    expect(first.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(first.Parameters.Payload).toMatchObject({ purpose: 'hold', 'until.$': '$.gate.value.nextOpening', alarms: [] });
    expect(first.Next).toBe('OneBox.Gate');
    // between units the change runs there: the wait watches the region's alarms (slow burns)
    const hold = states['Unit.WaitForWindow'];
    expect(hold.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(hold.Parameters.Payload).toMatchObject({ purpose: 'hold', 'until.$': '$.gate.value.nextOpening', 'alarms.$': '$.alarms' });
    expect(hold.Next).toBe('Unit.Gate');
    expect(hold.Catch[0].Next).toBe('Unit.Failed');
  });

  it('watches one-box alarms and anomalies, the team aggregate and the fleet anomaly in every step of a region and in the wave bake', () => {
    const [, plan] = allStates(defs.pipeline).find(([n]) => n === 'Wave1.Plan')!;
    const region = plan.Result.regions[0].region;
    const names: string[] = plan.Result.regions[0].alarmNames;
    expect(names).toContain(`handsoff-storefront-${region}-aggregate`);
    expect(names).toContain(`storefront-api-${region}-onebox-faults`);
    expect(names).toContain(`storefront-api-${region}-onebox-latency-p50`);
    expect(names).toContain(`storefront-api-${region}-onebox-anomaly-requests`);
    expect(names).toContain(`storefront-api-${region}-fleet-anomaly-requests`);
    for (const unit of plan.Result.regions[0].units) expect(names).toContain(`storefront-api-${region}-${unit.unit}-anomaly-requests`);
    const [, waveBake] = allStates(defs.pipeline).find(([n]) => n === 'Wave1.Bake')!;
    // the wave bake watches the same alarms: the one-box still runs the change
    expect(waveBake.Parameters.Payload.alarms.map((a: { name: string }) => a.name).sort()).toEqual([...names].sort());
  });

  it('waits for a blocker as an event, watching the region only where the change already runs', () => {
    const states = Object.fromEntries(allStates(defs.region));
    for (const [gate, watches] of [['OneBox', false], ['Unit', true]] as const) {
      const choice = states[`${gate}.GateOpen`];
      const rules = choice.Choices as Array<Record<string, unknown>>;
      const blocker = rules.findIndex((r) => r.Variable === '$.gate.value.blockingAlarm');
      const open = rules.findIndex((r) => r.Variable === '$.gate.value.open' && r.BooleanEquals === true);
      expect(rules[blocker]).toEqual({ Variable: '$.gate.value.blockingAlarm', IsPresent: true, Next: `${gate}.WaitForBlocker` });
      // An open gate goes on before a blocker is looked at; an answer without `open` fails the step.
      expect(open).toBeGreaterThan(-1);
      expect(open).toBeLessThan(blocker);
      expect(rules[0]).toEqual({ Not: { Variable: '$.gate.value.open', IsPresent: true }, Next: `${gate}.GateUnknown` });
      expect(states[`${gate}.GateUnknown`]).toMatchObject({ Type: 'Pass', ResultPath: '$.error', Parameters: { Error: 'GateUnknown' } });
      const wait = states[`${gate}.WaitForBlocker`];
      expect(wait.Resource).toBe('arn:aws:states:::lambda:invoke.waitForTaskToken');
      expect(wait.Parameters.Payload).toMatchObject({ purpose: 'blocker', 'blocker.$': '$.gate.value.blockingAlarm', 'until.$': '$.gate.value.nextOpening' });
      expect('alarms.$' in wait.Parameters.Payload).toBe(watches);
      expect(wait.Next).toBe(`${gate}.Gate`);
    }
  });

  it('leaves the one-box out of a pipeline that turns it off', () => {
    const noOneBox = buildStateMachines(resolve({ ...pipelineJson, oneBox: false }));
    const region = noOneBox.region as any;
    // After the input check, the units come first.
    const plans = Object.entries<any>(region.States).filter(([n]) => n.startsWith('Region.Plan.'));
    expect(plans.length).toBeGreaterThan(0);
    expect(plans.every(([, s]) => s.Next === 'Units')).toBe(true);
    expect(Object.keys(region.States).filter((n) => n.startsWith('OneBox'))).toEqual([]);
    expect(JSON.stringify(noOneBox.pipeline)).not.toContain('onebox-faults');
    expect(aslValidator(structuredClone(region), { checkArn: false }).isValid).toBe(true);
  });

  it('gates each pre-production deployment on the data of its alarms (no window, no blockers), and goes back there when it did not start for want of data', () => {
    const states = (defs.pipeline as any).States;
    for (const stage of pipeline.preProd) {
      const id = stage[0]!.toUpperCase() + stage.slice(1);
      // Gamma deploys its one-box first; its bake ends at the stage's own gate.
      const oneBox = stage === 'gamma' && pipeline.oneBox;
      expect(states[`${id}.Started`].Next).toBe(oneBox ? `${id}.OneBox.GateInit` : `${id}.GateInit`);
      if (oneBox) expect(states[`${id}.OneBox.Bake`].Next).toBe(`${id}.GateInit`);
      const payload = states[`${id}.Gate`].Parameters.Payload;
      expect(payload).toMatchObject({ stage, region: pipeline.preProdRegion, window: false, target: 'fleet' });
      expect(payload).not.toHaveProperty('team');
      expect(payload.alarms).toEqual(states[`${id}.Deploy`].Parameters.Payload.alarms);
      expect(states[`${id}.GateOpen`].Choices).toContainEqual({ Variable: '$.gate.value.open', BooleanEquals: true, Next: `${id}.Deploy` });
      expect(states[`${id}.WaitForBlocker`]).toMatchObject({ Next: `${id}.Gate`, Parameters: { Payload: { purpose: 'blocker', stage, alarms: [] } } });
      expect(states[`${id}.Deploy`].Catch[0]).toEqual({ ErrorEquals: ['AlarmWithoutData'], ResultPath: '$.error', Next: `${id}.Gate` });
      expect(states[`${id}.Gate`].Catch[0].Next).toBe(`${id}.Rollback`);
    }
    expect(aslValidator(structuredClone(defs.pipeline), { checkArn: false }).isValid).toBe(true);
  });

  it('routes every failure of a region to its rollback', () => {
    const region = defs.region as any;
    for (const name of ['OneBox.Deploy', 'OneBox.Bake', 'Units']) {
      expect(region.States[name].Catch.at(-1)).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'Region.Rollback' });
    }
    expect(region.States['Region.Rollback'].Next).toBe('Region.Failed');
    // a rollback that fails still ends the region failed, with a reason that says so
    expect(region.States['Region.Rollback'].Catch[0]).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'Region.Rollback.RollbackFailed' });
    const failedRollback = region.States['Region.Rollback.RollbackFailed'];
    expect(failedRollback).toMatchObject({ Type: 'Pass', ResultPath: '$.error', Next: 'Region.Failed' });
    expect(failedRollback.Parameters['Cause.$']).toContain('rollback failed');
  });

  it('catches every failure of the pipeline machine: a change is rolled back everywhere it went, and never strands its lanes', () => {
    const states = (defs.pipeline as any).States;
    const top = Object.entries<any>(states);
    for (const [name, s] of top.filter(([, s]) => s.Type === 'Task' || s.Type === 'Map')) {
      expect(s.Catch?.length, name).toBeGreaterThan(0);
    }
    const stages = [...pipeline.preProd, ...pipeline.waves.map((w) => w.name)];
    // A step of the main line that fails beyond its retries (here the first stage's start) ...
    const started = top.find(([, s]) => s.Parameters?.Payload?.type === 'stage.started');
    expect(started).toBeDefined();
    const plan = states[started![1].Catch.at(-1).Next];
    // ... rolls back every stage (one rollback task each, in one Map, while it holds the lanes),
    expect(plan).toMatchObject({ Type: 'Pass', Result: stages, ResultPath: '$.earlierRollbacks' });
    const map = states[plan.Next];
    const task = Object.values<any>(map.ItemProcessor.States).find((s) => s.Type === 'Task');
    expect(task.Parameters.Payload).toMatchObject({ failedIn: 'a step of the pipeline', 'stage.$': '$.stage' });
    expect(task.Parameters.FunctionName).toBe('${RollbackFunctionArn}');
    // ... a rollback that fails does not stop the rest: every lane of the pipeline is freed,
    expect(map.Catch[0].Next).toBe(map.Next);
    const release = states[map.Next];
    expect(release.Parameters.Payload).toMatchObject({ action: 'release', stages });
    // ... and the change is reported failed, naming what could not be restored.
    const failed = states[release.Next];
    expect(failed.Parameters.Payload).toMatchObject({ type: 'change.failed', fields: { 'rollbacks.$': '$.earlierRollbacks' } });
  });

  it('retries throttling with exponential backoff on every Lambda task', () => {
    const tasks = [...allStates(defs.pipeline), ...allStates(defs.region)].filter(([, s]) => s.Type === 'Task' && s.Resource.includes('lambda'));
    for (const [name, s] of tasks) {
      const throttling = s.Retry.find((r: { ErrorEquals: string[] }) => r.ErrorEquals.includes('ThrottlingException'));
      expect(throttling, name).toBeDefined();
      expect(throttling.BackoffRate).toBeGreaterThan(1);
    }
  });

  it('retries a handler that crashed or timed out on every Lambda task (handlers are idempotent; a crash may follow a side effect)', () => {
    const tasks = [...allStates(defs.pipeline), ...allStates(defs.region)].filter(([, s]) => s.Type === 'Task' && s.Resource.includes('lambda'));
    expect(tasks.length).toBeGreaterThan(10);
    for (const [name, s] of tasks) {
      for (const error of ['Lambda.Unknown', 'Sandbox.Timedout', 'Runtime.ExitError']) {
        const retry = s.Retry.find((r: { ErrorEquals: string[] }) => r.ErrorEquals.includes(error));
        expect(retry, `${name} ${error}`).toBeDefined();
        expect(retry.MaxAttempts, `${name} ${error}`).toBeGreaterThan(1);
      }
    }
  });

  it('hands every deployment the change\'s pinned artifact (S3 version and checksum), never the key alone', () => {
    const deploys = [...allStates(defs.pipeline), ...allStates(defs.region)].filter(([, s]) => s.Type === 'Task' && JSON.stringify(s.Parameters).includes('StartDeploymentFunctionArn'));
    expect(deploys.length).toBeGreaterThan(2);
    for (const [name, s] of deploys) expect(s.Parameters.Payload['artifact.$'], name).toBe('$.artifact');
    // and the child region executions get it
    const child = allStates(defs.pipeline).find(([, s]) => s.Resource?.includes('startExecution'));
    expect(child?.[1].Parameters.Input['artifact.$']).toBe('$.artifact');
  });

  it('waits for another rollback of the change still restoring a group for as long as a rollback may take, not a quarter of an hour', () => {
    const rollbacks = [...allStates(defs.pipeline), ...allStates(defs.region)].filter(([, s]) => s.Type === 'Task' && JSON.stringify(s.Parameters ?? {}).includes('RollbackFunctionArn'));
    expect(rollbacks.length).toBeGreaterThan(3);
    for (const [name, s] of rollbacks) {
      const elsewhere = s.Retry.find((r: { ErrorEquals: string[] }) => r.ErrorEquals.includes('RollbackElsewhere'));
      expect(elsewhere, name).toBeDefined();
      let total = 0;
      for (let i = 0, d = elsewhere.IntervalSeconds; i < elsewhere.MaxAttempts; i++, d *= elsewhere.BackoffRate) total += Math.min(d, elsewhere.MaxDelaySeconds);
      expect(total, name).toBeGreaterThan(6 * 3600);
    }
  });

  it('names the acquiring execution on every lane it takes, so a lane held by an ended execution can be freed', () => {
    const acquires = allStates(defs.pipeline).filter(([, s]) => s.Parameters?.Payload?.action === 'acquire');
    expect(acquires.length).toBeGreaterThan(2);
    for (const [name, s] of acquires) expect(s.Parameters.Payload['execution.$'], name).toBe('$$.Execution.Id');
  });

  it('keeps retrying a rollback while the stopped deployment winds down, for minutes not seconds', () => {
    const rollbacks = [...allStates(defs.pipeline), ...allStates(defs.region)].filter(([n]) => n.endsWith('Rollback'));
    expect(rollbacks.length).toBeGreaterThan(3);
    for (const [name, s] of rollbacks) {
      const busy = s.Retry[0];
      expect(busy.ErrorEquals, name).toEqual(['DeploymentGroupBusy']);
      // total wait before giving up: at least ten minutes
      let total = 0;
      for (let i = 0, d = busy.IntervalSeconds; i < busy.MaxAttempts; i++, d *= busy.BackoffRate) total += Math.min(d, busy.MaxDelaySeconds);
      expect(total, name).toBeGreaterThan(600);
    }
  });

  it('uses only the documented placeholders', () => {
    expect(definitionPlaceholders(defs)).toEqual([...TaskHandlers.map(functionArnKey), REGION_STATE_MACHINE_ARN_KEY, REGION_EXECUTIONS_ARN_PREFIX_KEY, ARTIFACT_BUCKET_NAME_KEY].sort());
  });

  it('uses no JSONata and no variables (the local interpreter cannot run them)', () => {
    const json = JSON.stringify(defs);
    expect(json).not.toContain('QueryLanguage');
    expect(json).not.toContain('"Assign"');
    expect(json).not.toContain('{%');
  });
});

describe('bake task timeouts', () => {
  /** Every bake task with the bake length it is given. */
  const bakeTasks = (defs: ReturnType<typeof buildStateMachines>): Array<{ name: string; timeout: number; duration: number }> =>
    [...allStates(defs.pipeline), ...allStates(defs.region)]
      .filter(([, s]) => s.Type === 'Task' && JSON.stringify(s.Parameters?.FunctionName ?? '').includes('StartBake') && typeof s.Parameters?.Payload?.durationSeconds === 'number')
      .map(([name, s]) => ({ name, timeout: s.TimeoutSeconds, duration: s.Parameters.Payload.durationSeconds }));

  it('outlast a bake extended to its default cap, twice the bake', () => {
    const tasks = bakeTasks(buildStateMachines(pipeline));
    expect(tasks.length).toBeGreaterThan(3);
    for (const t of tasks) expect(t.timeout, t.name).toBeGreaterThan(3 * t.duration);
  });

  it('outlast a bake extended to the pipeline maxExtension', () => {
    const tasks = bakeTasks(buildStateMachines(resolve({ ...pipelineJson, bake: { maxExtension: 'PT30H' } })));
    for (const t of tasks) expect(t.timeout, t.name).toBeGreaterThan(t.duration + 30 * 3600);
  });
});
