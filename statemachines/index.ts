/**
 * ASL builders: a validated pipeline in, two Amazon States Language definitions out.
 *
 * - the pipeline machine: one execution per change; source, build, pre-production stages,
 *   then each production wave as a Map over its regions, each region a child execution
 *   (`startExecution.sync:2`) so that no execution's history nears the 25,000-event limit;
 * - the region machine: one execution per (change, region): window gate, one-box deploy and
 *   bake, then each unit in turn (gate, rolling deploy, bake); any failure rolls the region
 *   back and the execution reports `failed` with the reason.
 *
 * JSONPath with intrinsic functions only (no JSONata, no variables): the local interpreter
 * runs this exact JSON. Waits on deployments, bakes, holds, blockers and lanes are
 * `.waitForTaskToken` tasks completed by events; a closed window before anything runs in a
 * region is a `Wait` until the computed next opening.
 */
import { DeploymentTarget, type ResolvedPipeline, type ResolvedRegion } from '../core/model.ts';
import {
  applicationName,
  AnomalyMetric,
  anomalyAlarmName,
  oneBoxAlarmName,
  oneBoxGroupName,
  preProdGroupName,
  serviceAlarmName,
  StandardAlarm,
  teamAggregateAlarmName,
  unitAnomalyAlarmName,
  unitGroupName,
} from '../core/naming.ts';
import { EventType } from '../core/events.ts';
import { HandlerError, RetryableHandlerErrors } from '../core/contracts.ts';
import { functionArnKey, HandlerName, placeholder, REGION_STATE_MACHINE_ARN_KEY } from './resources.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type State = Record<string, Json>;
type States = Record<string, State>;

export interface StateMachineDefinitions {
  pipeline: Record<string, unknown>;
  region: Record<string, unknown>;
}

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const LAMBDA_CALLBACK = 'arn:aws:states:::lambda:invoke.waitForTaskToken';
const START_CHILD_SYNC = 'arn:aws:states:::states:startExecution.sync:2';

/**
 * A rollout of one region (or a wait for a lane) can take days of windows and bakes.
 * 24 days: timers above 2^31-1 ms (24.8 days) fire at once in Node, so the local
 * interpreter could not honour a longer timeout.
 */
const CHILD_TIMEOUT_SECONDS = 24 * 24 * 3600;
/** A deployment or rollback that runs longer than this has failed. */
const DEPLOY_TIMEOUT_SECONDS = 6 * 3600;
const INVOKE_TIMEOUT_SECONDS = 60;

/** Throttling and transient Lambda errors are retried with exponential backoff. */
const TRANSIENT_RETRY: Json[] = [
  {
    ErrorEquals: [
      'Lambda.ServiceException',
      'Lambda.AWSLambdaException',
      'Lambda.SdkClientException',
      'Lambda.TooManyRequestsException',
      'ThrottlingException',
      'TooManyRequestsException',
      'ProvisionedThroughputExceededException',
      ...RetryableHandlerErrors,
    ],
    IntervalSeconds: 2,
    MaxAttempts: 6,
    BackoffRate: 2,
    MaxDelaySeconds: 60,
  },
];

/**
 * A rollback waits for the stopped deployment's in-flight batch to finish before CodeDeploy
 * takes the rollback deployment: it keeps trying for a quarter of an hour, never gives up
 * after a minute while the bad revision still serves.
 */
const ROLLBACK_RETRY: Json[] = [
  { ErrorEquals: [HandlerError.DEPLOYMENT_GROUP_BUSY], IntervalSeconds: 5, MaxAttempts: 45, BackoffRate: 1.5, MaxDelaySeconds: 20 },
  ...TRANSIENT_RETRY,
];

const arn = (handler: HandlerName): string => placeholder(functionArnKey(handler));

const invoke = (handler: HandlerName, payload: Json, next: string | undefined, extra: State = {}): State => ({
  Type: 'Task',
  Resource: LAMBDA_INVOKE,
  Parameters: { FunctionName: arn(handler), Payload: payload },
  TimeoutSeconds: INVOKE_TIMEOUT_SECONDS,
  Retry: TRANSIENT_RETRY,
  ResultPath: null,
  ...(next ? { Next: next } : { End: true }),
  ...extra,
});

