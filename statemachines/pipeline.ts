/**
 * The pipeline machine: one execution per change; source, build, pre-production stages,
 * then each production wave as a Map over its regions, each region a child execution
 * (`startExecution.sync:2`) so that no execution's history nears the 25,000-event limit.
 */
import { DeploymentTarget, type ResolvedPipeline } from '../core/model.ts';
import { applicationName, preProdGroupName } from '../core/naming.ts';
import { EventType } from '../core/events.ts';
import { HandlerName, placeholder, REGION_STATE_MACHINE_ARN_KEY } from './resources.ts';
import { CHILD_TIMEOUT_SECONDS, DEPLOY_TIMEOUT_SECONDS, START_CHILD_SYNC, State, States, bake, callback, invoke, notify, stageId } from './asl.ts';
import { preProdAlarms, regionAlarms, regionItem } from './alarms.ts';
import { rollbackEarlierStates, rollbackStates } from './rollback.ts';
import { sourceStage } from './source.ts';
import { runBuild } from './build.ts';
import { regionChildStates } from './region-child.ts';
import { waveHoldStates } from './wave-hold.ts';
import { returnsToGate, windowGate } from './gate.ts';
import { stageTestStates } from './tests.ts';
import type { MachineOptions } from './commit-source.ts';
import { gammaOneBoxStep } from './gamma.ts';

/** Where a change failed when a step of the pipeline's main line failed beyond its retries (the rollbacks' reason names it). */
export const INTERNAL_STEP = 'a step of the pipeline';

/**
 * Rolls back the earlier stages that got the change (a failed change runs on no box at the
 * end), marks the change failed with the stage, region and reason, frees the lanes it holds,
 * then fails the execution.
 */
export const failChange = (
  states: States,
  id: string,
  stage: string,
  lanes: string[],
  /** Where the reason is: a task error's Cause, or the wave's region outcomes. */
  source: { causePath?: string; outcomesPath?: string },
  /** The stage's region when it has one (pre-production: the pre-production region). */
  region?: string,
  /**
   * The stages that may still run the change, rolled back first: those before this one and, for
   * a wave, the wave itself (its regions that did not fail, or that the failure did not name).
   */
  earlier: string[] = [],
): string => {
  const notifyId = `${id}.MarkFailed`;
  const releaseId = `${id}.ReleaseLanes`;
  const failId = `${id}.Fail`;
  const causePath = source.causePath ?? '$.error.Cause';
  states[notifyId] = notify(
    EventType.CHANGE_FAILED,
    region ? { stage, region } : { stage },
    releaseId,
    {
      ...(source.outcomesPath ? { 'outcomes.$': source.outcomesPath } : { 'cause.$': causePath }),
      // What the earlier stages' rollbacks did: the reason names any that could not restore.
      ...(earlier.length > 0 ? { 'rollbacks.$': '$.earlierRollbacks' } : {}),
    },
  );
  // Reporting the failure must not keep the lanes held if EventBridge is down.
  (states[notifyId] as State).Catch = [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: releaseId }];
  states[releaseId] = releaseLanes(lanes, failId, { Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: failId }] });
  states[failId] = { Type: 'Fail', Error: 'ChangeFailed', Cause: `the change failed in ${stage}` };
  if (earlier.length === 0) return notifyId;
  const why = source.outcomesPath ? { outcomesPath: source.outcomesPath } : { causePath };
  return rollbackEarlierStates(states, `${id}.RollbackEarlier`, earlier, stage, why, notifyId);
};

export const releaseLanes = (stages: string[], next: string | undefined, extra: State = {}): State =>
  invoke(HandlerName.LANE, { action: 'release', 'pipeline.$': '$.pipeline', 'change.$': '$.change', stages }, next, extra);

/**
 * Waits until the change holds the stage's lane (one change per stage at a time). Batching
 * (`batched`): the change's merge time orders it among the waiters, it frees `previous` while it
 * waits, and the answer (`$.lane`) may say it is superseded (`supersededBy`).
 */
