/**
 * Faults the simulator injects (docs/simulation.md, "Faults"): throttled AWS calls, crashed
 * invocations, duplicated and lost events, deleted alarms. Every hit is a `world.fault`
 * record in the stream; every random choice comes from the scenario's seed, drawn in the
 * (deterministic) order the simulator makes its calls, so a run replays exactly.
 *
 * Throttling models what the handlers' SDK v3 clients do on AWS: standard retry mode,
 * `maxAttempts` 3, throttling errors retried. Each attempt is throttled with the fault's
 * rate; only a call whose every attempt is throttled fails, with the service's own
 * throttling error. (The SDK's backoff takes no virtual time: the clock stands still while
 * a handler runs.)
 *
 * A crash kills an invocation after its k-th AWS call (k >= 1, geometric), once that call
 * took effect, or just before it answers when it makes fewer calls: the handler never
 * resumes, its caller sees `Lambda.Unknown`.
 */
import { ThrottlingException as CodeDeployThrottling } from '@aws-sdk/client-codedeploy';
import { CloudWatchServiceException } from '@aws-sdk/client-cloudwatch';
import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { ThrottlingException as EventBridgeThrottling } from '@aws-sdk/client-eventbridge';
import { ThrottlingException as SchedulerThrottling } from '@aws-sdk/client-scheduler';
import { SFNServiceException } from '@aws-sdk/client-sfn';
import type { HandsoffEvent } from '../core/events.ts';
import { keyOf, noise } from './world/random.ts';
import { TaskError, type InvocationWrapper } from './lambda.ts';

export const WORLD_FAULT = 'world.fault';

export const THROTTLED_SERVICES = ['codedeploy', 'cloudwatch', 'dynamodb', 'scheduler', 'eventbridge', 'stepfunctions'] as const;
export type ThrottledService = (typeof THROTTLED_SERVICES)[number];
export const DUPLICATED_SOURCES = ['source', 'deployment', 'alarm', 'schedule'] as const;
export type DuplicatedSource = (typeof DUPLICATED_SOURCES)[number];
export const LOST_SOURCES = ['deployment', 'alarm', 'schedule'] as const;
export type LostSource = (typeof LOST_SOURCES)[number];

/** A fault of the scenario, times in epoch ms (`until` exclusive). */
export type FaultSpec =
  | { fault: 'throttle'; at: number; until: number; service: ThrottledService; rate: number }
  | { fault: 'crash'; at: number; until: number; handler: string; rate: number }
  | { fault: 'duplicate-events'; at: number; until: number; source: DuplicatedSource }
  | { fault: 'lose-events'; at: number; until: number; source: LostSource }
  | { fault: 'delete-alarm'; at: number; region: string; alarm: string };

/** Attempts of an SDK v3 client call in standard retry mode (the default). */
export const SDK_MAX_ATTEMPTS = 3;
/** Chance that a doomed invocation survives one more AWS call before it dies. */
const CRASH_CONTINUE = 0.5;

/** The error a throttled call of `service` fails with, as its SDK client raises it. */
export const throttlingError = (service: ThrottledService): Error => {
  const $metadata = { httpStatusCode: 400, attempts: SDK_MAX_ATTEMPTS };
  const message = 'Rate exceeded';
  switch (service) {
    case 'codedeploy':
      return new CodeDeployThrottling({ message, $metadata });
    case 'dynamodb':
      return new ProvisionedThroughputExceededException({
        message: 'The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.',
        $metadata,
      });
    case 'scheduler':
      return new SchedulerThrottling({ message, Message: message, $metadata });
    case 'eventbridge':
      return new EventBridgeThrottling({ message, $metadata });
    case 'cloudwatch':
      // CloudWatch (query protocol) throttles with error code `Throttling`, no modeled class.
      return new CloudWatchServiceException({ name: 'Throttling', $fault: 'client', message, $metadata });
    case 'stepfunctions':
      return new SFNServiceException({ name: 'ThrottlingException', $fault: 'client', message, $metadata });
  }
};

/** Scope fields of an invocation's payload (a task's or an event's), for the records. */
const SCOPE_FIELDS = ['change', 'stage', 'region', 'unit', 'target'] as const;
const scopeOf = (payload: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  if (!payload || typeof payload !== 'object') return out;
  const p = payload as Record<string, unknown>;
  for (const k of SCOPE_FIELDS) if (typeof p[k] === 'string') out[k] = p[k] as string;
  return out;
};

/** The invocation running now (invocations run one at a time). */
interface Running {
  handler: string;
  scope: Record<string, string>;
  doomed?: Doomed;
}

interface Doomed {
  handler: string;
  crashAfter: number;
  calls: number;
  dead: boolean;
  die: (when: string) => void;
}

/** Never settles: what a dead process's pending call becomes. */
const never = <T>(): Promise<T> => new Promise<T>(() => undefined);

/** An injected crash, as its caller sees it (`Lambda.Unknown`). */
export class CrashError extends TaskError {
  readonly injected = true;
}

export class Faults {
  private readonly specs: FaultSpec[];
  private draws = 0;
  private current: Running | undefined;
  /** Faults hit, by kind. */
  readonly hits: Record<string, number> = {};

  constructor(
    specs: readonly FaultSpec[],
    private readonly seed: number,
    private readonly emit: (e: HandsoffEvent) => void,
    private readonly pipeline: string,
  ) {
    this.specs = [...specs];
  }

