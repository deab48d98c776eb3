/**
 * The emergency fast-track through the operator handler, with mocked AWS clients: who may
 * request and decide, the answers (202, 200, 403 with the reason, 404, 409), the events, that
 * a refusal changes nothing, that retries publish once; an approval shortens the change's
 * running bakes (and ends its window holds), later bakes start at the floor, and the end of
 * the change releases the changes its emergency held.
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { CreateScheduleCommand } from '@aws-sdk/client-scheduler';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { emergencyHoldKey, emergencyKey } from '../../core/operator-items.ts';
import { operate } from '../../lambdas/operator/index.ts';
import { notify } from '../../lambdas/notify/index.ts';
import { startBake } from '../../lambdas/start-bake/index.ts';
import { checkWindow } from '../../lambdas/check-window/index.ts';
import { BAKE_INPUT, MIN, PIPELINE, tables, type Item } from './operator-tables.ts';
import { $metadata, cloudWatch, ddb, NOW, published, scheduler, schedulesOf, sfn, useAwsMocks } from './support.ts';

useAwsMocks();

let db: ReturnType<typeof tables>;
/** The change's open waiters, as the open-waiters index answers the approval's Query. */
let openWaiters: Item[];
beforeEach(() => {
  db = tables();
  db.change('c1');
  openWaiters = [];
  ddb.on(QueryCommand, { TableName: 'waiters' }).callsFake(() => ({ Items: structuredClone(openWaiters) }));
  scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:schedule' });
});

const request = (by = 'dave', reason = 'checkout is down for EU cards') =>
  operate({ action: 'emergency-request', pipeline: PIPELINE, change: 'c1', by, reason });
const decide = (by: string, decision: 'approve' | 'deny' = 'approve', approvers = ['pat', 'quinn', 'alice', 'dave'], reason?: string) =>
  operate({ action: 'emergency-decision', pipeline: PIPELINE, change: 'c1', by, decision, reason, approvers });
const approvals = () => published().filter((e) => String(e.type).startsWith('approval.'));

describe('emergency requests', () => {
  it('takes a request (202) and publishes approval.requested with who and why, once however often it is retried', async () => {
    await expect(request()).resolves.toMatchObject({ status: 202, body: { emergency: 'requested', by: 'dave' } });
    await expect(request()).resolves.toMatchObject({ status: 202 });
    expect(approvals()).toEqual([
      expect.objectContaining({ type: 'approval.requested', pipeline: PIPELINE, change: 'c1', by: 'dave', reason: 'checkout is down for EU cards' }),
    ]);
    expect(db.emergency('c1')).toMatchObject({ state: 'requested', requestedBy: 'dave', announced: 'requested' });
  });

  it('refuses a request without a reason (400 naming the field), for an unknown change (404), and a second one while one is pending (409)', async () => {
    await expect(request('dave', ' ')).resolves.toMatchObject({ status: 400, problems: [{ field: 'reason' }] });
    await expect(operate({ action: 'emergency-request', pipeline: PIPELINE, change: 'nope', by: 'dave', reason: 'x' })).resolves.toMatchObject({ status: 404, reason: 'unknown-change', error: expect.any(String) });
    await request();
    await expect(request('erin', 'another reason')).resolves.toMatchObject({ status: 409 });
    expect(approvals()).toHaveLength(1);
  });

  it('refuses a request for a change already fast-tracked (409), and one that names no pipeline (400)', async () => {
    await request();
    await decide('pat', 'approve', ['pat']);
    await expect(request('erin', 'again')).resolves.toMatchObject({ status: 409, reason: 'already-fast-tracked', error: expect.any(String) });
    await expect(operate({ action: 'emergency-request', change: 'c1', by: 'dave', reason: 'x' })).resolves.toMatchObject({ status: 400, problems: [{ field: 'pipeline' }] });
  });

  it.each(['succeeded', 'failed', 'rejected'])('refuses a request for a change that has %s (409)', async (status) => {
    db.change('c1', { status });
    await expect(request()).resolves.toMatchObject({ status: 409, reason: 'change-over', error: expect.any(String) });
    expect(approvals()).toEqual([]);
  });
});