/** What every bake of the pipeline is told: its duration and the pipeline's data-point policy. */
const bakeFields = (p: ResolvedPipeline, durationSeconds: number): Record<string, Json> => ({
  service: p.service,
  durationSeconds,
  minRequests: p.bake.minRequests,
  ...(p.bake.maxExtensionSeconds !== undefined ? { maxExtensionSeconds: p.bake.maxExtensionSeconds } : {}),
});

const callback = (handler: HandlerName, payload: Record<string, Json>, timeoutSeconds: number, next: string, catchTo: string, extra: State = {}): State => ({
  Type: 'Task',
  Resource: LAMBDA_CALLBACK,
  Parameters: { FunctionName: arn(handler), Payload: { ...payload, 'taskToken.$': '$$.Task.Token' } },
  TimeoutSeconds: timeoutSeconds,
  Retry: TRANSIENT_RETRY,
  Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: catchTo }],
  ResultPath: null,
  Next: next,
  ...extra,
});

const notify = (type: string, scope: Record<string, Json>, next: string | undefined, fields?: Record<string, Json>): State =>
  invoke(HandlerName.NOTIFY, { type, 'pipeline.$': '$.pipeline', 'change.$': '$.change', ...scope, ...(fields ? { fields } : {}) }, next);

/**
 * A bake may extend for data points up to its cap (default twice its duration) and then
 * fails itself; the task's timeout is only the net beyond that.
 */
const bakeTimeout = (p: ResolvedPipeline, seconds: number): number =>
  seconds + (p.bake.maxExtensionSeconds ?? 2 * seconds) + 3600;

/**
 * What watches a region while it has the change: the team's aggregate alarm (ANY of the
 * team's fleet alarms there, every pipeline: a team-wide rollback), the fleet's request
 * count against its daily season, each unit's requests against the rest of the region (a
 * unit whose boxes stopped serving), and, with one-box, the one-box's own alarms and its
 * anomaly checks against the fleet (a fault on one box is 10% of the region: the fleet
 * alarms may stay quiet).
 */
export const regionAlarms = (p: ResolvedPipeline, r: ResolvedRegion): string[] => [
  ...(p.oneBox
    ? [
        ...Object.values(StandardAlarm).map((kind) => oneBoxAlarmName(p.name, r.region, kind)),
        ...Object.values(AnomalyMetric).map((metric) => anomalyAlarmName(p.name, r.region, 'onebox', metric)),
      ]
    : []),
  teamAggregateAlarmName(p.team, r.region),
  anomalyAlarmName(p.name, r.region, 'fleet', AnomalyMetric.REQUESTS),
  ...r.units.map((unit) => unitAnomalyAlarmName(p.name, r.region, unit)),
];

/** The static per-region input of a region execution (everything but the change). */
export const regionItem = (p: ResolvedPipeline, r: ResolvedRegion): Record<string, Json> => {
  const alarmNames = regionAlarms(p, r);
  return {
    region: r.region,
    application: applicationName(p.name),
    oneBoxGroup: oneBoxGroupName(p.name),
    units: r.units.map((unit) => ({
      unit,
      deploymentGroup: unitGroupName(p.name, unit),
      metricScopes: [{ region: r.region, scope: unit }],
    })),
    oneBoxMetricScopes: [{ region: r.region, scope: 'onebox' }],
    alarmNames,
    alarms: alarmNames.map((name) => ({ region: r.region, name })),
  };
};

const sanitize = (s: string): string => s.replace(/[^A-Za-z0-9]/g, '');
const stageId = (stage: string): string => sanitize(stage[0]!.toUpperCase() + stage.slice(1));

/**
 * Marks the change failed with the stage, region and reason, frees the lanes it holds, then
 * fails the execution.
 */
