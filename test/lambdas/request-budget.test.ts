/**
 * Request budgets: the simulator runs the handlers against a local DynamoDB over HTTP, where
 * every request costs time. Writes of several items go in batches; nothing just written is read back.
 */
import { DescribeAlarmsCommand, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { CreateDeploymentCommand, GetDeploymentCommand, GetDeploymentGroupCommand } from '@aws-sdk/client-codedeploy';
import { CreateScheduleCommand } from '@aws-sdk/client-scheduler';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { BatchWriteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { bakeEnd } from '../../lambdas/bake-end/index.ts';
import { batchWrite, BATCH_WRITE_ATTEMPTS } from '../../lambdas/shared/dynamo.ts';
import { onAlarmEvent } from '../../lambdas/on-alarm-event/index.ts';
import { startBake } from '../../lambdas/start-bake/index.ts';
import { startDeployment } from '../../lambdas/start-deployment/index.ts';
import { cloudWatch, codeDeploy, ddb, fakeWaiters, NOW, scheduler, sfn, useAwsMocks } from './support.ts';

let store: ReturnType<typeof fakeWaiters>;

useAwsMocks();

const names = ['a1', 'a2', 'a3', 'a4', 'a5'];
const commands = (): string[] => ddb.calls().map((c) => c.args[0].constructor.name);

beforeEach(() => {
  store = fakeWaiters([]);
  cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: names.map((AlarmName) => ({ AlarmName, StateValue: 'OK' })) });
  scheduler.on(CreateScheduleCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
});

describe('DynamoDB requests per invocation (5 watched alarms)', () => {
  it('start-bake: the waiter, its own watch record (was 6 requests, then 2)', async () => {
    await startBake({
      pipeline: 'p', change: 'c', stage: 'wave-1', region: 'r', taskToken: 't', durationSeconds: 3600, minRequests: 1,
      alarms: names.map((name) => ({ region: 'r', name })), metricScopes: [{ region: 'r', scope: 'onebox' }],
    });
    expect(commands()).toEqual(['PutCommand']);
    // bake-end: read, finish, record delivery (was 3 + 5, then 4): no watch to delete.
    ddb.resetHistory();
    vi.setSystemTime(NOW.getTime() + 3_600_000);
    cloudWatch.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'm0', Values: [10] }] });
    await expect(bakeEnd({ bakeId: 'p#c#wave-1#r#*' })).resolves.toMatchObject({ outcome: 'completed' });
    expect(commands()).toEqual(['GetCommand', 'UpdateCommand', 'UpdateCommand']);
  });

  it('start-deployment: read claim, claim, record id, waiter with its watch record (was 9 requests, then 5)', async () => {
    codeDeploy.on(GetDeploymentGroupCommand).resolves({ deploymentGroupInfo: {} });
    codeDeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-1' });
    codeDeploy.on(GetDeploymentCommand).resolves({});
    await startDeployment({ pipeline: 'p', change: 'c', stage: 'wave-1', region: 'r', taskToken: 't', revision: 'r1', artifact: { versionId: 'v1', eTag: 'e1', sha256: 'f'.repeat(64) }, application: 'p', deploymentGroup: 'g', alarms: names });
    // And the audit record of deployment.started (lambdas/shared/publish.ts).
    expect(commands()).toEqual(['GetCommand', 'PutCommand', 'UpdateCommand', 'PutCommand', 'PutCommand']);
  });
});

describe('one watch record per waiter', () => {
  it("names each alarm once in the waiter's `watching`; an alarm event finds its waiters with one Query", async () => {
    const alarms = Array.from({ length: 37 }, (_, i) => ({ region: 'r', name: `a${i}` }));
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: alarms.map((a) => ({ AlarmName: a.name, StateValue: 'OK' })) });
    await startBake({
      pipeline: 'p', change: 'c', stage: 'wave-1', region: 'r', taskToken: 't', durationSeconds: 3600, minRequests: 1,
      alarms: [...alarms, { region: 'r', name: 'a0' }], metricScopes: [{ region: 'r', scope: 'onebox' }],
    });
    expect(commands()).toEqual(['PutCommand']);
    expect(store.get('bake#p#c#wave-1#r#*')!.watching).toEqual(alarms.map((a) => a.name));
    ddb.resetHistory();
    await expect(onAlarmEvent({ source: 'aws.cloudwatch', 'detail-type': 'CloudWatch Alarm State Change', region: 'r', time: NOW.toISOString(), detail: { alarmName: 'a36', state: { value: 'ALARM' } } })).resolves.toEqual({ failed: ['bake#p#c#wave-1#r#*'], cleared: [] });
    // The Query, the finish, the audit record of alarm.triggered, the delivery: no watch item written or deleted.
    expect(commands()).toEqual(['QueryCommand', 'UpdateCommand', 'PutCommand', 'UpdateCommand']);
    expect(ddb.commandCalls(QueryCommand)[0]!.args[0].input).toMatchObject({ TableName: 'waiters', IndexName: 'open-waiters', FilterExpression: 'contains(#watching, :alarm)' });
  });
});

describe('batchWrite', () => {
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