  get any(): boolean {
    return this.specs.length > 0;
  }

  /** A uniform number in [0, 1): the next draw of the run's seeded stream. */
  random(purpose: string): number {
    return noise(this.seed, keyOf(purpose), this.draws++);
  }

  /** Records a fault hit as a `world.fault` event. */
  record(fault: string, fields: Record<string, unknown>): void {
    this.hits[fault] = (this.hits[fault] ?? 0) + 1;
    this.emit({ time: new Date(Date.now()).toISOString(), type: WORLD_FAULT, pipeline: this.pipeline, fault, ...fields });
  }

  private active<K extends FaultSpec['fault']>(fault: K, match: (s: Extract<FaultSpec, { fault: K }>) => boolean): Extract<FaultSpec, { fault: K }> | undefined {
    const now = Date.now();
    return this.specs.find(
      (s): s is Extract<FaultSpec, { fault: K }> =>
        s.fault === fault && s.at <= now && ('until' in s ? now < s.until : true) && match(s as Extract<FaultSpec, { fault: K }>),
    );
  }

  /**
   * One AWS call of a handler (`fn` makes it): throttled attempts first, as the SDK retries
   * them; then, if the running invocation is doomed, it may die right after the call.
   */
  async call<T>(service: ThrottledService, operation: string, fn: () => Promise<T>): Promise<T> {
    const running = this.current;
    const doomed = running?.doomed;
    if (doomed?.dead) return never();
    const throttle = this.active('throttle', (s) => s.service === service);
    if (throttle) {
      for (let attempt = 1; attempt <= SDK_MAX_ATTEMPTS; attempt++) {
        if (this.random(`throttle:${service}`) >= throttle.rate) break;
        const surfaced = attempt === SDK_MAX_ATTEMPTS;
        this.record('throttle', { service, operation, attempt, surfaced, ...(running ? { handler: running.handler, ...running.scope } : {}) });
        if (surfaced) throw throttlingError(service);
      }
    }
    const result = await fn();
    if (doomed) {
      if (doomed.dead) return never();
      doomed.calls++;
      if (doomed.calls >= doomed.crashAfter) {
        doomed.die(`after AWS call ${doomed.calls} (${service} ${operation})`);
        return never();
      }
    }
    return result;
  }

  /** Wraps every Lambda invocation: a share of them crash (see the file's comment). */
  readonly wrapInvocation: InvocationWrapper = async (handler, invoke, payload) => {
    if (!this.any) return invoke();
    const scope = scopeOf(payload);
    const spec = this.active('crash', (s) => s.handler === 'any' || s.handler === handler);
    if (!spec || this.random(`crash:${handler}`) >= spec.rate) {
      this.current = { handler, scope };
      try {
        return await invoke();
      } finally {
        this.current = undefined;
      }
    }
    let crashAfter = 1;
    while (this.random(`crash-point:${handler}`) < CRASH_CONTINUE) crashAfter++;
    let kill!: (e: Error) => void;
    const dying = new Promise<never>((_, reject) => (kill = reject));
    const doomed: Doomed = {
      handler,
      crashAfter,
      calls: 0,
      dead: false,
      die: (when) => {
        if (doomed.dead) return;
        doomed.dead = true;
        this.record('crash', { handler, when, calls: doomed.calls, ...scope });
        kill(new CrashError('Lambda.Unknown', `the ${handler} invocation crashed ${when} (injected)`));
      },
    };
    this.current = { handler, scope, doomed };
    try {
      await Promise.race([invoke(), dying]);
      // It answered before its crash point: it dies after its last call, before answering.
      doomed.die(`before answering, after ${doomed.calls} AWS calls`);
      return await dying;
    } finally {
      this.current = undefined;
    }
  };

  /** Whether an event of `source` is to be delivered twice now (recorded when so). */
  duplicates(source: DuplicatedSource, scope: Record<string, unknown> = {}): boolean {
    if (!this.active('duplicate-events', (s) => s.source === source)) return false;
    this.record('duplicate-events', { source, ...scope });
    return true;
  }

  /** Whether an event of `source` is to be lost now (recorded when so). */
  loses(source: LostSource, scope: Record<string, unknown> = {}): boolean {
    if (!this.active('lose-events', (s) => s.source === source)) return false;
    this.record('lose-events', { source, ...scope });
    return true;
  }

  /** The alarm deletions of the scenario, to schedule. */
  deletions(): Array<Extract<FaultSpec, { fault: 'delete-alarm' }>> {
    return this.specs.filter((s): s is Extract<FaultSpec, { fault: 'delete-alarm' }> => s.fault === 'delete-alarm');
  }
}

/**
 * Wraps a drop-in client's `send` so that each call goes through `faults.call`; the
 * operation is the command's class name without `Command`.
 */
export const faultyClient = <C extends { send(command: unknown): Promise<unknown> }>(faults: Faults, service: ThrottledService, client: C): C => {
  const send = (command: unknown): Promise<unknown> =>
    faults.call(service, operationOf(command), () => client.send(command));
  return new Proxy(client, { get: (target, prop, receiver) => (prop === 'send' ? send : Reflect.get(target, prop, receiver)) });
};

export const operationOf = (command: unknown): string =>
  ((command as { constructor?: { name?: string } } | null)?.constructor?.name ?? 'Unknown').replace(/Command$/, '');
