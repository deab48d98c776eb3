/**
 * The simulator: the exact ASL the CDK stack deploys in the Step Functions stand-in
 * (stepfunctions.ts, executions by name), every task routed to the real handler code
 * (lambda.ts), state in a local DynamoDB (local-dynamo.ts), the world's AWS events and the
 * pushes to main delivered by the EventBridge stand-in (eventbridge.ts), bake ends by the
 * Scheduler stand-in (scheduler.ts), and a simulated CodeDeploy/CloudWatch/CodeCommit world
 * (world/). Time is virtual (clock.ts).
 * `simulate()` composes them and plays the scenario.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { CodeCommitClient } from '@aws-sdk/client-codecommit';
import type { S3Client } from '@aws-sdk/client-s3';
import type { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { dispatcher } from './world/sdk.ts';
import type { ResolvedPipeline } from '../core/model.ts';
import { EventType, type HandsoffEvent } from '../core/events.ts';
import { ENV } from '../lambdas/shared/config.ts';
import { setClients } from '../lambdas/shared/clients.ts';
import { HandlerName } from '../statemachines/resources.ts';
import { RECONCILE_HEARTBEAT_SECONDS } from '../core/sweeps.ts';
import { teamAggregateAlarmName } from '../core/naming.ts';
import { registerBuilds } from './world/build.ts';
import { REGION_CATALOG } from '../infra/catalog/regions.ts';
import { World } from './world/index.ts';
import { SimulatedCodeBuild } from './world/codebuild.ts';
import { SimulatedTestFunctions, registerStageTests } from './world/tests.ts';
import { startLocalDynamo, type LocalDynamo } from './local-dynamo.ts';
import { at, installClock, settle, type VirtualClock } from './clock.ts';
import { ACCOUNT, ASYNC_ATTEMPTS, ASYNC_RETRY_DELAYS_MS, HOME, loadHandlers, LOCAL_ARTIFACT_BUCKET, localFunctionArn, LocalLambda, type InvocationQueue } from './lambda.ts';
import type { LiveDriver } from './live.ts';
import type { OperatorAction, OperatorResult } from '../core/operators.ts';
import { LocalStepFunctions, stateMachineArn } from './stepfunctions.ts';
import { awsEventOf, deliverLater, deliverPush, localEventBridge } from './eventbridge.ts';
import { pushToMain, simulatedCodeCommit } from './world/codecommit-api.ts';
import { localScheduler } from './scheduler.ts';
import { Faults, faultyClient, type FaultSpec } from './faults.ts';
import { scheduleAlarmDeletions } from './world-faults.ts';
import { meter } from './meter.ts';
import type { ChangeSummary, RunStats, SimulationOptions, SimulationResult } from './types.ts';

export type { SimChange, SimEvent, SimScenario, ChangeSummary, SimulationStats, SimulationResult, SimulationOptions } from './types.ts';
export { at } from './clock.ts';
export { localFunctionArn } from './lambda.ts';
export { substitute } from './stepfunctions.ts';
export { EVENT_DELIVERY_MS } from './eventbridge.ts';
export { LiveControl } from './live.ts';

/** The reconciler's standing schedule, as on AWS (core/sweeps.ts): its other sweeps are woken by one-time schedules. */
export const RECONCILE_HEARTBEAT_MS = RECONCILE_HEARTBEAT_SECONDS * 1000;

const setEnvironment = (): void => {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_SERVICE_NAME ??= 'handsoff';
  process.env[ENV.EVENT_BUS_NAME] = 'handsoff';
  process.env[ENV.BAKE_END_FUNCTION_ARN] = localFunctionArn(HandlerName.BAKE_END);
  process.env[ENV.OPERATOR_FUNCTION_ARN] = localFunctionArn(HandlerName.OPERATOR);
  process.env[ENV.RECONCILE_FUNCTION_ARN] = localFunctionArn(HandlerName.RECONCILE);
  process.env[ENV.SCHEDULER_ROLE_ARN] = `arn:aws:iam::${ACCOUNT}:role/handsoff-scheduler`;
  process.env[ENV.SCHEDULE_GROUP] = 'handsoff';
  process.env[ENV.ARTIFACT_BUCKET] = LOCAL_ARTIFACT_BUCKET;
  process.env[ENV.ACCOUNT_ID] = ACCOUNT;
};

