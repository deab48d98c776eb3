/**
 * The Step Functions stand-in: runs the exact ASL the CDK stack deploys (substituted with
 * local ARNs, as CloudFormation substitutes it) in aws-local-stepfunctions, routes every
 * task to the Lambda stand-in, emulates `.waitForTaskToken` (task tokens the handlers
 * complete through their SFN client), keeps executions by name (local-executions.ts: the
 * handlers' StartExecution and DescribeExecution, `startExecution.sync:2` child executions
 * named `<change>-<region>` and the `describeExecution` integration that adopts one that
 * already ran), and counts transitions and history sizes.
 */
import { StateMachine, type StateMachineDefinition } from './asl-runtime.ts';
import { DescribeExecutionCommand, ExecutionDoesNotExist, SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, TaskDoesNotExist } from '@aws-sdk/client-sfn';
import type { ResolvedPipeline } from '../core/model.ts';
import { buildStateMachines } from '../statemachines/index.ts';
import { ARTIFACT_BUCKET_NAME_KEY, functionArnKey, HandlerName, REGION_EXECUTIONS_ARN_PREFIX_KEY, REGION_STATE_MACHINE_ARN_KEY } from '../statemachines/resources.ts';
import { ACCOUNT, HOME, LOCAL_ARTIFACT_BUCKET, localFunctionArn, TaskError, type LocalLambda } from './lambda.ts';
import { executionArnOf, LocalExecutions } from './local-executions.ts';
import { checkDefinition } from './asl-check.ts';
import { meter } from './meter.ts';
import type { SimulatedCodeBuild, StartBuildRequest } from './world/codebuild.ts';
import type { SimulatedTestFunctions } from './world/tests.ts';

const TOKEN_PLACEHOLDER = '__HANDSOFF_LOCAL_TASK_TOKEN__';

export const stateMachineArn = (pipeline: string, kind: 'pipeline' | 'region'): string =>
  `arn:aws:states:${HOME}:${ACCOUNT}:stateMachine:handsoff-${pipeline}-${kind}`;

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

interface PendingToken {
  resolve: (output: unknown) => void;
  reject: (error: Error) => void;
}

/** Step Functions task tokens: the SFN client handlers use to complete waiting tasks (and DescribeExecution). */
export class TaskTokens {
  private readonly pending = new Map<string, PendingToken>();
  /** Status of every execution the engine started (RUNNING, then SUCCEEDED or FAILED). */
  readonly executions = new Map<string, string>();
  private next = 1;

  /** Opens a token; the promise settles when a handler sends success or failure. */
  open(): { token: string; promise: Promise<unknown> } {
    const token = `local-token-${String(this.next++).padStart(6, '0')}`;
    const promise = new Promise<unknown>((resolve, reject) => this.pending.set(token, { resolve, reject }));
    // A handler may fail its own task before the interpreter awaits it (an alarm already in
    // ALARM when a bake starts): that rejection is handled later, not lost.
    promise.catch(() => undefined);
    return { token, promise };
  }

  get open_count(): number {
    return this.pending.size;
  }

  private take(token: string): PendingToken {
    const p = this.pending.get(token);
    if (!p) throw new TaskDoesNotExist({ message: `Task token ${token} does not exist or was already completed`, $metadata: {} });
    this.pending.delete(token);
    return p;
  }

  /** A drop-in for SFNClient: only the task-token calls handlers make. */
  client() {
    return {
      send: async (command: unknown): Promise<unknown> => {
        if (command instanceof SendTaskSuccessCommand) {
          const { taskToken, output } = command.input;
          this.take(taskToken!).resolve(output ? JSON.parse(output) : {});
          return {};
        }
        if (command instanceof SendTaskFailureCommand) {
          const { taskToken, error, cause } = command.input;
          this.take(taskToken!).reject(new TaskError(error ?? 'States.TaskFailed', cause ?? ''));
          return {};
        }
        if (command instanceof SendTaskHeartbeatCommand) {
          if (!this.pending.has(command.input.taskToken!)) this.take(command.input.taskToken!);
          return {};
        }
        if (command instanceof DescribeExecutionCommand) {
          const status = this.executions.get(command.input.executionArn!);
          if (!status) throw new ExecutionDoesNotExist({ message: `Execution does not exist: '${command.input.executionArn}'`, $metadata: {} });
          return { executionArn: command.input.executionArn, status };
        }
        throw new Error(`the local Step Functions does not implement ${(command as object).constructor.name}`);
      },
    };
  }
}