describe('emergency decisions', () => {
  it.each([
    ['the requester', 'dave', 'self-approval'],
    ['the requester, in other letters', 'Dave', 'self-approval'],
    ['the author', 'alice', 'self-approval'],
    ['a non-approver', 'bob', 'not-an-approver'],
  ])('refuses approval by %s: 403 with the reason, approval.denied published once, nothing changes', async (_who, by, reason) => {
    await request();
    openWaiters = [bake('wave-1-bake', 20 * MIN)];
    const before = db.emergency('c1');
    await expect(decide(by)).resolves.toMatchObject({ status: 403, reason });
    await expect(decide(by)).resolves.toMatchObject({ status: 403, reason });
    expect(approvals().map((e) => [e.type, e.by, e.reason])).toEqual([
      ['approval.requested', 'dave', 'checkout is down for EU cards'],
      ['approval.denied', by, reason],
    ]);
    expect(db.emergency('c1')).toMatchObject({ state: before!.state, requestedBy: 'dave' });
    expect(db.emergency('c1')!.decidedBy).toBeUndefined();
    expect(scheduler).not.toHaveReceivedCommand(CreateScheduleCommand);
  });

  it('compares names case-insensitively: Pat approves for approvers [pat] (200, approval.granted with the reason)', async () => {
    await request();
    await expect(decide('Pat', 'approve', ['pat'], 'incident INC-2041')).resolves.toMatchObject({ status: 200, body: { emergency: 'approved', by: 'Pat' } });
    expect(approvals().at(-1)).toMatchObject({ type: 'approval.granted', by: 'Pat', reason: 'incident INC-2041' });
    expect(db.emergency('c1')).toMatchObject({ state: 'approved', decidedBy: 'Pat' });
  });

  it('denies with the approver’s reason; a retried decision publishes nothing again', async () => {
    await request();
    await expect(decide('pat', 'deny', ['pat'], 'not an incident; ship it normally')).resolves.toMatchObject({ status: 200, body: { emergency: 'denied' } });
    await expect(decide('pat', 'deny', ['pat'], 'not an incident; ship it normally')).resolves.toMatchObject({ status: 200 });
    expect(approvals().filter((e) => e.type === 'approval.denied')).toEqual([expect.objectContaining({ by: 'pat', reason: 'not an incident; ship it normally' })]);
  });

  it('answers 409 to a decision without a pending request, and after the request was decided', async () => {
    await expect(decide('pat')).resolves.toMatchObject({ status: 409, reason: 'no-pending-request', error: expect.any(String) });
    await request();
    await decide('pat', 'approve', ['pat']);
    await expect(decide('quinn', 'deny', ['quinn'])).resolves.toMatchObject({ status: 409, reason: 'no-pending-request', error: expect.any(String) });
    expect(approvals().map((e) => e.type)).toEqual(['approval.requested', 'approval.granted']);
  });

  it('answers 409 to a decision for a change that is over, 404 for an unknown one', async () => {
    await request();
    db.change('c1', { status: 'failed' });
    await expect(decide('pat')).resolves.toMatchObject({ status: 409, reason: 'change-over', error: expect.any(String) });
    await expect(operate({ action: 'emergency-decision', pipeline: PIPELINE, change: 'nope', by: 'pat', decision: 'approve', approvers: ['pat'] })).resolves.toMatchObject({ status: 404 });
  });
});

const bake = (name: string, startedAgoMs: number, extra: Item = {}): Item => ({
  pk: `bake#${name}`,
  bakeId: name,
  kind: 'bake',
  status: 'OPEN',
  openShard: 'OPEN',
  pipeline: PIPELINE,
  change: 'c1',
  stage: 'wave-1',
  startedAt: NOW.getTime() - startedAgoMs,
  endsAt: NOW.getTime() - startedAgoMs + 60 * MIN,
  durationSeconds: 3600,
  emergencyFloorSeconds: 600,
  extensions: 0,
  ...extra,
});