/** Windows and holidays live in DynamoDB on AWS too: seed them from the pipelines. */
const seedCalendars = async (dynamo: LocalDynamo, pipelines: readonly ResolvedPipeline[]): Promise<void> => {
  const puts: Promise<unknown>[] = [];
  const windowsTable = process.env[ENV.WINDOWS_TABLE]!;
  const holidaysTable = process.env[ENV.HOLIDAYS_TABLE]!;
  for (const p of pipelines) {
    const regions = [...new Map(p.waves.flatMap((w) => w.regions).map((r) => [r.region, r])).values()];
    for (const r of regions) {
      puts.push(
        dynamo.client.send(
          new PutCommand({
            TableName: windowsTable,
            Item: { pk: p.name, sk: r.region, timeZone: r.windowTimeZone, days: [...p.window.days], start: p.window.start, end: p.window.end },
          }),
        ),
      );
    }
    for (const date of p.holidays) {
      puts.push(dynamo.client.send(new PutCommand({ TableName: holidaysTable, Item: { pk: p.name, sk: date } })));
    }
    for (const [region, dates] of Object.entries(p.holidaysByRegion)) {
      for (const date of dates) {
        puts.push(dynamo.client.send(new PutCommand({ TableName: holidaysTable, Item: { pk: `${p.name}#${region}`, sk: date } })));
      }
    }
  }
  await Promise.all(puts);
};

/**
 * A live run's hold on the engine (live.ts): the clock advances timer by timer up to a target
 * (a fake timer at the target tells when it is reached), and an action runs now in the queue.
 */
const liveDriver = (clock: VirtualClock, queue: InvocationQueue, untilMs: number, invokeOperator: (action: OperatorAction) => Promise<unknown>): LiveDriver => ({
  now: () => clock.now,
  untilMs,
  advanceTo: async (targetMs, interrupted) => {
    let reached = false;
    const sentinel = setTimeout(() => (reached = true), Math.max(0, targetMs - clock.now));
    while (!reached) {
      if (interrupted()) {
        clearTimeout(sentinel);
        return;
      }
      clock.next();
      await settle(queue);
    }
  },
  operate: async (action) => {
    const result = (await invokeOperator(action)) as OperatorResult;
    await settle(queue);
    return result;
  },
});

