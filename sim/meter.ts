/**
 * What the bench counts (sim/bench/): per handler invocation, the AWS requests it made by
 * service, the DynamoDB request units they consumed, the metrics its GetMetricData calls
 * requested, the events it published and the stream events it caused; and the history size
 * of each execution. Off unless a bench turns it on (`meter.start()`); while off every hook
 * is a pass-through, and while on it changes nothing the handlers or the stream see (the
 * DynamoDB requests ask for ConsumedCapacity, which no handler reads).
 *
 * The hooks: sim/lambda.ts (each invocation), sim/engine.ts (the DynamoDB client and the
 * other clients the handlers get), sim/stepfunctions.ts (each execution's history).
 * Invocations run one at a time (sim/lambda.ts), so whatever happens while one runs is its.
 */
import type { HandsoffEvent } from '../core/events.ts';
import type { AwsClients } from '../lambdas/shared/clients.ts';

/** DynamoDB requests and the request units they consumed (on-demand: RRU, WRU). */
export interface DynamoUse {
  requests: number;
  readUnits: number;
  writeUnits: number;
}

/** One handler invocation (one Lambda request), or the work done outside any handler. */
export interface InvocationRecord {
  handler: string;
  /** The invocation's payload, as the handler got it (undefined outside a handler). */
  payload: unknown;
  /** The handler's result, when it returned one. */
  result?: unknown;
  /** False when the same event object was delivered before (a Lambda retry, a duplicated delivery). */
  firstDelivery: boolean;
  /** AWS requests the handler made, by service (dynamodb, cloudwatch, codedeploy, states, events, scheduler, ...). */
  requests: Record<string, number>;
  dynamo: DynamoUse;
  /** Metrics requested by GetMetricData (its MetricStat queries). */
  metricsRequested: number;
  /** Entries the handler put on the event bus (PutEvents). */
  eventsPublished: number;
  /** Stream events that happened while it ran (its own, and the world's answers to its calls). */
  events: HandsoffEvent[];
}

/** Largest history per change and the execution sizes behind it. */
export interface HistoryRecord {
  change: string;
  execution: string;
  events: number;
}

const READS = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan', 'TransactGetItems']);

const newRecord = (handler: string, payload: unknown, firstDelivery: boolean): InvocationRecord => ({
  handler,
  payload,
  firstDelivery,
  requests: {},
  dynamo: { requests: 0, readUnits: 0, writeUnits: 0 },
  metricsRequested: 0,
  eventsPublished: 0,
  events: [],
});

interface Capacity {
  CapacityUnits?: number;
}

const unitsOf = (consumed: Capacity | Capacity[] | undefined): number =>
  (Array.isArray(consumed) ? consumed : consumed ? [consumed] : []).reduce((n, c) => n + (c.CapacityUnits ?? 0), 0);

/** The meter: one per process, like the virtual clock and the handlers' clients. */
class Meter {
  private active = false;
  private current: InvocationRecord | undefined;
  private seen = new WeakSet<object>();
  invocations: InvocationRecord[] = [];
  /** Work done outside any handler (the scenario's own writes). */
  outside = newRecord('(outside handlers)', undefined, true);
  histories: HistoryRecord[] = [];

  /** Starts counting from zero. */
  start(): void {
    this.active = true;
    this.current = undefined;
    this.seen = new WeakSet();
    this.invocations = [];
    this.outside = newRecord('(outside handlers)', undefined, true);
    this.histories = [];
  }

  stop(): void {
    this.active = false;
    this.current = undefined;
  }

  /** Runs one handler invocation, counting what it does. */
  async invocation<T>(handler: string, payload: unknown, run: () => Promise<T>): Promise<T> {
    if (!this.active) return run();
    let first = true;
    if (payload && typeof payload === 'object') {
      first = !this.seen.has(payload);
      this.seen.add(payload);
    }
    const record = newRecord(handler, payload, first);
    this.invocations.push(record);
    this.current = record;
    try {
      const result = await run();
      record.result = result;
      return result;
    } finally {
      this.current = undefined;
    }
  }

  /** A stream event: it belongs to the invocation running, if any. */
  event(e: HandsoffEvent): void {
    if (this.active && this.current) this.current.events.push(e);
  }

  /** An execution's history, counted when it ended. */
  history(change: string, execution: string, events: number): void {
    if (this.active) this.histories.push({ change, execution, events });
  }

  private here(): InvocationRecord {
    return this.current ?? this.outside;
  }

  private request(service: string): InvocationRecord {
    const r = this.here();
    r.requests[service] = (r.requests[service] ?? 0) + 1;
    return r;
  }

  /** Counts every request of the simulator's DynamoDB client, with the request units it consumed. */
  attachDynamo(client: { middlewareStack: { add: (mw: any, options: any) => void } }): void {
    client.middlewareStack.add(
      (next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: { input: Record<string, unknown> }) => {
        if (!this.active) return next(args);
        const operation = String(context.commandName ?? '').replace(/Command$/, '');
        const record = this.request('dynamodb');
        record.dynamo.requests++;
        const read = READS.has(operation);
        args.input.ReturnConsumedCapacity ??= 'TOTAL';
        try {
          const out = await next(args);
          const units = unitsOf(out.output?.ConsumedCapacity);
          if (read) record.dynamo.readUnits += units;
          else record.dynamo.writeUnits += units;
          return out;
        } catch (e) {
          // A failed condition still consumes write capacity on DynamoDB (at least one unit).
          if (!read && (e as Error).name === 'ConditionalCheckFailedException') record.dynamo.writeUnits += 1;
          throw e;
        }
      },
      { step: 'initialize', name: 'handsoffMeter' },
    );
  }

  /** The handlers' clients, each request counted by service (DynamoDB is counted by attachDynamo). */
  clients(clients: AwsClients): AwsClients {
    const wrap = <A extends unknown[], C>(service: string, make: (...args: A) => C) => {
      const cache = new WeakMap<object, C>();
      return (...args: A): C => {
        const client = make(...args) as C & { send: (command: unknown) => Promise<unknown> };
        let wrapped = cache.get(client);
        if (!wrapped) {
          wrapped = new Proxy(client, {
            get: (target, prop, receiver) => {
              if (prop !== 'send') return Reflect.get(target, prop, receiver);
              return (command: { constructor: { name: string }; input?: Record<string, any> }) => {
                if (this.active) this.count(service, command);
                return target.send(command);
              };
            },
          });
          cache.set(client, wrapped);
        }
        return wrapped;
      };
    };
    return {
      ...clients,
      codeDeploy: wrap('codedeploy', clients.codeDeploy),
      cloudWatch: wrap('cloudwatch', clients.cloudWatch),
      sfn: wrap('states', clients.sfn),
      events: wrap('events', clients.events),
      scheduler: wrap('scheduler', clients.scheduler),
      codeCommit: wrap('codecommit', clients.codeCommit),
      s3: wrap('s3', clients.s3),
      codePipeline: wrap('codepipeline', clients.codePipeline),
      secretsManager: wrap('secretsmanager', clients.secretsManager),
    };
  }

  private count(service: string, command: { constructor: { name: string }; input?: Record<string, any> }): void {
    const record = this.request(service);
    const name = command.constructor.name;
    if (name === 'GetMetricDataCommand') {
      const queries = (command.input?.MetricDataQueries ?? []) as Array<{ MetricStat?: unknown }>;
      record.metricsRequested += queries.filter((q) => q.MetricStat).length;
    }
    if (name === 'PutEventsCommand') record.eventsPublished += ((command.input?.Entries ?? []) as unknown[]).length;
  }
}

export const meter = new Meter();