const failChange = (
  states: States,
  id: string,
  stage: string,
  lanes: string[],
  /** Where the reason is: a task error's Cause, or the wave's region outcomes. */
  source: { causePath?: string; outcomesPath?: string },
): string => {
  const notifyId = `${id}.MarkFailed`;
  const releaseId = `${id}.ReleaseLanes`;
  const failId = `${id}.Fail`;
  states[notifyId] = notify(
    EventType.CHANGE_FAILED,
    { stage },
    releaseId,
    source.outcomesPath ? { 'outcomes.$': source.outcomesPath } : { 'cause.$': source.causePath ?? '$.error.Cause' },
  );
  // Reporting the failure must not keep the lanes held if EventBridge is down.
  (states[notifyId] as State).Catch = [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: releaseId }];
  states[releaseId] = releaseLanes(lanes, failId, { Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: failId }] });
  states[failId] = { Type: 'Fail', Error: 'ChangeFailed', Cause: `the change failed in ${stage}` };
  return notifyId;
};

const releaseLanes = (stages: string[], next: string | undefined, extra: State = {}): State =>
  invoke(HandlerName.LANE, { action: 'release', 'pipeline.$': '$.pipeline', 'change.$': '$.change', stages }, next, extra);

/** Waits until the change holds the stage's lane (one change per stage at a time). */
const acquireLane = (stage: string, next: string, catchTo: string): State =>
  callback(HandlerName.LANE, { action: 'acquire', 'pipeline.$': '$.pipeline', 'change.$': '$.change', stage }, CHILD_TIMEOUT_SECONDS, next, catchTo);