export const simulate = async (opts: SimulationOptions): Promise<SimulationResult> => {
  const { pipelines, scenario, onEvent } = opts;
  setEnvironment();

  const dynamo = await startLocalDynamo();
  const handlers = await loadHandlers();
  const byName = new Map(pipelines.map((p) => [p.name, p]));
  const emitted: HandsoffEvent[] = [];
  const emit = (e: HandsoffEvent): void => {
    emitted.push(e);
    onEvent(e);
  };
  await seedCalendars(dynamo, pipelines);
  const holidaysTable = process.env[ENV.HOLIDAYS_TABLE]!;

  const clock = installClock(scenario.start);
  let dynamoStopped = false;
  // Whatever fails while the clock is fake must not leave it (or the clients) installed.
  try {
    const specs = scenario.events.flatMap((e): FaultSpec[] => (e.kind === 'fault' ? [e.spec] : []));
    const faults = new Faults(specs, scenario.seed ?? 1, emit, pipelines.map((p) => p.name).join(','));
    const lambda = new LocalLambda(handlers, faults.wrapInvocation);
    const queue = lambda.queue;
    const invokeAsync = (functionArn: string, payload: unknown): void => lambda.invokeAsync(functionArn, payload);
    lambda.onDeadLetter = (handler, _payload, error) =>
      faults.record('dead-letter', { handler, error: error.name, reason: `every attempt of an asynchronous invocation failed: ${error.message}` });

    const world = new World({
      pipelines,
      regions: [...REGION_CATALOG],
      emit: (w) => {
        if (w.kind === 'stream') emit(w.event);
        else {
          const event = awsEventOf(w);
          if (!event) return;
          const scope = { region: w.kind === 'alarm' ? w.region : w.detail.region, ...(w.kind === 'alarm' ? { alarm: w.detail.alarmName } : { deploymentId: w.detail.deploymentId }) };
          if (faults.loses(event.source, scope)) return;
          deliverLater(event, invokeAsync);
          if (faults.duplicates(event.source, scope)) deliverLater(event, invokeAsync, Math.floor(faults.random('duplicate-lag') * 10_000));
        }
      },
    });

    // The Scheduler invokes its targets at least once: a schedule may fire twice, or (a fault) never.
    const scheduler = localScheduler((functionArn, payload) => {
      if (faults.loses('schedule')) return;
      invokeAsync(functionArn, payload);
      if (faults.duplicates('schedule')) invokeAsync(functionArn, payload);
    });
    // Build and integration-test projects register what they do (world/codebuild.ts).
    const codebuild = new SimulatedCodeBuild();
    const testFunctions = new SimulatedTestFunctions();
    registerStageTests(pipelines, codebuild, testFunctions, (p, change) => world.behaviorOf(p, change));
    const sfn = new LocalStepFunctions(pipelines, lambda, codebuild, testFunctions);
    registerBuilds(codebuild, world, pipelines, LOCAL_ARTIFACT_BUCKET);
    // Each change is a commit pushed to main of the pipeline's repository (named like it).
    const codeCommit = simulatedCodeCommit(
      scenario.changes.map((c) => ({ id: c.id, repository: c.pipeline, author: c.author, approvedBy: c.approvedBy, at: c.at })),
    );
    let dynamoCalls = 0;
    dynamo.client.middlewareStack.add((next) => (args) => {
      dynamoCalls++;
      return next(args);
    }, { step: 'initialize', name: 'handsoffCountCalls' });
    meter.attachDynamo(dynamo.client);
    let seeding = false;
    dynamo.client.middlewareStack.add(
      (next, context) => (args) => (seeding ? next(args) : faults.call('dynamodb', String(context.commandName ?? 'Unknown').replace(/Command$/, ''), () => next(args))),
      { step: 'initialize', name: 'handsoffFaults' },
    );
    const s3 = world.artifacts.client();
    setClients(meter.clients({
      codeDeploy: (region) => faultyClient(faults, 'codedeploy', world.codeDeploy(region)) as unknown as CodeDeployClient,
      cloudWatch: (region) => faultyClient(faults, 'cloudwatch', world.cloudWatch(region)) as unknown as CloudWatchClient,
      dynamo: () => dynamo.client,
      sfn: () => faultyClient(faults, 'stepfunctions', sfn.client()) as unknown as SFNClient,
      codeCommit: () => codeCommit as unknown as CodeCommitClient,
      s3: () => s3 as unknown as S3Client,
      events: () => faultyClient(faults, 'eventbridge', localEventBridge(emit)) as unknown as EventBridgeClient,
      scheduler: () => faultyClient(faults, 'scheduler', scheduler) as unknown as SchedulerClient,
      // The simulator's source is CodeCommit-like: no GitHub source pipeline, no token.
      codePipeline: () => dispatcher('CodePipeline', {}) as unknown as CodePipelineClient,
      secretsManager: () => dispatcher('Secrets Manager', {}) as unknown as SecretsManagerClient,
    }));
    scheduleAlarmDeletions(world, faults, pipelines);

    // Changes and scenario events happen at their virtual times.
    const outcomes = new Map<string, ChangeSummary['status'] | 'pending'>();
    // 'pending' until merged: the reconciler runs only while a merged change is in flight.
    for (const c of scenario.changes) outcomes.set(c.id, 'pending');
    /** A change's pipeline execution decides its outcome (rejected: the review gate said no). */
    sfn.onPipelineExecution = (pipeline, change, run) => {
      if (!outcomes.has(change)) return;
      run.then(
        () => outcomes.set(change, emitted.some((x) => x.type === EventType.CHANGE_SUPERSEDED && x.change === change) ? 'superseded' : 'succeeded'),
        (e: Error) => {
          if (emitted.some((x) => x.type === EventType.CHANGE_REJECTED && x.change === change)) {
            outcomes.set(change, 'rejected');
            return;
          }
          outcomes.set(change, 'failed');
          // An execution that failed without marking the change (a States.Runtime error, say)
          // is still a failed change, with the execution's error as the reason.
          if (!emitted.some((x) => x.type === EventType.CHANGE_FAILED && x.change === change)) {
            const cause = (e as Error & { cause?: Error }).cause;
            emit({
              time: new Date(Date.now()).toISOString(),
              type: EventType.CHANGE_FAILED,
              pipeline,
              change,
              reason: `pipeline execution failed: ${cause?.name ?? e.name}: ${cause?.message ?? e.message}`,
            });
          }
        },
      );
    };
    // A change is a push to main: the push rule's target (start-change) gets the event, as on
    // AWS, and starts the change's pipeline execution by name; the review gate is its first
    // step. A duplicated push (fault duplicate-events, source `source`) reaches start-change
    // twice with the same event id: the second delivery adopts the change, nothing runs twice.
    for (const c of scenario.changes) {
      at(c.at, () => {
        const pipeline = byName.get(c.pipeline)!;
        outcomes.set(c.id, 'in-flight');
        world.setBehavior(pipeline.name, c.id, c.behavior);
        const push = pushToMain({ id: c.id, repository: pipeline.name, author: c.author }, pipeline.name, stateMachineArn(pipeline.name, 'pipeline'), HOME);
        const duplicated = faults.duplicates('source', { pipeline: pipeline.name, change: c.id });
        deliverPush(push, invokeAsync, duplicated ? Math.floor(faults.random('duplicate-lag') * 10_000) : undefined);
      });
    }
    for (const e of scenario.events) {
      at(e.at, () => {
        if (e.kind === 'company-event') world.setCompanyEvent(e.state, e.region);
        else if (e.kind === 'team-alarm') {
          for (const team of new Set(pipelines.map((p) => p.team))) {
            // ALARM or INSUFFICIENT_DATA forces the team's aggregate alarm; OK hands it back to its rule.
            if (e.team && e.team !== team) continue;
            // A team aggregate deleted by a fault stays deleted: nothing to force.
            if (world.alarmState(e.region, teamAggregateAlarmName(team, e.region)) === undefined) continue;
            world.forceTeamAlarm(team, e.region, e.state === 'OK' ? undefined : e.state);
          }
        } else if (e.kind === 'operator') {
          // A person acts through the operator handler, as the console does on AWS; an
          // invocation that fails (a crash, throttling) is retried as an asynchronous one is
          // (after 1 and 2 minutes): the action is idempotent, a retry finishes its job.
          const when = new Date(e.at).toISOString();
          const operate = (attempt: number): void => {
            lambda.invoke(localFunctionArn(HandlerName.OPERATOR), e.action).then(
              (result) => {
                const r = result as { status: number; error?: string; reason?: string };
                if (r.status >= 400 && r.status !== 403) process.stderr.write(`handsoff simulate: ${e.action.action} at ${when} refused (${r.status} ${r.reason ?? ''}): ${r.error ?? ''}\n`);
              },
              (err: Error) => {
                process.stderr.write(`handsoff simulate: ${e.action.action} at ${when} failed (attempt ${attempt}): ${err.name}: ${err.message}\n`);
                if (attempt < ASYNC_ATTEMPTS) setTimeout(() => operate(attempt + 1), ASYNC_RETRY_DELAYS_MS[attempt - 1]);
              },
            );
          };
          operate(1);
        } else if (e.kind === 'lose-events') {
          world.dropEvents({ kind: e.source === 'alarm' ? 'alarm' : 'codedeploy', untilMs: e.until });
        } else if (e.kind === 'holiday') {
          for (const p of pipelines.filter((x) => !e.pipeline || x.name === e.pipeline)) {
            const pk = e.region ? `${p.name}#${e.region}` : p.name;
            queue
              .run(async () => {
                // The scenario's own write, not a handler's: no fault applies to it.
                seeding = true;
                try {
                  return await dynamo.client.send(new PutCommand({ TableName: holidaysTable, Item: { pk, sk: e.date } }));
                } finally {
                  seeding = false;
                }
              })
              .catch((err: Error) => process.stderr.write(`handsoff simulate: holiday ${e.date} not stored: ${err.message}\n`));
          }
        }
      });
    }

    world.start();
    // The reconciler's heartbeat, while any change is in flight (nothing is open otherwise);
    // its other sweeps are one-time schedules the handlers create (core/sweeps.ts).
    const reconciler = setInterval(() => {
      if ([...outcomes.values()].some((o) => o === 'in-flight')) invokeAsync(localFunctionArn(HandlerName.RECONCILE), {});
    }, RECONCILE_HEARTBEAT_MS);
    const lastScheduled = Math.max(scenario.start, ...scenario.changes.map((c) => c.at), ...scenario.events.map((e) => e.at));
    const finished = (): boolean =>
      Date.now() >= lastScheduled && [...outcomes.values()].every((s) => s !== 'in-flight' && s !== 'pending');

    // The end of the run is a timer too, so the clock never jumps past it to a later one.
    at(scenario.until, () => undefined);
    try {
      await settle(queue);
      if (opts.live) await opts.live.drive(liveDriver(clock, queue, scenario.until, (action) => lambda.invoke(localFunctionArn(HandlerName.OPERATOR), action)));
      else {
        while (!finished() && Date.now() < scenario.until) {
          clock.next();
          await settle(queue);
        }
      }
    } finally {
      clearInterval(reconciler);
      world.stop();
      clock.uninstall();
      setClients(undefined);
    }
    await sfn.drained();
    await dynamo.stop();
    dynamoStopped = true;

    const changes: Record<string, ChangeSummary> = {};
    for (const c of scenario.changes) {
      const completed = emitted.find((e) => e.type === EventType.CHANGE_COMPLETED && e.change === c.id);
      const reached = new Set<string>();
      for (const e of emitted) {
        if (e.type === EventType.DEPLOYMENT_SUCCEEDED && e.change === c.id && typeof e.stage === 'string' && e.stage.startsWith('wave-') && e.region) {
          reached.add(e.region);
        }
      }
      changes[c.id] = {
        // Every change merges before `until` (the scenario is validated so), hence never pending.
        status: outcomes.get(c.id) === 'pending' ? 'in-flight' : (outcomes.get(c.id) as ChangeSummary['status']),
        leadTime: (completed?.leadTime as string | undefined) ?? null,
        failedRequests: world.failedRequests(c.pipeline, c.id),
        regionsReached: [...reached].sort(),
        boxesAtEnd: world.boxesRunning(c.pipeline, c.id),
      };
    }
    const endTime = new Date(Math.min(clock.now, scenario.until)).toISOString();
    const run: RunStats = {
      transitions: Object.values(sfn.transitions).reduce((a, b) => a + b, 0),
      invocations: queue.invocations,
      dynamodbRequests: dynamoCalls,
      executions: sfn.executions,
      largestHistory: sfn.largestHistory.events,
    };
    // Every event names its pipeline; the run's summary names all of them.
    const finishedEvent: HandsoffEvent = {
      time: endTime,
      type: EventType.SIMULATION_FINISHED,
      pipeline: pipelines.map((p) => p.name).join(','),
      pipelines: pipelines.map((p) => p.name),
      changes,
      stats: run,
    };
    emit(finishedEvent);
    return {
      changes,
      stats: { transitions: sfn.transitions, largestHistory: sfn.largestHistory, handlerInvocations: queue.invocations, dynamoCalls, virtualEnd: endTime, run, faults: { ...faults.hits } },
    };
  } catch (e) {
    clock.uninstall();
    setClients(undefined);
    if (!dynamoStopped) await dynamo.stop();
    throw e;
  }
};
