/**
 * The local interpreter on the real clock (a definition's own tests run it so): a task whose
 * TimeoutSeconds is beyond Node's timer limit (24.8 days; the region executions' cap is 60)
 * waits for its handler, and times out only when its time is really up. Node alone fires such
 * a timer after a millisecond, so any handler slower than that timed out.
 */
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { StateMachine } from '../../sim/asl-runtime.ts';
import { CHILD_TIMEOUT_SECONDS } from '../../statemachines/asl.ts';

const task = (timeoutSeconds: number) =>
  new StateMachine(
    { StartAt: 'T', States: { T: { Type: 'Task', Resource: 'arn:aws:lambda:us-east-1:111122223333:function:slow', TimeoutSeconds: timeoutSeconds, End: true } } } as never,
    { validationOptions: { checkArn: false, checkPaths: false } },
  );
const slowly = (ms: number) => async () => {
  await new Promise((r) => setTimeout(r, ms));
  return { done: true };
};

describe('the interpreter on the real clock', () => {
  it("waits for a handler under a task's timeout of 60 days", async () => {
    expect(CHILD_TIMEOUT_SECONDS * 1000).toBeGreaterThan(2 ** 31 - 1);
    const run = task(CHILD_TIMEOUT_SECONDS).run({}, { overrides: { taskResourceLocalHandlers: { T: slowly(30) } } } as never);
    await expect(run.result).resolves.toEqual({ done: true });
  });

  it('leaves short timers and util.promisify(setTimeout) as they were', async () => {
    const started = Date.now();
    await promisify(setTimeout)(20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(15);
  });

  it('still times a task out when its time is up', async () => {
    const run = task(1).run({}, { overrides: { taskResourceLocalHandlers: { T: slowly(1500) } } } as never);
    await expect(run.result).rejects.toThrow(/States\.Timeout/);
  });
});
