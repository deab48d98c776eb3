/**
 * The local stand-ins for the AWS services the state machines and handlers talk to, apart
 * from the simulated world (CodeDeploy, CloudWatch) and DynamoDB (dynalite):
 * - Step Functions task tokens (`.waitForTaskToken` emulation, SendTaskSuccess/Failure);
 * - EventBridge PutEvents (handsoff's events go to the stream);
 * - EventBridge Scheduler one-time schedules (virtual-time timers that invoke bake-end);
 * - a serial invocation queue for handlers, so that runs are deterministic and the clock
 *   only moves when no handler is running.
 */
import { DescribeExecutionCommand, ExecutionDoesNotExist, SendTaskFailureCommand, SendTaskHeartbeatCommand, SendTaskSuccessCommand, TaskDoesNotExist } from '@aws-sdk/client-sfn';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { ConflictException, CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException } from '@aws-sdk/client-scheduler';
import type { HandsoffEvent } from '../core/events.ts';

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

/** EventBridge: handsoff's own events land in the simulation's event stream. */
export const localEventBridge = (emit: (e: HandsoffEvent) => void) => ({
  send: async (command: unknown): Promise<unknown> => {
    if (!(command instanceof PutEventsCommand)) {
      throw new Error(`the local EventBridge does not implement ${(command as object).constructor.name}`);
    }
    const entries = command.input.Entries ?? [];
    for (const entry of entries) emit(JSON.parse(entry.Detail ?? '{}') as HandsoffEvent);
    return { FailedEntryCount: 0, Entries: entries.map((_, i) => ({ EventId: `local-${i}` })) };
  },
});

/** `at(2026-11-30T10:00:00)` in UTC -> epoch ms. */
const parseAt = (expression: string): number => {
  const m = /^at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)$/.exec(expression);
  if (!m) throw new Error(`the local Scheduler supports only one-time at(...) expressions, got '${expression}'`);
  return Date.parse(`${m[1]}Z`);
};

/** EventBridge Scheduler: one-time schedules become virtual-time timers. */
export const localScheduler = (invoke: (functionArn: string, payload: unknown) => void) => {
  const schedules = new Map<string, ReturnType<typeof setTimeout>>();
  return {
    schedules,
    send: async (command: unknown): Promise<unknown> => {
      if (command instanceof CreateScheduleCommand) {
        const { Name, GroupName, ScheduleExpression, Target } = command.input;
        const key = `${GroupName ?? 'default'}/${Name}`;
        if (schedules.has(key)) throw new ConflictException({ message: `Schedule ${Name} already exists.`, Message: `Schedule ${Name} already exists.`, $metadata: {} });
        const at = parseAt(ScheduleExpression!);
        const timer = setTimeout(() => {
          schedules.delete(key);
          invoke(Target!.Arn!, JSON.parse(Target!.Input ?? '{}'));
        }, Math.max(0, at - Date.now()));
        schedules.set(key, timer);
        return { ScheduleArn: `arn:aws:scheduler:us-east-1:000000000000:schedule/${key}` };
      }
      if (command instanceof DeleteScheduleCommand) {
        const key = `${command.input.GroupName ?? 'default'}/${command.input.Name}`;
        const timer = schedules.get(key);
        if (!timer) throw new ResourceNotFoundException({ message: `Schedule ${command.input.Name} does not exist.`, Message: `Schedule ${command.input.Name} does not exist.`, $metadata: {} });
        clearTimeout(timer);
        schedules.delete(key);
        return {};
      }
      throw new Error(`the local Scheduler does not implement ${(command as object).constructor.name}`);
    },
  };
};
