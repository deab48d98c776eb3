/**
 * The simulator: runs the exact ASL the CDK stack deploys (substituted with local ARNs) in
 * aws-local-stepfunctions, routes every task to the real handler code, keeps state in a
 * local DynamoDB (dynalite), and gives the handlers a simulated CodeDeploy/CloudWatch world.
 * Time is virtual (@sinonjs/fake-timers): it only moves when no handler is running, to the
 * next timer, so days of rollout take a second and waits wake in order.
 */
import FakeTimers from '@sinonjs/fake-timers';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import type { Context } from 'aws-lambda';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { SchedulerClient } from '@aws-sdk/client-scheduler';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { CodeCommitClient } from '@aws-sdk/client-codecommit';
import type { ResolvedPipeline } from '../core/model.ts';
import { EventType, type HandsoffEvent } from '../core/events.ts';
import { ENV } from '../lambdas/shared/config.ts';
import { setClients } from '../lambdas/shared/clients.ts';
import { buildStateMachines } from '../statemachines/index.ts';
import { functionArnKey, HandlerName, REGION_EXECUTIONS_ARN_PREFIX_KEY, REGION_STATE_MACHINE_ARN_KEY } from '../statemachines/resources.ts';
import { REGION_CATALOG } from '../infra/catalog/regions.ts';
import { World, type Behavior } from './world/index.ts';
import { InvocationQueue, localEventBridge, localScheduler, TaskError, TaskTokens } from './aws-local.ts';
import { startLocalDynamo } from './local-dynamo.ts';
import { LocalExecutions } from './local-executions.ts';
import { pushToMain, simulatedCodeCommit } from './world/codecommit-api.ts';

if (!(Promise as unknown as { withResolvers?: unknown }).withResolvers) {
  // aws-local-stepfunctions 3 uses Promise.withResolvers (Node 22); Node 20 lacks it.
  (Promise as unknown as { withResolvers: () => unknown }).withResolvers = function withResolvers<T>() {
    let resolve!: (v: T) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<T>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    return { promise, resolve, reject };
  };
}

const ACCOUNT = '000000000000';
const HOME = 'us-east-1';
const TOKEN_PLACEHOLDER = '__HANDSOFF_LOCAL_TASK_TOKEN__';
/** Delivery latency of an AWS event (CodeDeploy, CloudWatch) to handsoff's handlers. */
export const EVENT_DELIVERY_MS = 1_000;
/** The reconciler's schedule, as on AWS: a lost event delays a decision by at most this. */
export const RECONCILE_PERIOD_MS = 5 * 60_000;

export const localFunctionArn = (handler: HandlerName): string => `arn:aws:lambda:${HOME}:${ACCOUNT}:function:handsoff-${handler}`;
const stateMachineArn = (pipeline: string, kind: 'pipeline' | 'region'): string =>
  `arn:aws:states:${HOME}:${ACCOUNT}:stateMachine:handsoff-${pipeline}-${kind}`;

/** Node (and the fake clock) fire a timer longer than this at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** Runs `fn` at virtual time `whenMs`, however far away: long waits re-arm in steps. */
export const at = (whenMs: number, fn: () => void): void => {
  const delay = whenMs - Date.now();
  if (delay > MAX_TIMER_MS) setTimeout(() => at(whenMs, fn), MAX_TIMER_MS);
  else setTimeout(fn, Math.max(0, delay));
};

export interface SimChange {
  id: string;
  pipeline: string;
  at: number;
  author: string;
  approvedBy: string[];
  behavior: Behavior;
}

export type SimEvent =
  | { at: number; kind: 'company-event'; state: 'OK' | 'ALARM'; region?: string }
  | { at: number; kind: 'team-alarm'; region: string; state: 'OK' | 'ALARM'; team?: string }
  | { at: number; kind: 'holiday'; date: string; region?: string; pipeline?: string }
  | { at: number; kind: 'lose-events'; source: 'alarm' | 'deployment'; until: number }
  /** Pushes to main (`source`) in [at, until) are delivered twice, as EventBridge may. */
  | { at: number; kind: 'duplicate-events'; source: 'source'; until: number }
  | { at: number; kind: 'unsupported'; what: string };

