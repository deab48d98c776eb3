/**
 * A team-alarm override keeps the already-alarming team aggregate from rolling the overriding
 * change back (alarm events, the reconciler, the start of a deployment); the change's other
 * alarms still do, other changes are not spared, and an operators table that cannot be read
 * spares nothing (fail closed).
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CreateDeploymentCommand, GetDeploymentCommand, GetDeploymentGroupCommand } from '@aws-sdk/client-codedeploy';
import { SendTaskFailureCommand } from '@aws-sdk/client-sfn';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { onAlarmEvent } from '../../lambdas/on-alarm-event/index.ts';
import { startDeployment } from '../../lambdas/start-deployment/index.ts';
import { sparedAlarms } from '../../lambdas/shared/operator-reads.ts';
import type { AlarmStateChangeDetail, BusEvent } from '../../core/contracts.ts';
import { OPERATORS_PK } from '../../core/operator-items.ts';
import { cloudWatch, codeDeploy, ddb, fakeWaiters, published, sfn, useAwsMocks } from './support.ts';

useAwsMocks();

const region = 'sa-east-1';
const aggregate = `handsoff-storefront-${region}-aggregate`;
const own = 'storefront-api-sa-east-1-onebox-faults';
const overrideItem = (change: string | undefined, expires = '2026-12-02T06:00:00.000Z') => ({
  pk: OPERATORS_PK,
  sk: `override#team-alarm|${region}|*|${change ?? '*'}|dave|${expires}`,
  id: `team-alarm|${region}|*|${change ?? '*'}|dave|${expires}`,
  blocker: 'team-alarm',
  region,
  ...(change ? { change } : {}),
  by: 'dave',
  reason: 'fix for the incident the aggregate shows',
  expires,
  appliedAt: '2026-12-01T17:00:00.000Z',
  announcedAt: '2026-12-01T17:00:00.000Z',
});
/** The aggregate in ALARM since `since` (DescribeAlarms), the step's own alarm OK. */
const aggregateSince = (since: string) =>
  cloudWatch.on(DescribeAlarmsCommand).resolves({
    CompositeAlarms: [{ AlarmName: aggregate, StateValue: 'ALARM', StateUpdatedTimestamp: new Date(since), StateTransitionedTimestamp: new Date(since) }],
    MetricAlarms: [{ AlarmName: own, StateValue: 'OK' }],
  });
/** Already in ALARM when the override was applied (17:00). */
const BEFORE = '2026-12-01T16:30:00Z';
/** Entered ALARM after the override was applied: a new incident. */
const AFTER = '2026-12-01T17:45:00Z';
const event = (alarmName: string): BusEvent<AlarmStateChangeDetail> => ({
  source: 'aws.cloudwatch',
  'detail-type': 'CloudWatch Alarm State Change',
  region,
  time: '2026-12-01T18:00:00Z',
  detail: { alarmName, state: { value: 'ALARM' } },
});
const scope = { pipeline: 'storefront-api', stage: 'wave-1', region, target: 'onebox' };

beforeEach(() => {
  sfn.on(SendTaskFailureCommand).resolves({});
  fakeWaiters([
    { pk: 'bake#c1', kind: 'bake', status: 'OPEN', openShard: 'OPEN', token: 'c1-token', ...scope, change: 'c1', alarms: [{ region, name: aggregate }, { region, name: own }], watching: [aggregate, own] },
    { pk: 'bake#c2', kind: 'bake', status: 'OPEN', openShard: 'OPEN', token: 'c2-token', ...scope, change: 'c2', alarms: [{ region, name: aggregate }], watching: [aggregate] },
  ]);
});