export const acquireLane = (stage: string, next: string, catchTo: string, batched?: { previous?: string }): State =>
  callback(
    HandlerName.LANE,
    {
      action: 'acquire',
      'pipeline.$': '$.pipeline',
      'change.$': '$.change',
      stage,
      'execution.$': '$$.Execution.Id',
      ...(batched ? { batching: true, 'mergedAt.$': '$.mergedAt', ...(batched.previous ? { previous: batched.previous } : {}) } : {}),
    },
    CHILD_TIMEOUT_SECONDS,
    next,
    catchTo,
    batched ? { ResultPath: '$.lane' } : {},
  );

/**
 * A change superseded by a newer one while it waited for `stage` (release batching): it
 * announces `change.superseded` with the newer change (`by`), frees every lane it may hold, and
 * its execution ends (a success: the newer change carries its commits). Neither step failing
 * keeps it running: the reconciler frees the lanes of an ended execution.
 */
const supersededStates = (states: States, id: string, stage: string, lanes: string[]): string => {
  const notifyId = `${id}.Superseded`;
  const releaseId = `${id}.Superseded.ReleaseLanes`;
  const endId = `${id}.Superseded.End`;
  states[notifyId] = notify(EventType.CHANGE_SUPERSEDED, { stage }, releaseId, { 'by.$': '$.lane.supersededBy' });
  (states[notifyId] as State).Catch = [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: releaseId }];
  states[releaseId] = releaseLanes(lanes, endId, { Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: endId }] });
  states[endId] = { Type: 'Succeed' };
  return notifyId;
};

/**
 * The build stage's pin: `resolve-artifact` reads back the object the build uploaded (the
 * version it exported), checks its SHA-256 against the one the build exported, and the change
 * carries it (`$.artifact`) from then on; every deployment and rollback uses exactly that
 * object. No pinned artifact, the change fails in `build` with the reason, before it takes a
 * lane or deploys anything (the Choice is the net if a handler ever answered without one).
 */
const artifactPinned = (states: States, add: (id: string, state: State) => void): void => {
  const failed = failChange(states, 'Build.Artifact', 'build', [], { causePath: '$.error.Cause' });
  add(
    'Build.ResolveArtifact',
    invoke(HandlerName.RESOLVE_ARTIFACT, { 'pipeline.$': '$.pipeline', 'change.$': '$.change', 'revision.$': '$.revision', 'build.$': '$.build.run' }, 'NEXT', {
      // The whole answer, unselected: a path to a field it lacks would be a States.Runtime
      // error, which no Catch takes (the change would stop holding its lanes).
      ResultSelector: { 'pinned.$': '$.Payload' },
      ResultPath: '$.build',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: failed }],
    }),
  );
  states['Build.ArtifactMissing'] = {
    Type: 'Pass',
    Parameters: {
      Error: 'ArtifactNotPinned',
      Cause: JSON.stringify({ reason: 'the change carries no pinned artifact (S3 version id, ETag and SHA-256); handsoff never deploys by key alone' }),
    },
    ResultPath: '$.error',
    Next: failed,
  };
  add('Build.ArtifactPinned', {
    Type: 'Choice',
    Choices: [
      {
        Not: { And: ['versionId', 'eTag', 'sha256'].map((f) => ({ Variable: `$.build.pinned.${f}`, IsPresent: true })) },
        Next: 'Build.ArtifactMissing',
      },
    ],
    Default: 'NEXT',
  });
  add('Build.PinArtifact', {
    Type: 'Pass',
    Parameters: { 'versionId.$': '$.build.pinned.versionId', 'eTag.$': '$.build.pinned.eTag', 'sha256.$': '$.build.pinned.sha256' },
    ResultPath: '$.artifact',
    Next: 'NEXT',
  });
};

/**
 * One region's branch of a wave: its region execution and, in a wave of several regions, the
 * wave hold that watches it until the wave's last region is done (statemachines/wave-hold.ts).
 */
const waveItemStates = (p: ResolvedPipeline, id: string, stage: string, regions: readonly string[]): States => {
  if (regions.length < 2) return regionChildStates(id);
  const states = regionChildStates(id, `${id}.Region.WaveHold`);
  waveHoldStates(states, p, id, stage, regions);
  return states;
};