export interface SimScenario {
  start: number;
  until: number;
  changes: SimChange[];
  events: SimEvent[];
}

export interface ChangeSummary {
  status: 'succeeded' | 'failed' | 'rejected' | 'in-progress';
  leadTime: string | null;
  failedRequests: number;
  regionsReached: string[];
}

export interface SimulationStats {
  /** State transitions (states entered) per change, over its pipeline and region executions. */
  transitions: Record<string, number>;
  /** The largest execution history (estimated AWS history events) of the run. */
  largestHistory: { execution: string; events: number };
  handlerInvocations: number;
  /** DynamoDB requests the handlers made (to the local dynalite). */
  dynamoCalls: number;
  virtualEnd: string;
}

export interface SimulationResult {
  changes: Record<string, ChangeSummary>;
  stats: SimulationStats;
}

export interface SimulationOptions {
  pipelines: ResolvedPipeline[];
  scenario: SimScenario;
  onEvent: (event: HandsoffEvent) => void;
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

const loadHandlers = async (): Promise<Record<string, Handler>> => {
  const entries = await Promise.all(
    Object.values(HandlerName).map(async (name) => {
      const mod = (await import(`../lambdas/${name}/index.ts`)) as { handler: Handler };
      return [localFunctionArn(name), mod.handler] as const;
    }),
  );
  return Object.fromEntries(entries);
};

/** Substitutes DefinitionSubstitutions placeholders, as CloudFormation does on deploy. */
export const substitute = (definition: Record<string, unknown>, values: Record<string, string>): StateMachineDefinition =>
  JSON.parse(
    JSON.stringify(definition).replace(/\$\{([A-Za-z0-9]+)\}/g, (whole, key: string) => {
      const v = values[key];
      if (v === undefined) throw new Error(`no substitution for placeholder ${whole}`);
      return v;
    }),
  ) as StateMachineDefinition;

/** Task state name -> Resource, over the whole definition (Map and Parallel included). */
const taskResources = (def: { States: Record<string, any> }, out: Record<string, string> = {}): Record<string, string> => {
  for (const [name, state] of Object.entries(def.States)) {
    if (state.Type === 'Task') out[name] = state.Resource;
    if (state.Type === 'Map') taskResources(state.ItemProcessor ?? state.Iterator, out);
    if (state.Type === 'Parallel') for (const b of state.Branches) taskResources(b, out);
  }
  return out;
};

const replaceToken = (value: unknown, token: string): unknown => {
  if (value === TOKEN_PLACEHOLDER) return token;
  if (Array.isArray(value)) return value.map((v) => replaceToken(v, token));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceToken(v, token)]));
  }
  return value;
};

/**
 * Map states with the task states inside them and the states their Catch leads to.
 * aws-local-stepfunctions keeps starting a Map's queued iterations after one failed (its
 * concurrency limiter is not cancelled); Step Functions does not. The engine stops such
 * iterations itself: once a Map's Catch target runs, its inner tasks no longer run.
 */
const mapScopes = (def: { States: Record<string, any> }, out: Array<{ inner: Set<string>; catchTargets: Set<string> }> = []) => {
  for (const state of Object.values(def.States)) {
    if (state.Type !== 'Map') continue;
    const processor = state.ItemProcessor ?? state.Iterator;
    out.push({
      inner: new Set(Object.keys(taskResources(processor))),
      catchTargets: new Set((state.Catch ?? []).map((c: { Next: string }) => c.Next)),
    });
    mapScopes(processor, out);
  }
  return out;
};

/** Rough AWS history size of an execution from the local event log. */
const historyWeight = (type: string, stateType?: string): number => {
  if (type === 'StateEntered') return stateType === 'Task' ? 4 : stateType === 'Map' ? 2 : 1;
  if (type === 'StateExited' || type.startsWith('MapIteration') || type.startsWith('Execution')) return 1;
  return 1;
};