const buildPipeline = (p: ResolvedPipeline): Record<string, unknown> => {
  const states: States = {};
  const order: string[] = [];
  const add = (id: string, state: State): void => {
    states[id] = state;
    order.push(id);
  };

  // source and build are thin until the review gate and CodeBuild issues: a change arrives
  // with its artifact; the stage events still mark where it is.
  for (const stage of ['source', 'build']) {
    add(`${stageId(stage)}.Started`, notify(EventType.STAGE_STARTED, { stage }, 'NEXT'));
    add(`${stageId(stage)}.Completed`, notify(EventType.STAGE_COMPLETED, { stage }, 'NEXT'));
  }

  let previous: string | undefined;
  /** Lane of the stage first, then free the previous one: changes keep their order. */
  const enterStage = (id: string, stage: string): void => {
    const laneFailed = failChange(states, `${id}.Lane`, stage, previous ? [previous, stage] : [stage], { causePath: '$.error.Cause' });
    add(`${id}.Lane`, acquireLane(stage, 'NEXT', laneFailed));
    if (previous) add(`${id}.ReleasePrevious`, releaseLanes([previous], 'NEXT'));
    previous = stage;
  };

  for (const stage of p.preProd) {
    const id = stageId(stage);
    enterStage(id, stage);
    const scope = { stage, region: p.preProdRegion, target: DeploymentTarget.FLEET };
    const alarms = Object.values(StandardAlarm).map((kind) => serviceAlarmName(p.name, stage, kind));
    const rollbackId = `${id}.Rollback`;
    add(`${id}.Started`, notify(EventType.STAGE_STARTED, { stage }, 'NEXT'));
    add(
      `${id}.Deploy`,
      callback(
        HandlerName.START_DEPLOYMENT,
        {
          'pipeline.$': '$.pipeline',
          'change.$': '$.change',
          'revision.$': '$.revision',
          ...scope,
          application: applicationName(p.name),
          deploymentGroup: preProdGroupName(p.name, stage),
          alarms,
        },
        DEPLOY_TIMEOUT_SECONDS,
        'NEXT',
        rollbackId,
      ),
    );
    add(
      `${id}.Bake`,
      callback(
        HandlerName.START_BAKE,
        {
          'pipeline.$': '$.pipeline',
          'change.$': '$.change',
          ...scope,
          ...bakeFields(p, p.bake.preProdSeconds),
          alarms: alarms.map((name) => ({ region: p.preProdRegion, name })),
          metricScopes: [{ region: p.preProdRegion, scope: stage }],
        },
        bakeTimeout(p, p.bake.preProdSeconds),
        'NEXT',
        rollbackId,
      ),
    );
    add(`${id}.Completed`, notify(EventType.STAGE_COMPLETED, { stage }, 'NEXT'));
    const failedId = failChange(states, id, stage, [stage], { causePath: '$.error.Cause' });
    rollbackStates(states, rollbackId, { stage, region: p.preProdRegion }, failedId);
  }

  p.waves.forEach((wave, index) => {
    const id = `Wave${index + 1}`;
    const stage = wave.name;
    const rollbackId = `${id}.Rollback`;
    enterStage(id, stage);
    add(`${id}.Started`, notify(EventType.STAGE_STARTED, { stage }, 'NEXT'));
    add(`${id}.Plan`, {
      Type: 'Pass',
      Result: { regions: wave.regions.map((r) => regionItem(p, r)) },
      ResultPath: '$.wave',
      Next: 'NEXT',
    });
    add(`${id}.Regions`, {
      Type: 'Map',
      ItemsPath: '$.wave.regions',
      ItemSelector: {
        'pipeline.$': '$.pipeline',
        'change.$': '$.change',
        'revision.$': '$.revision',
        stage,
        'item.$': '$$.Map.Item.Value',
      },
      ItemProcessor: {
        ProcessorConfig: { Mode: 'INLINE' },
        StartAt: `${id}.Region`,
        States: {
          [`${id}.Region`]: {
            Type: 'Task',
            Resource: START_CHILD_SYNC,
            Parameters: {
              StateMachineArn: placeholder(REGION_STATE_MACHINE_ARN_KEY),
              Input: {
                'pipeline.$': '$.pipeline',
                'change.$': '$.change',
                'revision.$': '$.revision',
                'stage.$': '$.stage',
                'region.$': '$.item.region',
                'application.$': '$.item.application',
                'oneBoxGroup.$': '$.item.oneBoxGroup',
                'units.$': '$.item.units',
                'oneBoxMetricScopes.$': '$.item.oneBoxMetricScopes',
                'alarmNames.$': '$.item.alarmNames',
                'alarms.$': '$.item.alarms',
                'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id',
              },
            },
            TimeoutSeconds: CHILD_TIMEOUT_SECONDS,
            Retry: [{ ErrorEquals: ['StepFunctions.ExecutionLimitExceeded', 'StepFunctions.SdkClientException'], IntervalSeconds: 2, MaxAttempts: 6, BackoffRate: 2 }],
            ResultSelector: { 'region.$': '$.Output.region', 'status.$': '$.Output.status', 'reason.$': '$.Output.reason' },
            End: true,
          },
        },
      },
      MaxConcurrency: 0,
      ResultPath: '$.outcomes',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: rollbackId }],
      Next: 'NEXT',
    });
    // Regions of a wave are independent: a failed region does not stop the others, but the
    // change is not promoted past a wave in which any region failed.
    add(`${id}.Check`, {
      Type: 'Pass',
      Parameters: { 'anyFailed.$': "States.ArrayContains($.outcomes[*].status, 'failed')" },
      ResultPath: '$.check',
      Next: 'NEXT',
    });
    const regionFailedId = failChange(states, `${id}.Region`, stage, [stage], { outcomesPath: '$.outcomes' });
    add(`${id}.AnyFailed`, {
      Type: 'Choice',
      Choices: [{ Variable: '$.check.anyFailed', BooleanEquals: true, Next: regionFailedId }],
      Default: 'NEXT',
    });
    // The one-box still runs the change while the wave bakes: its alarms stay watched too.
    const bakeAlarms = wave.regions.flatMap((r) => regionAlarms(p, r).map((name) => ({ region: r.region, name })));
    add(
      `${id}.Bake`,
      callback(
        HandlerName.START_BAKE,
        {
          'pipeline.$': '$.pipeline',
          'change.$': '$.change',
          stage,
          ...bakeFields(p, wave.bakeSeconds),
          alarms: bakeAlarms,
          metricScopes: wave.regions.map((r) => ({ region: r.region, scope: 'fleet' })),
        },
        bakeTimeout(p, wave.bakeSeconds),
        'NEXT',
        rollbackId,
      ),
    );
    add(`${id}.Completed`, notify(EventType.STAGE_COMPLETED, { stage }, 'NEXT'));
    const failedId = failChange(states, id, stage, [stage], { causePath: '$.error.Cause' });
    rollbackStates(states, rollbackId, { stage }, failedId);
  });

  if (previous) add('ReleaseLast', releaseLanes([previous], 'NEXT'));
  add('Completed', notify(EventType.CHANGE_COMPLETED, {}, undefined, { 'mergedAt.$': '$.mergedAt' }));

  // Resolve the 'NEXT' placeholders along the main line, in order.
  order.forEach((id, i) => {
    const state = states[id]!;
    const next = order[i + 1];
    if (state.Next === 'NEXT') state.Next = next!;
    if (state.Default === 'NEXT') state.Default = next!;
  });

  // A step of the main line that fails beyond its retries (EventBridge down for minutes, a
  // handler bug) must not strand the lanes the change holds: it frees every lane of the
  // pipeline the change may hold, reports the failure, and fails the execution.
  const internalFailure = 'Change.InternalFailure';
  const stages = [...p.preProd, ...p.waves.map((w) => w.name)];
  states[internalFailure] = releaseLanes(stages, 'Change.InternalFailure.MarkFailed', {
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: 'Change.InternalFailure.Fail' }],
  });
  states['Change.InternalFailure.MarkFailed'] = notify(EventType.CHANGE_FAILED, {}, 'Change.InternalFailure.Fail', { 'cause.$': '$.error.Cause' });
  (states['Change.InternalFailure.MarkFailed'] as State).Catch = [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: 'Change.InternalFailure.Fail' }];
  states['Change.InternalFailure.Fail'] = { Type: 'Fail', Error: 'ChangeFailed', Cause: 'a step of the pipeline failed beyond its retries' };
  for (const id of order) {
    const state = states[id]!;
    if ((state.Type === 'Task' || state.Type === 'Map') && !state.Catch) {
      state.Catch = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: internalFailure }];
    }
  }

  return {
    Comment: `handsoff pipeline ${p.name}: source -> build -> ${stages.join(' -> ')}`,
    StartAt: order[0],
    States: states,
  };
};