describe('an approval reaches the running waits of the change', () => {
  const moved = () =>
    ddb.commandCalls(UpdateCommand, { TableName: 'waiters' }).map((c) => [c.args[0].input.Key!.pk, c.args[0].input.ExpressionAttributeValues![':endsAt']]);

  it('moves each bake’s end to its start + the floor (past already: now), ends window holds now, leaves blocker waits alone', async () => {
    openWaiters = [
      bake('young', 2 * MIN),
      bake('old', 25 * MIN),
      bake('hold', 0, { purpose: 'hold', endsAt: NOW.getTime() + 8 * 60 * MIN }),
      bake('blocker', 0, { purpose: 'blocker', endsAt: NOW.getTime() + 60 * MIN }),
      bake('no-floor', 2 * MIN, { emergencyFloorSeconds: undefined }),
    ];
    await request();
    await decide('pat', 'approve', ['pat']);
    expect(moved()).toEqual([
      ['bake#young', NOW.getTime() + 8 * MIN],
      ['bake#old', NOW.getTime() + 1000],
      ['bake#hold', NOW.getTime() + 1000],
    ]);
    expect(schedulesOf('bake-end')).toHaveLength(3);
    expect(scheduler).toHaveReceivedCommandWith(CreateScheduleCommand, { ScheduleExpression: 'at(2026-12-01T18:08:00)' });
    // Each moved end wakes the sweep just past it (core/sweeps.ts): 18:05 for the ends due now, 18:10 for 18:08.
    expect(schedulesOf('reconcile').map((i) => i.ScheduleExpression)).toEqual(['at(2026-12-01T18:10:00)', 'at(2026-12-01T18:05:00)', 'at(2026-12-01T18:05:00)']);
  });

  it('a bake that starts after the approval lasts the floor; one whose emergency record cannot be read keeps its length', async () => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'agg', StateValue: 'OK' }] });
    await request();
    await decide('pat', 'approve', ['pat']);
    await startBake(BAKE_INPUT);
    expect(published().at(-1)).toMatchObject({ type: 'bake.started', stage: 'beta', duration: 'PT10M' });
    ddb.on(GetCommand, { TableName: 'operators' }).rejects(new ResourceNotFoundException({ message: 'no such table', $metadata }));
    await startBake({ ...BAKE_INPUT, stage: 'gamma' });
    expect(published().at(-1)).toMatchObject({ type: 'bake.started', stage: 'gamma', duration: 'PT1H' });
  });
});

describe('the end of the emergency', () => {
  it('records the outcome, marks the emergency over and ends the waits it held; a change without one only gets its outcome', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});
    const held = bake('c2-hold', 0, { change: 'c2', purpose: 'blocker', token: 'held', blocker: { region: 'sa-east-1', name: emergencyHoldKey(PIPELINE), state: 'ALARM' }, watching: [emergencyHoldKey(PIPELINE)] });
    openWaiters = [held];
    ddb.on(UpdateCommand, { TableName: 'waiters' }).callsFake(() => ({ Attributes: { ...held, status: 'DONE', result: { ok: true, output: { cleared: emergencyHoldKey(PIPELINE) } } } }));
    await request();
    await decide('pat', 'approve', ['pat']);
    await notify({ type: 'change.completed', pipeline: PIPELINE, change: 'c1', fields: { mergedAt: '2026-12-01T09:00:00Z' } });
    expect(db.emergency('c1')).toMatchObject({ state: 'approved', over: true });
    expect(db.changeRecord('c1')).toMatchObject({ status: 'succeeded' });
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'held' });

    db.change('c3');
    sfn.resetHistory();
    await notify({ type: 'change.failed', pipeline: PIPELINE, change: 'c3', fields: { cause: 'x' } });
    expect(db.changeRecord('c3')).toMatchObject({ status: 'failed' });
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);
  });
});

