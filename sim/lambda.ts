/**
 * The Lambda stand-in: the real handler modules, invoked one at a time in the order the
 * invocations were requested (so runs are deterministic and the clock only moves when no
 * handler is running), synchronously (Step Functions tasks) or asynchronously (EventBridge
 * rules, Scheduler), each with a Lambda-like context and a payload copied as over the wire.
 */
import type { Context } from 'aws-lambda';
import { HANDLER_MEMORY_MB } from '../core/functions.ts';
import { HandlerName } from '../statemachines/resources.ts';
import { meter } from './meter.ts';

export const ACCOUNT = '000000000000';
export const HOME = 'us-east-1';
/** The control plane's artifact bucket in the simulator (the handlers' ENV.ARTIFACT_BUCKET). */
export const LOCAL_ARTIFACT_BUCKET = 'handsoff-artifacts-local';

export const localFunctionArn = (handler: HandlerName): string => `arn:aws:lambda:${HOME}:${ACCOUNT}:function:handsoff-${handler}`;

/** The handler name of a local function ARN (`handsoff-start-bake` -> `start-bake`). */
export const handlerOf = (functionArn: string): string => functionArn.split(':').pop()!.replace(/^handsoff-/, '');

/** A named error as Step Functions sees it: `name` is the ASL error, `message` the cause. */
export class TaskError extends Error {
  constructor(name: string, cause: string) {
    super(cause);
    this.name = name;
  }
}

/** Runs handler invocations one at a time, in the order they were requested. */
export class InvocationQueue {
  private readonly jobs: Array<() => Promise<void>> = [];
  private running = false;
  private waiters: Array<() => void> = [];
  pending = 0;
  invocations = 0;

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.pending++;
    this.invocations++;
    return new Promise<T>((resolve, reject) => {
      this.jobs.push(async () => {
        try {
          resolve(await fn());
        } catch (e) {
          reject(e);
        } finally {
          this.pending--;
        }
      });
      void this.drain();
    });
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    while (this.jobs.length > 0) await this.jobs.shift()!();
    this.running = false;
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }

  /** Resolves once nothing is queued or running. */
  idle(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** Attempts of an asynchronous invocation: the first and Lambda's two retries. */
export const ASYNC_ATTEMPTS = 3;
/** Lambda's wait before its first and second retry of a failed asynchronous invocation. */
export const ASYNC_RETRY_DELAYS_MS = [60_000, 120_000] as const;

export type Handler = (event: unknown, context: Context) => Promise<unknown>;

export const loadHandlers = async (): Promise<Record<string, Handler>> => {
  const entries = await Promise.all(
    Object.values(HandlerName).map(async (name) => {
      const mod = (await import(`../lambdas/${name}/index.ts`)) as { handler: Handler };
      return [localFunctionArn(name), mod.handler] as const;
    }),
  );
  return Object.fromEntries(entries);
};

/**
 * What runs around one invocation (fault injection): `run` gets the invocation and calls
 * `invoke` to run the handler; it may make the invocation die instead.
 */
export type InvocationWrapper = (handler: string, invoke: () => Promise<unknown>, payload: unknown) => Promise<unknown>;

export class LocalLambda {
  readonly queue = new InvocationQueue();
  private requestId = 0;

  constructor(
    private readonly handlers: Record<string, Handler>,
    private readonly wrap: InvocationWrapper = (_h, invoke) => invoke(),
  ) {}

  /** A synchronous invocation (RequestResponse): the handler's result, or its error. */
  invoke(functionArn: string, payload: unknown): Promise<unknown> {
    const handler = this.handlers[functionArn];
    if (!handler) return Promise.reject(new TaskError('Lambda.ResourceNotFoundException', `Function not found: ${functionArn}`));
    return this.queue.run(async () => {
      const name = functionArn.split(':').pop()!;
      const context = {
        functionName: name,
        functionVersion: '$LATEST',
        invokedFunctionArn: functionArn,
        memoryLimitInMB: String(HANDLER_MEMORY_MB),
        awsRequestId: `local-${++this.requestId}`,
        logGroupName: `/aws/lambda/${name}`,
        logStreamName: 'local',
        callbackWaitsForEmptyEventLoop: false,
        done: () => undefined,
        fail: () => undefined,
        succeed: () => undefined,
      } as unknown as Context; // no getRemainingTimeInMillis: middy would arm a real (not virtual) timer
      // Deep copy: a handler never shares objects with the interpreter, as over the wire.
      const result = await meter.invocation(handlerOf(functionArn), payload, () =>
        this.wrap(handlerOf(functionArn), () => handler(JSON.parse(JSON.stringify(payload)), context), payload),
      );
      return JSON.parse(JSON.stringify(result ?? null));
    });
  }

  /**
   * An asynchronous invocation (EventBridge rule targets, Scheduler): Lambda queues the
   * event and, when the function fails, runs it twice more, a minute and then two minutes
   * later (its default retry policy); after the third failure the event is discarded, to
   * the function's dead-letter queue where one is configured (`onDeadLetter`).
   */
  invokeAsync(functionArn: string, payload: unknown, attempt = 1): void {
    this.invoke(functionArn, payload).catch((e: Error & { injected?: boolean }) => {
      if (!e.injected) process.stderr.write(`handsoff simulate: ${functionArn.split(':').pop()} failed: ${e.name}: ${e.message}\n`);
      if (attempt < ASYNC_ATTEMPTS) {
        setTimeout(() => this.invokeAsync(functionArn, payload, attempt + 1), ASYNC_RETRY_DELAYS_MS[attempt - 1]);
      } else this.onDeadLetter?.(handlerOf(functionArn), payload, e);
    });
  }

  /** Called with an asynchronous event that failed every attempt. */
  onDeadLetter?: (handler: string, payload: unknown, error: Error) => void;
}
