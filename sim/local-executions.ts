/**
 * Step Functions executions by name, as AWS keeps them, for the simulator's StartExecution
 * API (handler `start-change`) and its `startExecution.sync:2` child starts. StartExecution
 * with a name already used (Step Functions API reference, StartExecution):
 * - the execution is open and the input is identical: success, the same execution (a retried
 *   or duplicated start is adopted, nothing runs twice);
 * - the execution is open and the input differs, or it is closed: ExecutionAlreadyExists.
 * A name has 1 to 80 characters, letters, digits, `-` and `_` (InvalidName otherwise).
 */
import { DescribeExecutionCommand, ExecutionAlreadyExists, ExecutionDoesNotExist, InvalidName, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { TaskError } from './lambda.ts';

const NAME = /^[A-Za-z0-9_-]{1,80}$/;
const meta = { $metadata: { httpStatusCode: 400 } };

export interface LocalExecution {
  executionArn: string;
  name: string;
  input: string;
  startDate: Date;
  /** Settles with the execution's output, or rejects with its error. */
  result: Promise<unknown>;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED';
  /** The output, once SUCCEEDED. */
  output?: unknown;
}

/** `arn:aws:states:r:a:stateMachine:m` + name -> `arn:aws:states:r:a:execution:m:name`. */
export const executionArnOf = (stateMachineArn: string, name: string): string =>
  `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;

/** A JSON text with object keys sorted, so that equal inputs compare equal whatever their key order. */
const canonical = (json: string): string => {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sort((v as Record<string, unknown>)[k])]))
        : v;
  try {
    return JSON.stringify(sort(JSON.parse(json)));
  } catch {
    return json;
  }
};

export class LocalExecutions {
  private readonly byArn = new Map<string, LocalExecution>();
  /** Executions actually run (starts that were adopted are not counted). */
  runs = 0;

  /** @param run runs a new execution of the state machine with the parsed input. */
  constructor(private readonly run: (stateMachineArn: string, name: string, input: unknown) => Promise<unknown>) {}

  /**
   * StartExecution: a new execution, or the open one with this name and input.
   * @returns the execution and whether this call started it.
   */
  start(stateMachineArn: string, name: string, input: string): { execution: LocalExecution; started: boolean } {
    if (!NAME.test(name)) {
      throw new InvalidName({ message: `Invalid Name: '${name}' (1 to 80 letters, digits, '-' or '_')`, ...meta });
    }
    const executionArn = executionArnOf(stateMachineArn, name);
    const existing = this.byArn.get(executionArn);
    if (existing) {
      if (existing.status === 'RUNNING' && canonical(existing.input) === canonical(input)) return { execution: existing, started: false };
      throw new ExecutionAlreadyExists({
        message: `Execution Already Exists: '${executionArn}'${existing.status === 'RUNNING' ? ' (with another input)' : ` (${existing.status})`}`,
        ...meta,
      });
    }
    const execution: LocalExecution = { executionArn, name, input, startDate: new Date(Date.now()), status: 'RUNNING', result: Promise.resolve() };
    this.byArn.set(executionArn, execution);
    this.runs++;
    execution.result = this.run(stateMachineArn, name, JSON.parse(input)).then(
      (output) => {
        execution.status = 'SUCCEEDED';
        execution.output = output;
        return output;
      },
      (error: unknown) => {
        execution.status = 'FAILED';
        throw error;
      },
    );
    // Whoever started it may not wait for it (StartExecution returns at once).
    execution.result.catch(() => undefined);
    return { execution, started: true };
  }

  get(executionArn: string): LocalExecution | undefined {
    return this.byArn.get(executionArn);
  }

  /** A drop-in for SFNClient: StartExecution and DescribeExecution here, the rest to `other` (task tokens). */
  client(other: { send(command: unknown): Promise<unknown> }) {
    return {
      send: async (command: unknown): Promise<unknown> => {
        if (command instanceof StartExecutionCommand) {
          const { stateMachineArn, name, input } = command.input;
          const { execution } = this.start(stateMachineArn!, name!, input ?? '{}');
          return { executionArn: execution.executionArn, startDate: execution.startDate };
        }
        if (command instanceof DescribeExecutionCommand) {
          const execution = this.get(command.input.executionArn!);
          if (!execution) throw new ExecutionDoesNotExist({ message: `Execution Does Not Exist: '${command.input.executionArn}'`, ...meta });
          return { executionArn: execution.executionArn, name: execution.name, status: execution.status, input: execution.input, startDate: execution.startDate };
        }
        return other.send(command);
      },
    };
  }

  /**
   * The `states:startExecution.sync:2` integration: starts (or finds) the named child and
   * waits for it. A start the service refuses fails the task as `StepFunctions.<error>`.
   */
  async startSync(taskInput: { StateMachineArn: string; Name: string; Input: unknown }): Promise<unknown> {
    let started;
    try {
      started = this.start(taskInput.StateMachineArn, String(taskInput.Name), JSON.stringify(taskInput.Input));
    } catch (e) {
      throw new TaskError(`StepFunctions.${(e as Error).name}`, (e as Error).message);
    }
    try {
      const output = await started.execution.result;
      return { Output: output, Status: 'SUCCEEDED', ExecutionArn: started.execution.executionArn };
    } catch (e) {
      throw new TaskError('States.TaskFailed', `child execution ${taskInput.Name} failed: ${(e as Error).message}`);
    }
  }

  /** The `aws-sdk:sfn:describeExecution` integration (its answer in the SDK's PascalCase). */
  describeTask(taskInput: { ExecutionArn: string }): unknown {
    const execution = this.get(String(taskInput.ExecutionArn));
    if (!execution) throw new TaskError('Sfn.ExecutionDoesNotExistException', `Execution Does Not Exist: '${taskInput.ExecutionArn}'`);
    return {
      ExecutionArn: execution.executionArn,
      Name: execution.name,
      Status: execution.status,
      Input: execution.input,
      ...(execution.status === 'SUCCEEDED' ? { Output: JSON.stringify(execution.output ?? null) } : {}),
    };
  }
}