describe('team-alarm override', () => {
  beforeEach(() => aggregateSince(BEFORE));

  it('spares the aggregate for the overriding change only; the other change rolls back', async () => {
    ddb.on(QueryCommand, { TableName: 'operators' }).resolves({ Items: [overrideItem('c1')] });
    await expect(onAlarmEvent(event(aggregate))).resolves.toEqual({ failed: ['bake#c2'], cleared: [] });
    expect(sfn).not.toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'c1-token' });
    // One read of the operators table for the event, not one per waiter.
    expect(ddb.commandCalls(QueryCommand).filter((c) => c.args[0].input.TableName === 'operators')).toHaveLength(1);
  });

  it("still rolls the change back on its own alarms", async () => {
    ddb.on(QueryCommand, { TableName: 'operators' }).resolves({ Items: [overrideItem('c1')] });
    await expect(onAlarmEvent(event(own))).resolves.toEqual({ failed: ['bake#c1'], cleared: [] });
  });

  it('spares no ALARM that began after the override was applied: a new incident rolls the change back', async () => {
    aggregateSince(AFTER);
    ddb.on(QueryCommand, { TableName: 'operators' }).resolves({ Items: [overrideItem('c1')] });
    await expect(onAlarmEvent(event(aggregate))).resolves.toEqual({ failed: ['bake#c1', 'bake#c2'], cleared: [] });
    await expect(sparedAlarms({ pipeline: 'storefront-api', change: 'c1' }, [{ region, name: aggregate }])).resolves.toEqual([]);
  });

  it('spares nothing when it cannot tell when the aggregate entered ALARM', async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({ CompositeAlarms: [{ AlarmName: aggregate, StateValue: 'ALARM' }] });
    ddb.on(QueryCommand, { TableName: 'operators' }).resolves({ Items: [overrideItem('c1')] });
    await expect(onAlarmEvent(event(aggregate))).resolves.toEqual({ failed: ['bake#c1', 'bake#c2'], cleared: [] });
  });

  it('spares nothing while the override is not announced yet (its override.applied not published)', async () => {
    const { announcedAt: _announced, ...unannounced } = overrideItem('c1');
    ddb.on(QueryCommand, { TableName: 'operators' }).resolves({ Items: [unannounced] });
    await expect(onAlarmEvent(event(aggregate))).resolves.toEqual({ failed: ['bake#c1', 'bake#c2'], cleared: [] });
  });

  it('spares nothing once the override expired', async () => {
    ddb.on(QueryCommand, { TableName: 'operators' }).resolves({ Items: [overrideItem('c1', '2026-12-01T17:30:00.000Z')] });
    await expect(onAlarmEvent(event(aggregate))).resolves.toEqual({ failed: ['bake#c1', 'bake#c2'], cleared: [] });
  });

  it('spares nothing when the operators table cannot be read (the alarm counts)', async () => {
    ddb.on(QueryCommand, { TableName: 'operators' }).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await expect(onAlarmEvent(event(aggregate))).resolves.toEqual({ failed: ['bake#c1', 'bake#c2'], cleared: [] });
  });

  it('never spares a company event or a step alarm, and reads nothing for them', async () => {
    ddb.on(QueryCommand, { TableName: 'operators' }).resolves({ Items: [overrideItem(undefined)] });
    const alarms = [{ region, name: `handsoff-company-event-${region}` }, { region, name: own }];
    await expect(sparedAlarms({ pipeline: 'storefront-api', change: 'c1' }, alarms)).resolves.toEqual([]);
    expect(ddb).not.toHaveReceivedCommand(QueryCommand);
  });
});

describe('a deployment under a team-alarm override', () => {
  const deploy = (change: string) =>
    startDeployment({
      pipeline: 'storefront-api', change, stage: 'wave-1', region, target: 'fleet', unit: 'sae1-az1', taskToken: `${change}-deploy`, revision: change,
      artifact: { versionId: 'v1', eTag: 'e1', sha256: 'f'.repeat(64) }, application: 'storefront-api', deploymentGroup: 'storefront-api-sae1-az1',
      alarms: [aggregate, own],
    });
  beforeEach(() => {
    aggregateSince(BEFORE);
    codeDeploy.on(GetDeploymentGroupCommand).resolves({
      deploymentGroupInfo: { alarmConfiguration: { enabled: true, ignorePollAlarmFailure: false, alarms: [{ name: own }, { name: aggregate }] } },
    });
    codeDeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-1' });
    codeDeploy.on(GetDeploymentCommand).resolves({});
    ddb.on(QueryCommand, { TableName: 'operators' }).resolves({ Items: [overrideItem('c1')] });
  });

  it("starts with the group's alarms but the spared aggregate, so CodeDeploy does not stop it either", async () => {
    await expect(deploy('c1')).resolves.toMatchObject({ outcome: 'started', deploymentId: 'd-1' });
    expect(codeDeploy).toHaveReceivedCommandWith(CreateDeploymentCommand, {
      overrideAlarmConfiguration: { enabled: true, ignorePollAlarmFailure: false, alarms: [{ name: own }] },
    });
    expect(published().map((e) => e.type)).toEqual(['deployment.started']);
  });

  it('refuses the overriding change too when the aggregate entered ALARM after the override', async () => {
    aggregateSince(AFTER);
    await expect(deploy('c1')).resolves.toEqual({ outcome: 'refused' });
    expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(published()).toEqual([expect.objectContaining({ type: 'alarm.triggered', change: 'c1', alarmName: aggregate })]);
  });

  it('refuses another change: the aggregate in ALARM counts for it', async () => {
    await expect(deploy('c2')).resolves.toEqual({ outcome: 'refused' });
    expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, { taskToken: 'c2-deploy', error: 'AlarmTriggered' });
  });
});