/** A pipeline's two definitions with the local ARNs substituted. */
const substituted = (p: ResolvedPipeline): Record<'pipeline' | 'region', StateMachineDefinition> => {
  const defs = buildStateMachines(p);
  const values: Record<string, string> = {
    [REGION_STATE_MACHINE_ARN_KEY]: stateMachineArn(p.name, 'region'),
    [REGION_EXECUTIONS_ARN_PREFIX_KEY]: stateMachineArn(p.name, 'region').replace(':stateMachine:', ':execution:'),
    // The control plane's artifact bucket, as the engine names it to the handlers.
    [ARTIFACT_BUCKET_NAME_KEY]: LOCAL_ARTIFACT_BUCKET,
  };
  for (const h of Object.values(HandlerName)) values[functionArnKey(h)] = localFunctionArn(h);
  return { pipeline: substitute(defs.pipeline, values), region: substitute(defs.region, values) };
};

/** The name a pipeline's definitions are validated under: the builders carry names as data only. */
const SHAPE_NAME = 'handsoff-shape';

type Scopes = ReturnType<typeof mapScopes>;
interface Prepared {
  machine: StateMachine;
  overrides: Record<string, string>;
  scopes: Scopes;
}

/** A pipeline execution that has started: the engine follows the change's outcome through it. */
export type PipelineExecutionListener = (pipeline: string, change: string, result: Promise<unknown>) => void;

/** The pipeline and region machines of every pipeline, with their executions. */
export class LocalStepFunctions {
  readonly tokens = new TaskTokens();
  /** Executions by name: a repeated start of one is that execution, never a second run. */
  readonly named: LocalExecutions;
  /** Called for every pipeline execution that starts (not for an adopted start). */
  onPipelineExecution: PipelineExecutionListener | undefined;
  /** State transitions (states entered) per change, over its pipeline and region executions. */
  readonly transitions: Record<string, number> = {};
  largestHistory = { execution: '', events: 0 };
  /** Executions started (pipeline and region). */
  executions = 0;
  private readonly machines = new Map<string, Record<'pipeline' | 'region', Prepared>>();
  private readonly machineOf = new Map<string, { pipeline: string; kind: 'pipeline' | 'region' }>();
  private readonly pendingRuns = new Set<Promise<unknown>>();

  constructor(
    pipelines: readonly ResolvedPipeline[],
    private readonly lambda: LocalLambda,
    /** The simulated CodeBuild behind `codebuild:startBuild.sync` (build and test projects). */
    private readonly codebuild?: SimulatedCodeBuild,
    /** Teams' test functions the machines invoke directly (the `lambda` test runner). */
    private readonly testFunctions?: SimulatedTestFunctions,
  ) {
    // The definitions, substituted exactly as CloudFormation substitutes the deployed ones.
    // One interpreter per definition, validated once per shape (asl-check.ts); each execution is a run of it.
    for (const p of pipelines) {
      const defs = substituted(p);
      const shape = substituted({ ...p, name: SHAPE_NAME, service: SHAPE_NAME, team: SHAPE_NAME });
      const prepare = (kind: 'pipeline' | 'region'): Prepared => {
        const def = defs[kind];
        checkDefinition(def, shape[kind], `handsoff-${p.name}-${kind}`);
        return {
          machine: new StateMachine(def, { validationOptions: { noValidate: true } }),
          overrides: taskResources(def as unknown as { States: Record<string, any> }),
          scopes: mapScopes(def as unknown as { States: Record<string, any> }),
        };
      };
      this.machines.set(p.name, { pipeline: prepare('pipeline'), region: prepare('region') });
      for (const kind of ['pipeline', 'region'] as const) this.machineOf.set(stateMachineArn(p.name, kind), { pipeline: p.name, kind });
    }
    this.named = new LocalExecutions((machineArn, name, input) => {
      const machine = this.machineOf.get(machineArn);
      if (!machine) return Promise.reject(new Error(`the local Step Functions has no state machine ${machineArn}`));
      const change = (input as { change?: unknown }).change;
      const result = this.run(machine.pipeline, machine.kind, name, typeof change === 'string' ? change : name, input);
      if (machine.kind === 'pipeline') this.onPipelineExecution?.(machine.pipeline, String(change ?? name), result);
      return result;
    });
  }