export const simulate = async (opts: SimulationOptions): Promise<SimulationResult> => {
  const { pipelines, scenario, onEvent } = opts;
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  process.env.POWERTOOLS_SERVICE_NAME ??= 'handsoff';
  process.env[ENV.EVENT_BUS_NAME] = 'handsoff';
  process.env[ENV.BAKE_END_FUNCTION_ARN] = localFunctionArn(HandlerName.BAKE_END);
  process.env[ENV.SCHEDULER_ROLE_ARN] = `arn:aws:iam::${ACCOUNT}:role/handsoff-scheduler`;
  process.env[ENV.SCHEDULE_GROUP] = 'handsoff';
  process.env[ENV.ARTIFACT_BUCKET] = 'handsoff-artifacts-local';

  const dynamo = await startLocalDynamo();
  const handlers = await loadHandlers();
  const byName = new Map(pipelines.map((p) => [p.name, p]));
  const emitted: HandsoffEvent[] = [];
  const emit = (e: HandsoffEvent): void => {
    emitted.push(e);
    onEvent(e);
  };

  // Windows and holidays live in DynamoDB on AWS too: seed them from the pipelines.
  const holidayPuts: Promise<unknown>[] = [];
  const windowsTable = process.env[ENV.WINDOWS_TABLE]!;
  const holidaysTable = process.env[ENV.HOLIDAYS_TABLE]!;
  for (const p of pipelines) {
    const regions = [...new Map(p.waves.flatMap((w) => w.regions).map((r) => [r.region, r])).values()];
    for (const r of regions) {
      holidayPuts.push(
        dynamo.client.send(
          new PutCommand({
            TableName: windowsTable,
            Item: { pk: p.name, sk: r.region, timeZone: r.windowTimeZone, days: [...p.window.days], start: p.window.start, end: p.window.end },
          }),
        ),
      );
    }
    for (const date of p.holidays) {
      holidayPuts.push(dynamo.client.send(new PutCommand({ TableName: holidaysTable, Item: { pk: p.name, sk: date } })));
    }
    for (const [region, dates] of Object.entries(p.holidaysByRegion)) {
      for (const date of dates) {
        holidayPuts.push(dynamo.client.send(new PutCommand({ TableName: holidaysTable, Item: { pk: `${p.name}#${region}`, sk: date } })));
      }
    }
  }
  await Promise.all(holidayPuts);

  const clock = FakeTimers.install({
    now: scenario.start,
    toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
    // SDK requests started before the install clear their (native) timers after it.
    shouldClearNativeTimers: true,
  });
  const realImmediate = (): Promise<void> => new Promise((r) => setImmediate(r));
  let clockInstalled = true;
  let dynamoStopped = false;
  // Whatever fails while the clock is fake must not leave it (or the clients) installed.
  try {

    const queue = new InvocationQueue();
    const tokens = new TaskTokens();
    let requestId = 0;
    const invokeHandler = (functionArn: string, payload: unknown): Promise<unknown> => {
      const handler = handlers[functionArn];
      if (!handler) return Promise.reject(new TaskError('Lambda.ResourceNotFoundException', `Function not found: ${functionArn}`));
      return queue.run(async () => {
        const name = functionArn.split(':').pop()!;
        const context = {
          functionName: name,
          functionVersion: '$LATEST',
          invokedFunctionArn: functionArn,
          memoryLimitInMB: '512',
          awsRequestId: `local-${++requestId}`,
          logGroupName: `/aws/lambda/${name}`,
          logStreamName: 'local',
          callbackWaitsForEmptyEventLoop: false,
          done: () => undefined,
          fail: () => undefined,
          succeed: () => undefined,
        } as unknown as Context; // no getRemainingTimeInMillis: middy would arm a real (not virtual) timer
        // Deep copy: a handler never shares objects with the interpreter, as over the wire.
        return JSON.parse(JSON.stringify((await handler(JSON.parse(JSON.stringify(payload)), context)) ?? null));
      });
    };
    /** Fire-and-forget invocation (EventBridge rules, Scheduler): errors are logged, like async Lambda. */
    const invokeAsync = (functionArn: string, payload: unknown): void => {
      invokeHandler(functionArn, payload).catch((e: Error) => {
        process.stderr.write(`handsoff simulate: ${functionArn.split(':').pop()} failed: ${e.name}: ${e.message}\n`);
      });
    };
    /**
     * AWS events reach the home region's rule targets about a second after the change (the
     * target region's rule forwards them to the home bus): the simulator delivers them then,
     * so reaction times it reports are not flattered.
     */
    const deliver = (functionArn: string, payload: unknown): void => {
      setTimeout(() => invokeAsync(functionArn, payload), EVENT_DELIVERY_MS);
    };

    const world = new World({
      pipelines,
      regions: [...REGION_CATALOG],
      emit: (w) => {
        if (w.kind === 'stream') emit(w.event);
        else if (w.kind === 'codedeploy') {
          deliver(localFunctionArn(HandlerName.ON_DEPLOYMENT_EVENT), {
            source: 'aws.codedeploy',
            'detail-type': 'CodeDeploy Deployment State-change Notification',
            region: w.detail.region,
            time: new Date(Date.now()).toISOString(),
            detail: w.detail,
          });
        } else if (w.kind === 'alarm') {
          deliver(localFunctionArn(HandlerName.ON_ALARM_EVENT), {
            source: 'aws.cloudwatch',
            'detail-type': 'CloudWatch Alarm State Change',
            region: w.region,
            time: new Date(Date.now()).toISOString(),
            detail: w.detail,
          });
        }
      },
    });

    const scheduler = localScheduler(invokeAsync);
    // Each change is a commit pushed to main of the pipeline's repository (named like it).
    const codeCommit = simulatedCodeCommit(
      scenario.changes.map((c) => ({ id: c.id, repository: c.pipeline, author: c.author, approvedBy: c.approvedBy, at: c.at })),
    );
    // Executions by name, as Step Functions keeps them: a repeated start is adopted, not re-run.
    const machineOf = new Map<string, { pipeline: string; kind: 'pipeline' | 'region' }>();
    for (const p of pipelines) {
      machineOf.set(stateMachineArn(p.name, 'pipeline'), { pipeline: p.name, kind: 'pipeline' });
      machineOf.set(stateMachineArn(p.name, 'region'), { pipeline: p.name, kind: 'region' });
    }
    const executions = new LocalExecutions((machineArn, name, input) => {
      const machine = machineOf.get(machineArn);
      if (!machine) return Promise.reject(new Error(`the local Step Functions has no state machine ${machineArn}`));
      const { pipeline, kind } = machine;
      const change = (input as { change: string }).change;
      const run = runExecution(pipeline, kind, name, change, input);
      if (kind === 'pipeline') trackChange(pipeline, change, run);
      return run;
    });
    /** Step Functions for the handlers: StartExecution and DescribeExecution, and task tokens. */
    const localSfn = executions.client(tokens.client());
    let dynamoCalls = 0;
    dynamo.client.middlewareStack.add((next) => (args) => {
      dynamoCalls++;
      return next(args);
    }, { step: 'initialize', name: 'handsoffCountCalls' });
    setClients({
      codeDeploy: (region) => world.codeDeploy(region) as unknown as CodeDeployClient,
      cloudWatch: (region) => world.cloudWatch(region) as unknown as CloudWatchClient,
      dynamo: () => dynamo.client,
      sfn: () => localSfn as unknown as SFNClient,
      codeCommit: () => codeCommit as unknown as CodeCommitClient,
      events: () => localEventBridge(emit) as unknown as EventBridgeClient,
      scheduler: () => scheduler as unknown as SchedulerClient,
    });

    // The definitions, substituted exactly as CloudFormation substitutes the deployed ones.
    // One interpreter per definition, validated once; each execution is a run of it.
    const machines = new Map<
      string,
      Record<'pipeline' | 'region', { machine: StateMachine; overrides: Record<string, string>; scopes: ReturnType<typeof mapScopes> }>
    >();
    for (const p of pipelines) {
      const defs = buildStateMachines(p);
      const values: Record<string, string> = {
        [REGION_STATE_MACHINE_ARN_KEY]: stateMachineArn(p.name, 'region'),
        [REGION_EXECUTIONS_ARN_PREFIX_KEY]: stateMachineArn(p.name, 'region').replace(':stateMachine:', ':execution:'),
      };
      for (const h of Object.values(HandlerName)) values[functionArnKey(h)] = localFunctionArn(h);
      const prepare = (def: StateMachineDefinition) => ({
        machine: new StateMachine(def, { validationOptions: { checkArn: false } }),
        overrides: taskResources(def as unknown as { States: Record<string, any> }),
        scopes: mapScopes(def as unknown as { States: Record<string, any> }),
      });
      machines.set(p.name, { pipeline: prepare(substitute(defs.pipeline, values)), region: prepare(substitute(defs.region, values)) });
    }

    const transitions: Record<string, number> = {};
    let largestHistory = { execution: '', events: 0 };
    const pendingRuns = new Set<Promise<unknown>>();

    const runExecution = (pipeline: string, kind: 'pipeline' | 'region', name: string, change: string, input: unknown): Promise<unknown> => {
      const { machine, overrides: resources, scopes } = machines.get(pipeline)![kind];
      const executionArn = `arn:aws:states:${HOME}:${ACCOUNT}:execution:handsoff-${pipeline}-${kind}:${name}`;
      const overrides: Record<string, (input: any) => Promise<any>> = {};
      const stopped = new Set<ReturnType<typeof mapScopes>[number]>();
      for (const [stateName, resource] of Object.entries(resources)) {
        overrides[stateName] = (taskInput) => {
          for (const scope of scopes) {
            if (scope.catchTargets.has(stateName)) stopped.add(scope);
            // An iteration of a Map that already failed: Step Functions would not run it.
            if (stopped.has(scope) && scope.inner.has(stateName)) return new Promise(() => undefined);
          }
          return routeTask(pipeline, change, resource, taskInput);
        };
      }
      const execution = machine.run(input as any, {
        overrides: { taskResourceLocalHandlers: overrides },
        context: {
          Execution: { Id: executionArn, Name: name, StartTime: new Date(Date.now()).toISOString(), Input: input as any },
          StateMachine: { Id: stateMachineArn(pipeline, kind) },
          Task: { Token: TOKEN_PLACEHOLDER },
        },
      });
      const counting = (async () => {
        let history = 0;
        for await (const log of execution.eventLogs) {
          const stateType = 'state' in log ? log.state.type : undefined;
          if (log.type === 'StateEntered') transitions[change] = (transitions[change] ?? 0) + 1;
          history += historyWeight(log.type, stateType);
        }
        if (history > largestHistory.events) largestHistory = { execution: executionArn, events: history };
      })();
      pendingRuns.add(counting);
      void counting.catch(() => undefined).finally(() => pendingRuns.delete(counting));
      return execution.result;
    };

    const routeTask = async (pipeline: string, change: string, resource: string, taskInput: any): Promise<unknown> => {
      if (resource === 'arn:aws:states:::lambda:invoke') {
        const payload = await invokeHandler(taskInput.FunctionName, taskInput.Payload);
        return { Payload: payload, StatusCode: 200, ExecutedVersion: '$LATEST' };
      }
      if (resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken') {
        const { token, promise } = tokens.open();
        await invokeHandler(taskInput.FunctionName, replaceToken(taskInput.Payload, token));
        return promise;
      }
      // Child executions by name (a repeated start is that execution), and their outcomes.
      if (resource === 'arn:aws:states:::states:startExecution.sync:2') return executions.startSync(taskInput);
      if (resource === 'arn:aws:states:::aws-sdk:sfn:describeExecution') return executions.describeTask(taskInput);
      throw new TaskError('States.Runtime', `the simulator cannot run resource ${resource}`);
    };

    // Changes and scenario events happen at their virtual times.
    const outcomes = new Map<string, ChangeSummary['status'] | 'pending'>();
    // 'pending' until merged: the reconciler runs only while a merged change is in flight.
    for (const c of scenario.changes) outcomes.set(c.id, 'pending');
    /** A change's pipeline execution decides its outcome (rejected: the review gate said no). */
    const trackChange = (pipeline: string, change: string, run: Promise<unknown>): void => {
      if (!outcomes.has(change)) return;
      run.then(
        () => outcomes.set(change, 'succeeded'),
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
    const duplicated = (source: 'source', when: number): boolean =>
      scenario.events.some((e) => e.kind === 'duplicate-events' && e.source === source && e.at <= when && when < e.until);
    // A change is a push to main: the push rule's target (start-change) gets the event, as on
    // AWS, and starts the change's pipeline execution; the review gate is its first step.
    for (const c of scenario.changes) {
      at(c.at, () => {
        const pipeline = byName.get(c.pipeline)!;
        outcomes.set(c.id, 'in-progress');
        world.setBehavior(pipeline.name, c.id, c.behavior);
        const push = pushToMain({ id: c.id, repository: pipeline.name, author: c.author }, pipeline.name, stateMachineArn(pipeline.name, 'pipeline'), HOME);
        invokeAsync(localFunctionArn(HandlerName.START_CHANGE), push);
        if (duplicated('source', c.at)) {
          // The world's ground truth: the push was delivered twice.
          emit({ time: push.event.time, type: 'world.fault', fault: 'duplicate-events', source: 'source', pipeline: pipeline.name, change: c.id });
          invokeAsync(localFunctionArn(HandlerName.START_CHANGE), push);
        }
      });
    }
    for (const e of scenario.events) {
      at(e.at, () => {
        if (e.kind === 'company-event') world.setCompanyEvent(e.state, e.region);
        else if (e.kind === 'team-alarm') {
          for (const team of new Set(pipelines.map((p) => p.team))) {
            // ALARM forces the team's aggregate alarm; OK hands it back to its rule.
            if (!e.team || e.team === team) world.forceTeamAlarm(team, e.region, e.state === 'ALARM' ? 'ALARM' : undefined);
          }
        } else if (e.kind === 'lose-events') {
          world.dropEvents({ kind: e.source === 'alarm' ? 'alarm' : 'codedeploy', untilMs: e.until });
        } else if (e.kind === 'holiday') {
          for (const p of pipelines.filter((x) => !e.pipeline || x.name === e.pipeline)) {
            const pk = e.region ? `${p.name}#${e.region}` : p.name;
            queue
              .run(() => dynamo.client.send(new PutCommand({ TableName: holidaysTable, Item: { pk, sk: e.date } })))
              .catch((err: Error) => process.stderr.write(`handsoff simulate: holiday ${e.date} not stored: ${err.message}\n`));
          }
        }
      });
    }

    world.start();
    // The reconciler runs on its schedule while any change is in flight.
    const reconciler = setInterval(() => {
      if ([...outcomes.values()].some((o) => o === 'in-progress')) invokeAsync(localFunctionArn(HandlerName.RECONCILE), {});
    }, RECONCILE_PERIOD_MS);
    const lastScheduled = Math.max(scenario.start, ...scenario.changes.map((c) => c.at), ...scenario.events.map((e) => e.at));
    const settle = async (): Promise<void> => {
      for (let quiet = 0; quiet < 3; ) {
        await realImmediate();
        if (queue.pending === 0) quiet++;
        else {
          quiet = 0;
          await queue.idle();
        }
      }
    };
    const finished = (): boolean =>
      Date.now() >= lastScheduled && [...outcomes.values()].every((s) => s !== 'in-progress' && s !== 'pending');

    // The end of the run is a timer too, so the clock never jumps past it to a later one.
    at(scenario.until, () => undefined);
    try {
      await settle();
      while (!finished() && Date.now() < scenario.until) {
        clock.next();
        await settle();
      }
    } finally {
      clearInterval(reconciler);
      world.stop();
      clock.uninstall();
      clockInstalled = false;
      setClients(undefined);
    }
    await Promise.race([Promise.all([...pendingRuns]), new Promise((r) => setTimeout(r, 50))]);
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
        status: outcomes.get(c.id) === 'pending' ? 'in-progress' : (outcomes.get(c.id) as ChangeSummary['status']),
        leadTime: (completed?.leadTime as string | undefined) ?? null,
        failedRequests: world.failedRequests(c.pipeline, c.id),
        regionsReached: [...reached].sort(),
      };
    }
    const endTime = new Date(Math.min(clock.now, scenario.until)).toISOString();
    // Every event names its pipeline; the run's summary names all of them.
    const finishedEvent: HandsoffEvent = {
      time: endTime,
      type: EventType.SIMULATION_FINISHED,
      pipeline: pipelines.map((p) => p.name).join(','),
      pipelines: pipelines.map((p) => p.name),
      changes,
    };
    emit(finishedEvent);
    return {
      changes,
      stats: { transitions, largestHistory, handlerInvocations: queue.invocations, dynamoCalls, virtualEnd: endTime },
    };
  } catch (e) {
    if (clockInstalled) clock.uninstall();
    setClients(undefined);
    if (!dynamoStopped) await dynamo.stop();
    throw e;
  }
};
