/** The simulator's Step Functions keeps executions by name, as StartExecution documents. */
import { describe, expect, it } from 'vitest';
import { LocalExecutions } from '../../sim/local-executions.ts';

const MACHINE = 'arn:aws:states:us-east-1:000000000000:stateMachine:handsoff-p-region';

/** Executions that run until the test ends them. */
const setup = () => {
  const runs: Array<{ name: string; finish: (ok: boolean) => void }> = [];
  const executions = new LocalExecutions(
    (_arn, name) =>
      new Promise((resolve, reject) => runs.push({ name, finish: (ok) => (ok ? resolve({ status: 'succeeded' }) : reject(new Error('failed'))) })),
  );
  return { runs, executions };
};

describe('local Step Functions executions', () => {
  it('adopts a repeated start of an open execution with the same name and input: it runs once', async () => {
    const { runs, executions } = setup();
    const first = executions.start(MACHINE, 'c1-us-east-1', '{"change":"c1","region":"us-east-1"}');
    const again = executions.start(MACHINE, 'c1-us-east-1', '{"region":"us-east-1","change":"c1"}');
    expect(first.started).toBe(true);
    expect(again).toEqual({ execution: first.execution, started: false });
    expect(runs.map((r) => r.name)).toEqual(['c1-us-east-1']);
    expect(first.execution.executionArn).toBe('arn:aws:states:us-east-1:000000000000:execution:handsoff-p-region:c1-us-east-1');
    runs[0]!.finish(true);
    await expect(again.execution.result).resolves.toEqual({ status: 'succeeded' });
  });

  it('refuses the name with another input while the execution is open', () => {
    const { executions } = setup();
    executions.start(MACHINE, 'c1-us-east-1', '{"change":"c1"}');
    expect(() => executions.start(MACHINE, 'c1-us-east-1', '{"change":"c2"}')).toThrow(expect.objectContaining({ name: 'ExecutionAlreadyExists' }));
  });

  it('refuses the name of an execution that ended, whatever the input, and runs nothing again', async () => {
    const { runs, executions } = setup();
    const { execution } = executions.start(MACHINE, 'c1', '{}');
    runs[0]!.finish(false);
    await execution.result.catch(() => undefined);
    expect(execution.status).toBe('FAILED');
    expect(() => executions.start(MACHINE, 'c1', '{}')).toThrow(expect.objectContaining({ name: 'ExecutionAlreadyExists' }));
    expect(runs).toHaveLength(1);
  });

  it('refuses names Step Functions would refuse', () => {
    const { executions } = setup();
    expect(() => executions.start(MACHINE, 'a'.repeat(81), '{}')).toThrow(expect.objectContaining({ name: 'InvalidName' }));
    expect(() => executions.start(MACHINE, 'c1:us-east-1', '{}')).toThrow(expect.objectContaining({ name: 'InvalidName' }));
  });

  it('gives a child start of an ended execution the error the ASL adopts, and describes its outcome', async () => {
    const { runs, executions } = setup();
    const child = { StateMachineArn: MACHINE, Name: 'c1-us-east-1', Input: { change: 'c1' } };
    const first = executions.startSync(child);
    runs[0]!.finish(true);
    await expect(first).resolves.toMatchObject({ Status: 'SUCCEEDED', Output: { status: 'succeeded' } });
    await expect(executions.startSync(child)).rejects.toMatchObject({ name: 'StepFunctions.ExecutionAlreadyExists' });
    expect(executions.describeTask({ ExecutionArn: `${MACHINE.replace(':stateMachine:', ':execution:')}:c1-us-east-1` })).toMatchObject({
      Status: 'SUCCEEDED',
      Output: JSON.stringify({ status: 'succeeded' }),
    });
    expect(runs).toHaveLength(1);
  });
});