  /**
   * A drop-in for SFNClient, as the handlers use it: StartExecution and DescribeExecution
   * (executions by name), and the task-token calls.
   */
  client() {
    return this.named.client(this.tokens.client());
  }

  /**
   * Runs an execution of a pipeline's machine; resolves with its output, rejects with its
   * error. Not by name: every start goes through `named` (StartExecution, child starts).
   */
  run(pipeline: string, kind: 'pipeline' | 'region', name: string, change: string, input: unknown): Promise<unknown> {
    const { machine, overrides: resources, scopes } = this.machines.get(pipeline)![kind];
    const executionArn = executionArnOf(stateMachineArn(pipeline, kind), name);
    const overrides: Record<string, (input: any) => Promise<any>> = {};
    const stopped = new Set<Scopes[number]>();
    for (const [stateName, resource] of Object.entries(resources)) {
      overrides[stateName] = (taskInput) => {
        for (const scope of scopes) {
          if (scope.catchTargets.has(stateName)) stopped.add(scope);
          // An iteration of a Map that already failed: Step Functions would not run it.
          if (stopped.has(scope) && scope.inner.has(stateName)) return new Promise(() => undefined);
        }
        return this.routeTask(resource, taskInput);
      };
    }
    this.executions++;
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
        if (log.type === 'StateEntered') this.transitions[change] = (this.transitions[change] ?? 0) + 1;
        history += historyWeight(log.type, stateType);
      }
      if (history > this.largestHistory.events) this.largestHistory = { execution: executionArn, events: history };
      meter.history(change, executionArn, history);
    })();
    this.pendingRuns.add(counting);
    void counting.catch(() => undefined).finally(() => this.pendingRuns.delete(counting));
    // What DescribeExecution answers (the reconciler frees lanes of executions that ended).
    this.tokens.executions.set(executionArn, 'RUNNING');
    execution.result.then(
      () => this.tokens.executions.set(executionArn, 'SUCCEEDED'),
      () => this.tokens.executions.set(executionArn, 'FAILED'),
    );
    return execution.result;
  }

  /** Resolves once every execution's history is counted (or after a short real-time grace). */
  drained(): Promise<unknown> {
    return Promise.race([Promise.all([...this.pendingRuns]), new Promise((r) => setTimeout(r, 50))]);
  }

  private async routeTask(resource: string, taskInput: any): Promise<unknown> {
    if (resource === 'arn:aws:states:::lambda:invoke' && this.testFunctions?.has(taskInput.FunctionName)) {
      return this.testFunctions.invoke(taskInput.FunctionName, taskInput.Payload);
    }
    if (resource === 'arn:aws:states:::lambda:invoke') {
      const payload = await this.lambda.invoke(taskInput.FunctionName, taskInput.Payload);
      return { Payload: payload, StatusCode: 200, ExecutedVersion: '$LATEST' };
    }
    if (resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken') {
      const { token, promise } = this.tokens.open();
      await this.lambda.invoke(taskInput.FunctionName, replaceToken(taskInput.Payload, token));
      return promise;
    }
    // Child executions by name (a repeated start is that execution), and their outcomes.
    if (resource === 'arn:aws:states:::states:startExecution.sync:2') return this.named.startSync(taskInput);
    if (resource === 'arn:aws:states:::aws-sdk:sfn:describeExecution') return this.named.describeTask(taskInput);
    if (resource === 'arn:aws:states:::codebuild:startBuild.sync' && this.codebuild) return this.codebuild.startBuildSync(taskInput as StartBuildRequest);
    throw new TaskError('States.Runtime', `the simulator cannot run resource ${resource}`);
  }
}