describe('the gate of a production step while an emergency runs', () => {
  const emergency = (change: string, fields: Item = {}) => ({
    ...emergencyKey(PIPELINE, change),
    pipeline: PIPELINE,
    change,
    state: 'approved',
    announced: 'approved',
    requestedBy: 'dave',
    requestedAt: '2026-12-01T09:00:00Z',
    ...fields,
  });
  let operators: Item[];
  /** Changes with a wave-1 deployment (the deployments table). */
  let inProduction: Set<string>;
  beforeEach(() => {
    operators = [];
    inProduction = new Set();
    ddb.on(QueryCommand, { TableName: 'operators' }).callsFake(() => ({ Items: structuredClone(operators) }));
    ddb.on(QueryCommand, { TableName: 'deployments' }).callsFake((input) => ({
      Items: inProduction.has(String(input.ExpressionAttributeValues[':pk']).split('#')[1]) ? [{ pk: input.ExpressionAttributeValues[':pk'], sk: 'wave-1#sa-east-1#g' }] : [],
    }));
    ddb.on(QueryCommand, { TableName: 'holidays' }).resolves({ Items: [] });
    // Closed: the window opens only on Mondays.
    db.put('windows', { pk: PIPELINE, sk: '*', timeZone: 'UTC', days: ['MON'], start: '09:00', end: '17:00' });
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
  });
  const gate = (change: string, stage = 'wave-1') => checkWindow({ pipeline: PIPELINE, change, stage, region: 'sa-east-1', target: 'onebox' });

  it('does not hold the fast-tracked change by its window; another change still is', async () => {
    operators = [emergency('c1')];
    await expect(gate('c1')).resolves.toEqual({ open: true, blocked: false });
    await expect(gate('c2', 'wave-2')).resolves.toMatchObject({ open: false, reason: 'time-window' });
  });

  it('does not waive the window for an approval whose approval.granted was never published', async () => {
    operators = [emergency('c1', { announced: 'requested' })];
    await expect(gate('c1')).resolves.toMatchObject({ open: false, reason: 'time-window' });
  });

  it('holds a change that has not entered production while the fast-tracked one is in production (blocked: emergency-hold, naming it)', async () => {
    operators = [emergency('c1')];
    inProduction.add('c1');
    await expect(gate('c2')).resolves.toMatchObject({
      open: false,
      reason: 'emergency-hold',
      blockingAlarm: { region: 'sa-east-1', name: emergencyHoldKey(PIPELINE), state: 'ALARM' },
    });
    expect(published()).toEqual([expect.objectContaining({ type: 'blocked', change: 'c2', reason: 'emergency-hold', emergency: 'c1' })]);
    expect(published()[0]!.alarm).toBeUndefined();
  });

  it.each([
    ['the emergency is behind it (not in production yet: it could not pass)', () => inProduction.delete('c1'), 'wave-1'],
    ['it has entered production already', () => inProduction.add('c2'), 'wave-1'],
    ['its gate is past the first wave', () => undefined, 'wave-2'],
    ['the emergency is over', () => (operators = [emergency('c1', { over: true })]), 'wave-1'],
    ['the emergency is only requested', () => (operators = [emergency('c1', { state: 'requested' })]), 'wave-1'],
    ['the approval was never announced (no approval.granted)', () => (operators = [emergency('c1', { announced: 'requested' })]), 'wave-1'],
    ["the emergency's change is over (a final status) though its end was never settled", () => db.change('c1', { status: 'failed' }), 'wave-1'],
  ])('does not hold another change when %s', async (_why, given, stage) => {
    operators = [emergency('c1')];
    inProduction.add('c1');
    given();
    await expect(gate('c2', stage)).resolves.toMatchObject({ reason: 'time-window' });
  });

  it('fails closed when the operators table cannot be read', async () => {
    ddb.on(QueryCommand, { TableName: 'operators' }).rejects(new ResourceNotFoundException({ message: 'no such table', $metadata }));
    await expect(gate('c2')).rejects.toMatchObject({ name: 'BlockerUnavailable', message: expect.stringMatching(/operators/) });
  });
});
