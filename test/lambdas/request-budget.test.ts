/**
 * Request budgets: the simulator runs the handlers against a local DynamoDB over HTTP, where
 * every request costs time. Writes of several items go in batches; nothing just written is read back.
 */
import { DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CreateDeploymentCommand, GetDeploymentCommand, GetDeploymentGroupCommand } from '@aws-sdk/client-codedeploy';
import { CreateScheduleCommand } from '@aws-sdk/client-scheduler';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { BatchWriteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { bakeEnd } from '../../lambdas/bake-end/index.ts';
import { batchWrite, BATCH_WRITE_ATTEMPTS } from '../../lambdas/shared/dynamo.ts';
import { watch } from '../../lambdas/shared/waiters.ts';
import { startBake } from '../../lambdas/start-bake/index.ts';
import { startDeployment } from '../../lambdas/start-deployment/index.ts';
import { cloudWatch, codeDeploy, ddb, fakeWaiters, NOW, scheduler, sfn, useAwsMocks } from './support.ts';

useAwsMocks();

const names = ['a1', 'a2', 'a3', 'a4', 'a5'];
const commands = (): string[] => ddb.calls().map((c) => c.args[0].constructor.name);

beforeEach(() => {
  fakeWaiters([]);
  cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: names.map((AlarmName) => ({ AlarmName, StateValue: 'OK' })) });
  scheduler.on(CreateScheduleCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
});

describe('DynamoDB requests per invocation (5 watched alarms)', () => {
  it('start-bake: the waiter, then one batch of watches (was 6 requests)', async () => {
    await startBake({
      pipeline: 'p', change: 'c', stage: 'wave-1', region: 'r', taskToken: 't', durationSeconds: 3600, minRequests: 1,
      alarms: names.map((name) => ({ region: 'r', name })), metricScopes: [{ region: 'r', scope: 'onebox' }],
    });
    expect(commands()).toEqual(['PutCommand', 'BatchWriteCommand']);
    // bake-end: read, finish, record delivery, one batch of unwatches (was 3 + 5).
    ddb.resetHistory();
    vi.setSystemTime(NOW.getTime() + 3_600_000);
    cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm0', Values: [10] }] });
    await expect(bakeEnd({ bakeId: 'p#c#wave-1#r#*' })).resolves.toMatchObject({ outcome: 'completed' });
    expect(commands()).toEqual(['GetCommand', 'UpdateCommand', 'UpdateCommand', 'BatchWriteCommand']);
  });

  it('start-deployment: read claim, claim, record id, waiter, one batch of watches (was 9 requests)', async () => {
    codeDeploy.on(GetDeploymentGroupCommand).resolves({ deploymentGroupInfo: {} });
    codeDeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-1' });
    codeDeploy.on(GetDeploymentCommand).resolves({});
    await startDeployment({ pipeline: 'p', change: 'c', stage: 'wave-1', region: 'r', taskToken: 't', revision: 'r1', artifact: { versionId: 'v1', eTag: 'e1', sha256: 'f'.repeat(64) }, application: 'p', deploymentGroup: 'g', alarms: names });
    expect(commands()).toEqual(['GetCommand', 'PutCommand', 'UpdateCommand', 'PutCommand', 'BatchWriteCommand']);
  });
});

describe('batchWrite', () => {
  it('writes 25 items per call, one watch per alarm name', async () => {
    const alarms = Array.from({ length: 30 }, (_, i) => ({ region: 'r', name: `a${i}` }));
    await watch([...alarms, { region: 'other', name: 'a0' }], 'bake#b');
    const calls = ddb.commandCalls(BatchWriteCommand);
    expect(calls.map((c) => c.args[0].input.RequestItems!.watches!.length)).toEqual([25, 5]);
    expect(calls[0]!.args[0].input.RequestItems!.watches![0]).toEqual({ PutRequest: { Item: expect.objectContaining({ pk: 'a0', sk: 'bake#b', region: 'r' }) } });
  });

  it('writes a single watch with PutItem', async () => {
    await watch([{ region: 'r', name: 'a0' }], 'bake#b');
    expect(commands()).toEqual(['PutCommand']);
    expect(ddb).toHaveReceivedCommandWith(PutCommand, { TableName: 'watches', Item: expect.objectContaining({ pk: 'a0', sk: 'bake#b' }) });
  });

  it('retries unprocessed items, then gives up with a retryable error', async () => {
    const put = (pk: string) => ({ PutRequest: { Item: { pk, sk: 's' } } });
    ddb.on(BatchWriteCommand).resolvesOnce({ UnprocessedItems: { watches: [put('b')] } }).resolves({ UnprocessedItems: {} });
    await batchWrite('watches', [put('a'), put('b')]);
    expect(ddb.commandCalls(BatchWriteCommand).map((c) => c.args[0].input.RequestItems!.watches)).toEqual([[put('a'), put('b')], [put('b')]]);

    ddb.resetHistory();
    ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: { watches: [put('b')] } });
    await expect(batchWrite('watches', [put('a'), put('b')])).rejects.toMatchObject({ name: 'BatchWriteIncomplete', retryable: true });
    expect(ddb).toHaveReceivedCommandTimes(BatchWriteCommand, BATCH_WRITE_ATTEMPTS);
    expect(ddb).not.toHaveReceivedCommand(GetCommand);
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });
});