/**
 * Rolls back every scope of the stage (and region) that got the change, then goes on to
 * `next` (marking the change or region failed). A rollback that itself fails still ends
 * there, never in a promotion, and its reason says the bad revision may still serve.
 */
const rollbackStates = (states: States, id: string, scope: Record<string, Json>, next: string): string => {
  const failedId = `${id}.RollbackFailed`;
  states[id] = {
    Type: 'Task',
    Resource: LAMBDA_CALLBACK,
    Parameters: {
      FunctionName: arn(HandlerName.ROLLBACK),
      Payload: { 'pipeline.$': '$.pipeline', 'change.$': '$.change', ...scope, 'reason.$': '$.error.Cause', 'taskToken.$': '$$.Task.Token' },
    },
    TimeoutSeconds: DEPLOY_TIMEOUT_SECONDS,
    Retry: ROLLBACK_RETRY,
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.rollbackError', Next: failedId }],
    ResultPath: null,
    Next: next,
  };
  // The reason names both failures: the rollback's, and what made the change fail.
  states[failedId] = {
    Type: 'Pass',
    Parameters: {
      Error: 'RollbackFailed',
      'Cause.$':
        "States.Format('rollback failed ({}), the previous revision may still serve; the change had failed: {}', $.rollbackError.Cause, $.error.Cause)",
    },
    ResultPath: '$.error',
    Next: next,
  };
  return id;
};

/**
 * Gate + wait loop before a production step: the step starts only inside the region's
 * deployment window and while no blocker (the team's aggregate alarm, a company event) is in
 * ALARM. While the gate is closed the change waits: a plain `Wait` until the next opening
 * when nothing of the change runs in the region yet, else a hold (a `.waitForTaskToken`
 * wait that watches the region's alarms), so a slow burn during a night's wait is still
 * caught and rolled back within seconds.
 */