export const buildPipeline = (p: ResolvedPipeline, options: MachineOptions = {}): Record<string, unknown> => {
  const states: States = {};
  const order: string[] = [];
  const add = (id: string, state: State): void => {
    states[id] = state;
    order.push(id);
  };

  // Source: the review gate decides first; only a reviewed change goes on.
  sourceStage(add, states);
  // Build: the pipeline's CodeBuild project builds and unit-tests the revision and uploads its
  // bundle; the change pins that object. A failed build or an artifact that cannot be pinned
  // fails the change here, before it takes a lane or deploys.
  add('Build.Started', notify(EventType.STAGE_STARTED, { stage: 'build' }, 'NEXT'));
  add('Build.Run', runBuild(p, 'NEXT', failChange(states, 'Build.Run', 'build', [], { causePath: '$.error.Cause' }), options));
  artifactPinned(states, add);
  add('Build.Recorded', notify(EventType.BUILD_COMPLETED, { stage: 'build' }, 'NEXT', { 'revision.$': '$.revision', 'sha256.$': '$.artifact.sha256' }));
  add('Build.Completed', notify(EventType.STAGE_COMPLETED, { stage: 'build' }, 'NEXT'));

  let previous: string | undefined;
  /** The stages entered before the current one: a change failed later is rolled back there too. */
  const earlier: string[] = [];
  /**
   * Lane of the stage first, then free the previous one: changes keep their order. Batching, a
   * change that must wait frees the previous stage meanwhile (the lane handler does), and one
   * superseded while it waits ends there.
   */
  const enterStage = (id: string, stage: string, region?: string): void => {
    const held = previous ? [previous, stage] : [stage];
    const laneFailed = failChange(states, `${id}.Lane`, stage, held, { causePath: '$.error.Cause' }, region, [...earlier]);
    add(`${id}.Lane`, acquireLane(stage, 'NEXT', laneFailed, p.batching ? { ...(previous ? { previous } : {}) } : undefined));
    if (p.batching) {
      add(`${id}.LaneSuperseded`, {
        Type: 'Choice',
        Choices: [{ Variable: '$.lane.supersededBy', IsPresent: true, Next: supersededStates(states, id, stage, held) }],
        Default: 'NEXT',
      });
    }
    if (previous) add(`${id}.ReleasePrevious`, releaseLanes([previous], 'NEXT'));
    previous = stage;
  };

  for (const stage of p.preProd) {
    const id = stageId(stage);
    enterStage(id, stage, p.preProdRegion);
    const scope = { stage, region: p.preProdRegion, target: DeploymentTarget.FLEET };
    const alarms = preProdAlarms(p, stage);
    const rollbackId = `${id}.Rollback`;
    add(`${id}.Started`, notify(EventType.STAGE_STARTED, { stage }, 'NEXT'));
    // Gamma deploys one-box first, as production does (statemachines/gamma.ts).
    gammaOneBoxStep(states, add, p, stage, id, rollbackId);
    // Nothing of the change runs in the stage yet (but gamma's one-box): the gate only waits for its alarms' data.
    const gate = windowGate(states, id, p, { target: DeploymentTarget.FLEET }, `${id}.Deploy`, rollbackId, false, { stage, region: p.preProdRegion, alarms });
    add(gate, states[gate]!);
    add(
      `${id}.Deploy`,
      returnsToGate(callback(
        HandlerName.START_DEPLOYMENT,
        {
          'pipeline.$': '$.pipeline',
          'change.$': '$.change',
          'revision.$': '$.revision',
          'artifact.$': '$.artifact',
          ...scope,
          application: applicationName(p.name),
          deploymentGroup: preProdGroupName(p.name, stage),
          alarms,
        },
        DEPLOY_TIMEOUT_SECONDS,
        'NEXT',
        rollbackId,
      ), id),
    );
    // The stage's suite, after its deployment and before its bake (statemachines/tests.ts).
    stageTestStates(states, add, p, stage, id, p.preProdRegion, rollbackId, options);
    add(
      `${id}.Bake`,
      bake(
        p,
        p.bake.preProdSeconds,
        { ...scope, alarms: alarms.map((name) => ({ region: p.preProdRegion, name })), metricScopes: [{ region: p.preProdRegion, scope: stage }] },
        'NEXT',
        rollbackId,
      ),
    );
    add(`${id}.Completed`, notify(EventType.STAGE_COMPLETED, { stage }, 'NEXT'));
    const failedId = failChange(states, id, stage, [stage], { causePath: '$.error.Cause' }, p.preProdRegion, [...earlier]);
    rollbackStates(states, rollbackId, { stage, region: p.preProdRegion }, failedId);
    earlier.push(stage);
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
        'artifact.$': '$.artifact',
        stage,
        'item.$': '$$.Map.Item.Value',
      },
      ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' }, StartAt: `${id}.Region`, States: waveItemStates(p, id, stage, wave.regions.map((r) => r.region)) },
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
    const regionFailedId = failChange(states, `${id}.Region`, stage, [stage], { outcomesPath: '$.outcomes' }, undefined, [...earlier, stage]);
    add(`${id}.AnyFailed`, {
      Type: 'Choice',
      Choices: [{ Variable: '$.check.anyFailed', BooleanEquals: true, Next: regionFailedId }],
      Default: 'NEXT',
    });
    // The one-box still runs the change while the wave bakes: its alarms stay watched too.
    const bakeAlarms = wave.regions.flatMap((r) => regionAlarms(p, r).map((name) => ({ region: r.region, name })));
    add(
      `${id}.Bake`,
      bake(p, wave.bakeSeconds, { stage, alarms: bakeAlarms, metricScopes: wave.regions.map((r) => ({ region: r.region, scope: 'fleet' })) }, 'NEXT', rollbackId),
    );
    add(`${id}.Completed`, notify(EventType.STAGE_COMPLETED, { stage }, 'NEXT'));
    const failedId = failChange(states, id, stage, [stage], { causePath: '$.error.Cause' }, undefined, [...earlier, stage]);
    rollbackStates(states, rollbackId, { stage }, failedId);
    earlier.push(stage);
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
  // handler bug): the change fails, so, as on any failure, every stage it may have reached is
  // rolled back first (a stage it never reached has nothing to roll back), with the lanes it
  // still holds; then it frees every lane of the pipeline it may hold, reports the failure
  // (naming any stage that could not be restored), and fails the execution. A step after the
  // last wave's bake (its report, the last lane's release) fails the same way: handsoff cannot
  // tell the change was completed, so it does not leave it running (fail closed).
  const internalFailure = 'Change.InternalFailure';
  const stages = [...p.preProd, ...p.waves.map((w) => w.name)];
  const releaseAll = `${internalFailure}.ReleaseLanes`;
  const rollbackAll = rollbackEarlierStates(states, `${internalFailure}.RollbackAll`, stages, INTERNAL_STEP, { causePath: '$.error.Cause' }, releaseAll);
  states[releaseAll] = releaseLanes(stages, 'Change.InternalFailure.MarkFailed', {
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: 'Change.InternalFailure.Fail' }],
  });
  states['Change.InternalFailure.MarkFailed'] = notify(EventType.CHANGE_FAILED, {}, 'Change.InternalFailure.Fail', {
    'cause.$': '$.error.Cause',
    'rollbacks.$': '$.earlierRollbacks',
  });
  (states['Change.InternalFailure.MarkFailed'] as State).Catch = [{ ErrorEquals: ['States.ALL'], ResultPath: null, Next: 'Change.InternalFailure.Fail' }];
  states['Change.InternalFailure.Fail'] = { Type: 'Fail', Error: 'ChangeFailed', Cause: 'a step of the pipeline failed beyond its retries' };
  for (const id of order) {
    const state = states[id]!;
    if ((state.Type === 'Task' || state.Type === 'Map') && !state.Catch) {
      state.Catch = [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: rollbackAll }];
    }
  }

  return {
    Comment: `handsoff pipeline ${p.name}: source -> build -> ${stages.join(' -> ')}`,
    StartAt: order[0],
    States: states,
  };
};
