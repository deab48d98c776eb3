/**
 * The emergency's end and its announcement when things go wrong, through the handlers with
 * mocked AWS clients: EventBridge down at the change's end, an approval racing the change's
 * end, an approval whose event was never published (it takes no effect until a retry
 * announces it), refused attempts told apart from retries, and the error shape.
 */
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CreateScheduleCommand } from '@aws-sdk/client-scheduler';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { emergencyHoldKey, emergencyKey } from '../../core/operator-items.ts';
import { operate } from '../../lambdas/operator/index.ts';
import { notify } from '../../lambdas/notify/index.ts';
import { startBake } from '../../lambdas/start-bake/index.ts';
import { checkWindow } from '../../lambdas/check-window/index.ts';
import { BAKE_INPUT, PIPELINE, tables, type Item } from './operator-tables.ts';
import { cloudWatch, ddb, events, NOW, scheduler, sfn, useAwsMocks } from './support.ts';

useAwsMocks();

let db: ReturnType<typeof tables>;
/** The events EventBridge took (not those it refused while down). */
let delivered: Item[];
let eventBridgeDown: boolean;
let openWaiters: Item[];
beforeEach(() => {
  db = tables();
  db.change('c1');
  delivered = [];
  eventBridgeDown = false;
  openWaiters = [];
  events.on(PutEventsCommand).callsFake((input) => {
    if (eventBridgeDown) throw Object.assign(new Error('EventBridge is unavailable'), { name: 'InternalException' });
    delivered.push(...(input.Entries ?? []).map((e: { Detail?: string }) => JSON.parse(e.Detail ?? '{}')));
    return { FailedEntryCount: 0, Entries: [] };
  });
  ddb.on(QueryCommand, { TableName: 'waiters' }).callsFake(() => ({ Items: structuredClone(openWaiters) }));
  scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });
  sfn.on(SendTaskSuccessCommand).resolves({});
  cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'agg', StateValue: 'OK' }] });
});

const request = (by = 'dave') => operate({ action: 'emergency-request', pipeline: PIPELINE, change: 'c1', by, reason: 'checkout is down' });
const decide = (by: string, approvers: string[], requestId?: string) =>
  operate({ action: 'emergency-decision', pipeline: PIPELINE, change: 'c1', by, decision: 'approve', reason: 'incident', approvers, ...(requestId ? { requestId } : {}) });
const types = () => delivered.map((e) => e.type);

/** c2's wait held by the emergency (its blocker the pipeline's emergency-hold key). */
const heldWait = (): Item => ({
  pk: 'bake#c2-hold',
  bakeId: 'c2-hold',
  kind: 'bake',
  status: 'OPEN',
  openShard: 'OPEN',
  pipeline: PIPELINE,
  change: 'c2',
  stage: 'wave-1',
  purpose: 'blocker',
  token: 'held',
  blocker: { region: 'sa-east-1', name: emergencyHoldKey(PIPELINE), state: 'ALARM' },
  watching: [emergencyHoldKey(PIPELINE)],
  startedAt: NOW.getTime(),
  endsAt: NOW.getTime() + 3_600_000,
  durationSeconds: 3600,
  extensions: 0,
});


describe('the end of a fast-tracked change with EventBridge down', () => {
  it('records the outcome, ends the emergency and releases the held change before it publishes; the retry publishes', async () => {
    await request();
    await decide('pat', ['pat']);
    const held = heldWait();
    openWaiters = [held];
    ddb.on(UpdateCommand, { TableName: 'waiters' }).callsFake(() => ({ Attributes: { ...held, status: 'DONE', result: { ok: true, output: { cleared: emergencyHoldKey(PIPELINE) } } } }));
    eventBridgeDown = true;
    await expect(notify({ type: 'change.failed', pipeline: PIPELINE, change: 'c1', fields: { cause: 'x' } })).rejects.toThrow(/unavailable/);
    expect(db.changeRecord('c1')).toMatchObject({ status: 'failed' });
    expect(db.emergency('c1')).toMatchObject({ state: 'approved', over: true });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'held' });
    // The state machine's retry, EventBridge back: the event goes out, the end is settled again.
    eventBridgeDown = false;
    await notify({ type: 'change.failed', pipeline: PIPELINE, change: 'c1', fields: { cause: 'x' } });
    expect(types().filter((t) => t === 'change.failed')).toHaveLength(1);
  });
});

describe('an approval racing the end of its change', () => {
  it('ends the emergency it writes when the change ended meanwhile (its end was settled before the approval existed)', async () => {
    await request();
    // The decision reads the change still running; by the time it has written, the change failed
    // (notify's settle found no approved emergency to end).
    const running = structuredClone(db.changeRecord('c1'));
    db.change('c1', { status: 'failed' });
    let reads = 0;
    ddb.on(GetCommand, { TableName: 'changes' }).callsFake(() => ({ Item: reads++ === 0 ? running : db.changeRecord('c1') }));
    await expect(decide('pat', ['pat'])).resolves.toMatchObject({ status: 200 });
    expect(db.emergency('c1')).toMatchObject({ state: 'approved', over: true });
  });
});