const windowGate = (
  states: States,
  prefix: string,
  p: ResolvedPipeline,
  scope: Record<string, Json>,
  next: string,
  failTo: string,
  watchWhileWaiting: boolean,
): string => {
  const init = `${prefix}.GateInit`;
  const check = `${prefix}.Gate`;
  const choice = `${prefix}.GateOpen`;
  const wait = `${prefix}.WaitForWindow`;
  states[init] = { Type: 'Pass', Result: { value: { open: false, blocked: false } }, ResultPath: '$.gate', Next: check };
  states[check] = {
    Type: 'Task',
    Resource: LAMBDA_INVOKE,
    Parameters: {
      FunctionName: arn(HandlerName.CHECK_WINDOW),
      Payload: {
        'pipeline.$': '$.pipeline',
        'change.$': '$.change',
        'stage.$': '$.stage',
        'region.$': '$.region',
        team: p.team,
        ...scope,
        'wasBlocked.$': '$.gate.value.blocked',
        'previous.$': '$.gate.value',
      },
    },
    TimeoutSeconds: INVOKE_TIMEOUT_SECONDS,
    Retry: TRANSIENT_RETRY,
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: failTo }],
    ResultSelector: { 'value.$': '$.Payload' },
    ResultPath: '$.gate',
    Next: choice,
  };
  const blockerWait = `${prefix}.WaitForBlocker`;
  states[choice] = {
    Type: 'Choice',
    Choices: [
      { Variable: '$.gate.value.open', BooleanEquals: true, Next: next },
      { Variable: '$.gate.value.blockingAlarm', IsPresent: true, Next: blockerWait },
    ],
    Default: wait,
  };
  // A blocker (team aggregate or company event in ALARM) is waited for as an event: the wait
  // ends when the alarm goes back to OK (or, as a net, at the re-check time), not by polling.
  // Where the change already runs, the region's alarms stay watched: a team alarm there is a
  // team-wide rollback, not a pause.
  states[blockerWait] = callback(
    HandlerName.START_BAKE,
    {
      purpose: 'blocker',
      'blocker.$': '$.gate.value.blockingAlarm',
      'until.$': '$.gate.value.nextOpening',
      'pipeline.$': '$.pipeline',
      'change.$': '$.change',
      'stage.$': '$.stage',
      'region.$': '$.region',
      ...scope,
      ...bakeFields(p, 0),
      minRequests: 0,
      ...(watchWhileWaiting ? { 'alarms.$': '$.alarms' } : { alarms: [] }),
      metricScopes: [],
    },
    CHILD_TIMEOUT_SECONDS,
    check,
    failTo,
  );
  states[wait] = watchWhileWaiting
    ? callback(
        HandlerName.START_BAKE,
        {
          purpose: 'hold',
          'until.$': '$.gate.value.nextOpening',
          'pipeline.$': '$.pipeline',
          'change.$': '$.change',
          'stage.$': '$.stage',
          'region.$': '$.region',
          ...scope,
          service: p.service,
          durationSeconds: 0,
          minRequests: 0,
          'alarms.$': '$.alarms',
          metricScopes: [],
        },
        CHILD_TIMEOUT_SECONDS,
        check,
        failTo,
      )
    : { Type: 'Wait', TimestampPath: '$.gate.value.nextOpening', Next: check };
  return init;
};