describe('an approval whose approval.granted was not published', () => {
  it('shortens no bake and waives no window until a retry of the decision publishes it', async () => {
    await request();
    eventBridgeDown = true;
    await expect(decide('pat', ['pat'])).rejects.toThrow(/unavailable/);
    eventBridgeDown = false;
    expect(db.emergency('c1')).toMatchObject({ state: 'approved' });
    await startBake(BAKE_INPUT);
    expect(delivered.at(-1)).toMatchObject({ type: 'bake.started', stage: 'beta', duration: 'PT1H' });
    // The retry (an asynchronous invocation's, or the caller's) announces it; then it takes effect.
    await expect(decide('pat', ['pat'])).resolves.toMatchObject({ status: 200, body: { emergency: 'approved' } });
    expect(types().filter((t) => t === 'approval.granted')).toHaveLength(1);
    await startBake({ ...BAKE_INPUT, stage: 'gamma' });
    expect(delivered.at(-1)).toMatchObject({ type: 'bake.started', stage: 'gamma', duration: 'PT10M' });
  });

  it('holds no change of the pipeline at its first production gate', async () => {
    db.put('operators', { ...emergencyKey(PIPELINE, 'c1'), pipeline: PIPELINE, change: 'c1', state: 'approved', announced: 'requested', requestedBy: 'dave', requestedAt: '2026-12-01T09:00:00Z' });
    ddb.on(QueryCommand, { TableName: 'operators' }).callsFake(() => ({ Items: [db.emergency('c1')] }));
    ddb.on(QueryCommand, { TableName: 'deployments' }).callsFake((input) => ({ Items: String(input.ExpressionAttributeValues[':pk']).endsWith('#c1') ? [{ pk: 'x', sk: 'wave-1#sa-east-1#g' }] : [] }));
    ddb.on(QueryCommand, { TableName: 'holidays' }).resolves({ Items: [] });
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
    // Closed (Mondays only): the window is what holds it, not the emergency.
    db.put('windows', { pk: PIPELINE, sk: '*', timeZone: 'UTC', days: ['MON'], start: '09:00', end: '17:00' });
    await expect(checkWindow({ pipeline: PIPELINE, change: 'c2', stage: 'wave-1', region: 'sa-east-1', target: 'onebox' })).resolves.toMatchObject({ open: false, reason: 'time-window' });
  });
});

describe('a decision on a request whose approval.requested was not published', () => {
  it('publishes the request first: no decision without its request in the trail', async () => {
    eventBridgeDown = true;
    await expect(request()).rejects.toThrow(/unavailable/);
    eventBridgeDown = false;
    expect(db.emergency('c1')).toMatchObject({ state: 'requested' });
    expect(types()).toEqual([]);
    await expect(decide('pat', ['pat'])).resolves.toMatchObject({ status: 200 });
    expect(types()).toEqual(['approval.requested', 'approval.granted']);
  });
});

describe('a retried approval whose approval.granted was not published, the change over since', () => {
  it('does not announce it: 409 change-over, the emergency over, no approval.granted', async () => {
    await request();
    eventBridgeDown = true;
    await expect(decide('pat', ['pat'])).rejects.toThrow(/unavailable/);
    eventBridgeDown = false;
    db.change('c1', { status: 'failed' });
    await expect(decide('pat', ['pat'])).resolves.toMatchObject({ status: 409, reason: 'change-over' });
    expect(types()).not.toContain('approval.granted');
    expect(db.emergency('c1')).toMatchObject({ over: true });
  });
});

describe('refused decisions', () => {
  it('records each attempt (its own request id) and a retry of one attempt once', async () => {
    await request();
    await expect(decide('zed', ['pat'], 'attempt-1')).resolves.toMatchObject({ status: 403, reason: 'not-an-approver' });
    await decide('zed', ['pat'], 'attempt-1');
    await decide('zed', ['pat'], 'attempt-2');
    expect(delivered.filter((e) => e.type === 'approval.denied').map((e) => [e.by, e.reason])).toEqual([
      ['zed', 'not-an-approver'],
      ['zed', 'not-an-approver'],
    ]);
  });
});

describe('the answers', () => {
  it('put the message a person reads in error and the machine code in reason', async () => {
    const unknown = await operate({ action: 'emergency-request', pipeline: PIPELINE, change: 'nope', by: 'dave', reason: 'x' });
    expect(unknown).toEqual({ status: 404, reason: 'unknown-change', error: expect.stringContaining("has no change 'nope'") });
    const noRequest = await decide('pat', ['pat']);
    expect(noRequest).toEqual({ status: 409, reason: 'no-pending-request', error: expect.stringContaining('a developer requests one first') });
    const noReason = await operate({ action: 'emergency-request', pipeline: PIPELINE, change: 'c1', by: 'dave', reason: ' ' });
    expect(noReason).toMatchObject({ status: 400, reason: 'invalid-request', error: expect.stringContaining("'reason'"), problems: [{ field: 'reason' }] });
    await request();
    await expect(decide('dave', ['dave'])).resolves.toMatchObject({ status: 403, reason: 'self-approval', error: expect.stringContaining('another approver must decide') });
  });
});