const buildRegion = (p: ResolvedPipeline): Record<string, unknown> => {
  const states: States = {};
  const rollback = 'Region.Rollback';
  const failed = 'Region.Failed';
  const succeeded = 'Region.Succeeded';

  // Nothing of the change runs in the region before its one-box: that gate only waits.
  const oneBoxStart = windowGate(states, 'OneBox', p, { target: DeploymentTarget.ONE_BOX }, 'OneBox.Deploy', rollback, false);
  const base = { 'pipeline.$': '$.pipeline', 'change.$': '$.change', 'stage.$': '$.stage', 'region.$': '$.region' };
  states['OneBox.Deploy'] = callback(
    HandlerName.START_DEPLOYMENT,
    {
      ...base,
      'revision.$': '$.revision',
      target: DeploymentTarget.ONE_BOX,
      'application.$': '$.application',
      'deploymentGroup.$': '$.oneBoxGroup',
      'alarms.$': '$.alarmNames',
    },
    DEPLOY_TIMEOUT_SECONDS,
    'OneBox.Bake',
    rollback,
  );
  states['OneBox.Bake'] = callback(
    HandlerName.START_BAKE,
    {
      ...base,
      target: DeploymentTarget.ONE_BOX,
      ...bakeFields(p, p.bake.oneBoxSeconds),
      'alarms.$': '$.alarms',
      'metricScopes.$': '$.oneBoxMetricScopes',
    },
    bakeTimeout(p, p.bake.oneBoxSeconds),
    'Units',
    rollback,
  );

  const unitStates: States = {};
  const unitScope = { target: DeploymentTarget.FLEET, 'unit.$': '$.unit.unit' };
  // Before the first unit of a pipeline without one-box nothing runs there yet either; the
  // hold's alarms are the region's, so holding is safe (and it is what watches slow burns).
  const unitStart = windowGate(unitStates, 'Unit', p, unitScope, 'Unit.Deploy', 'Unit.Failed', true);
  unitStates['Unit.Deploy'] = callback(
    HandlerName.START_DEPLOYMENT,
    {
      ...base,
      ...unitScope,
      'revision.$': '$.revision',
      'application.$': '$.application',
      'deploymentGroup.$': '$.unit.deploymentGroup',
      'alarms.$': '$.alarmNames',
    },
    DEPLOY_TIMEOUT_SECONDS,
    'Unit.Bake',
    'Unit.Failed',
  );
  unitStates['Unit.Bake'] = callback(
    HandlerName.START_BAKE,
    {
      ...base,
      ...unitScope,
      ...bakeFields(p, p.bake.unitSeconds),
      'alarms.$': '$.alarms',
      'metricScopes.$': '$.unit.metricScopes',
    },
    bakeTimeout(p, p.bake.unitSeconds),
    'Unit.Done',
    'Unit.Failed',
  );
  unitStates['Unit.Done'] = { Type: 'Succeed' };
  // Re-raise with the original error so the region's Catch sees the cause.
  unitStates['Unit.Failed'] = { Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' };

  states['Units'] = {
    Type: 'Map',
    ItemsPath: '$.units',
    ItemSelector: {
      'pipeline.$': '$.pipeline',
      'change.$': '$.change',
      'revision.$': '$.revision',
      'stage.$': '$.stage',
      'region.$': '$.region',
      'application.$': '$.application',
      'alarmNames.$': '$.alarmNames',
      'alarms.$': '$.alarms',
      'unit.$': '$$.Map.Item.Value',
    },
    // One unit (AZ or cell) at a time: a bad change reaches at most one unit's fleet.
    MaxConcurrency: 1,
    ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: unitStart, States: unitStates },
    ResultPath: null,
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: rollback }],
    Next: succeeded,
  };
  states[succeeded] = {
    Type: 'Pass',
    Parameters: { 'region.$': '$.region', status: 'succeeded', reason: '' },
    End: true,
  };
  rollbackStates(states, rollback, { 'stage.$': '$.stage', 'region.$': '$.region' }, failed);
  states[failed] = {
    Type: 'Pass',
    Parameters: { 'region.$': '$.region', status: 'failed', 'reason.$': '$.error.Cause' },
    End: true,
  };

  if (!p.oneBox) {
    for (const id of Object.keys(states)) if (id.startsWith('OneBox.')) delete states[id];
  }
  return {
    Comment: `handsoff region rollout of ${p.name}: ${p.oneBox ? 'one-box, bake, then ' : ''}each unit in turn`,
    StartAt: p.oneBox ? oneBoxStart : 'Units',
    States: states,
  };
};

export const buildStateMachines = (p: ResolvedPipeline): StateMachineDefinitions => ({
  pipeline: buildPipeline(p),
  region: buildRegion(p),
});

/** Every placeholder the definitions use, for DefinitionSubstitutions. */
export const definitionPlaceholders = (defs: StateMachineDefinitions): string[] => {
  const found = new Set<string>();
  for (const def of [defs.pipeline, defs.region]) {
    for (const m of JSON.stringify(def).matchAll(/\$\{([A-Za-z0-9]+)\}/g)) found.add(m[1]!);
  }
  return [...found].sort();
};
