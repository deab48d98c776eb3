/**
 * Overrides through the real handlers: the operator handler refuses a bad override naming
 * every field, applies a good one once however often it is retried (one item, one
 * `override.applied`, one expiry schedule), wakes the blocker wait it concerns, and expires it
 * once. Gates set the overridden blocker aside until `expires` and say who and why; an
 * operators table that cannot be read sets nothing aside (fail closed).
 */
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { ConditionalCheckFailedException, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { CreateScheduleCommand } from '@aws-sdk/client-scheduler';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { checkWindow } from '../../lambdas/check-window/index.ts';
import { operate } from '../../lambdas/operator/index.ts';
import { reconcile } from '../../lambdas/reconcile/index.ts';
import type { CheckWindowInput } from '../../core/contracts.ts';
import { OPERATORS_PK } from '../../core/operator-items.ts';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { $metadata, cloudWatch, ddb, events, fakeWaiters, marshalled, published, scheduler, sfn, useAwsMocks } from './support.ts';

useAwsMocks();

const region = 'sa-east-1';
const company = `handsoff-company-event-${region}`;
const aggregate = `handsoff-storefront-${region}-aggregate`;
const at = '2026-12-01T18:00:00Z'; // support.ts NOW
const expires = '2026-12-02T06:00:00.000Z';
const override = {
  action: 'override' as const,
  blocker: 'company-event',
  region,
  change: 'c1',
  by: 'dave',
  reason: 'the checkout fix must ship during the sale',
  expires,
};

/** The operators table in memory: conditional puts and updates as the handler uses them. */
const fakeOperators = (): Map<string, Record<string, unknown>> => {
  const items = new Map<string, Record<string, unknown>>();
  const conflict = (item?: Record<string, unknown>) =>
    new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata, Item: item ? marshalled(item) : undefined });
  const waiters = ddb.on(PutCommand);
  waiters.callsFake((input) => {
    if (input.TableName !== 'operators') return {};
    const existing = items.get(input.Item.sk);
    if (existing) throw conflict(existing);
    items.set(input.Item.sk, structuredClone(input.Item));
    return {};
  });
  ddb.on(UpdateCommand, { TableName: 'operators' }).callsFake((input) => {
    const item = items.get(input.Key.sk);
    const attribute = input.ExpressionAttributeNames['#a'];
    if (!item || item[attribute] !== undefined) throw conflict(item);
    item[attribute] = input.ExpressionAttributeValues[':now'];
    return {};
  });
  ddb.on(GetCommand, { TableName: 'operators' }).callsFake((input) => ({ Item: structuredClone(items.get(input.Key.sk)) }));
  ddb.on(QueryCommand, { TableName: 'operators' }).callsFake(() => ({ Items: [...items.values()].map((i) => structuredClone(i)) }));
  return items;
};

/** The open-waiters index as the override's wake reads it (blocker waits and holds). */
const wakeIndex = (store: Map<string, Record<string, any>>): void => {
  ddb.on(QueryCommand, { TableName: 'waiters', FilterExpression: '#purpose IN (:blocker, :hold)' }).callsFake(() => ({
    Items: [...store.values()].filter((w) => w.openShard === 'OPEN' && ['blocker', 'hold'].includes(w.purpose)).map((w) => structuredClone(w)),
  }));
};

const alarmStates = (states: Record<string, 'OK' | 'ALARM'>): void => {
  cloudWatch.on(DescribeAlarmsCommand).resolves({
    CompositeAlarms: Object.entries(states).filter(([n]) => n.endsWith('-aggregate')).map(([AlarmName, StateValue]) => ({ AlarmName, StateValue })),
    MetricAlarms: Object.entries(states).filter(([n]) => !n.endsWith('-aggregate')).map(([AlarmName, StateValue]) => ({ AlarmName, StateValue })),
  });
};

const gate = (extra: Partial<CheckWindowInput> = {}): CheckWindowInput => ({
  pipeline: 'storefront-api',
  change: 'c1',
  stage: 'wave-1',
  region,
  target: 'onebox',
  team: 'storefront',
  window: false,
  ...extra,
});

let operators: Map<string, Record<string, unknown>>;
beforeEach(() => {
  // c1 was merged in storefront-api: an override naming it alone is for that pipeline.
  ddb.on(ScanCommand, { TableName: 'changes' }).resolves({ Items: [{ pipeline: 'storefront-api' }] });
  scheduler.on(CreateScheduleCommand).resolves({});
  sfn.on(SendTaskSuccessCommand).resolves({});
  wakeIndex(fakeWaiters([]));
  operators = fakeOperators();
});

describe('operator: override', () => {
  it('refuses a bad override with 400, naming every field at once, and changes nothing', async () => {
    const result = await operate({ action: 'override', blocker: 'lane', region, by: '', reason: ' ', expires: '2026-12-03T18:00:00Z' });
    expect(result.status).toBe(400);
    const problems = (result as { problems: Array<{ field: string; message: string }> }).problems;
    expect(problems.map((p) => p.field).sort()).toEqual(['blocker', 'by', 'expires', 'reason']);
    expect(problems.find((p) => p.field === 'expires')!.message).toContain('at most 24 h');
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
    expect(published()).toEqual([]);
    expect(scheduler).not.toHaveReceivedCommand(CreateScheduleCommand);
  });

  it("answers with `error` the message that says what to fix and `reason` the machine code", async () => {
    const bad = await operate({ ...override, by: '' });
    expect(bad).toMatchObject({ status: 400, reason: 'invalid-request', error: expect.stringContaining("by: missing required field 'by'") });
    await expect(operate({ action: 'expire-override', id: 'nope' } as never)).resolves.toMatchObject({ status: 404, reason: 'unknown-override', error: expect.stringContaining("no override 'nope'") });
  });

  it("carries the change's pipeline, resolved from the changes table, and refuses a change no pipeline merged (400 naming change)", async () => {
    await operate(override);
    expect(published().find((e) => e.type === 'override.applied')).toMatchObject({ pipeline: 'storefront-api', change: 'c1' });
    expect(ddb).toHaveReceivedCommandWith(ScanCommand, { TableName: 'changes', ExpressionAttributeValues: { ':change': 'c1', ':started': 'started' } });
    ddb.on(ScanCommand, { TableName: 'changes' }).resolves({ Items: [] });
    const unknown = await operate({ ...override, change: 'c9' });
    expect(unknown).toMatchObject({ status: 400, reason: 'invalid-request', problems: [expect.objectContaining({ field: 'change', message: expect.stringContaining("no change 'c9'") })] });
    // With its pipeline named, an override may come ahead of the change's merge.
    await expect(operate({ ...override, change: 'c9', pipeline: 'storefront-api' })).resolves.toMatchObject({ status: 201 });
    expect(operators.size).toBe(2);
  });

  it('takes no effect until override.applied is published; a retry of the request finishes it', async () => {
    alarmStates({ [company]: 'ALARM', [aggregate]: 'OK' });
    events.on(PutEventsCommand).rejectsOnce(Object.assign(new Error('EventBridge unreachable'), { name: 'InternalException' })).resolves({ FailedEntryCount: 0, Entries: [] });
    await expect(operate(override)).rejects.toThrow('EventBridge unreachable');
    expect(operators.size).toBe(1);
    // Written, not announced: no gate honours it.
    await expect(checkWindow(gate())).resolves.toMatchObject({ open: false, reason: 'company-event' });
    await expect(operate(override)).resolves.toMatchObject({ status: 201 });
    // Asked of EventBridge twice (the failed attempt, then the retry): it took the retry's.
    expect(published().filter((e) => e.type === 'override.applied')).toHaveLength(2);
    expect([...operators.values()][0]).toMatchObject({ announcedAt: expect.any(String) });
    await expect(checkWindow(gate())).resolves.toMatchObject({ open: true });
  });

  it('refuses an expiry in the past and one that is not a UTC time', async () => {
    for (const bad of ['2026-12-01T17:00:00Z', 'tomorrow']) {
      const result = await operate({ ...override, expires: bad });
      expect(result).toMatchObject({ status: 400, problems: [expect.objectContaining({ field: 'expires' })] });
    }
  });

  it('applies an override once however often the request is retried: one item, one override.applied, one expiry schedule', async () => {
    const first = await operate(override);
    const retry = await operate(override);
    expect(first).toMatchObject({ status: 201, body: { override: { blocker: 'company-event', region, change: 'c1', by: 'dave', expires } } });
    expect(retry).toMatchObject({ status: 201, body: { replayed: true } });
    expect(operators.size).toBe(1);
    expect([...operators.values()][0]).toMatchObject({ pk: OPERATORS_PK, appliedAt: new Date(at).toISOString() });
    expect(published().filter((e) => e.type === 'override.applied')).toEqual([
      expect.objectContaining({ blocker: 'company-event', by: 'dave', reason: override.reason, expires, region, change: 'c1' }),
    ]);
    expect(scheduler).toHaveReceivedCommandTimes(CreateScheduleCommand, 1);
    const schedule = scheduler.commandCalls(CreateScheduleCommand)[0]!.args[0].input;
    expect(schedule.ScheduleExpression).toBe('at(2026-12-02T06:00:00)');
    expect(schedule.Target?.Arn).toContain(':function:operator');
    expect(JSON.parse(schedule.Target!.Input!)).toEqual({ action: 'expire-override', id: (first as unknown as { body: { override: { id: string } } }).body.override.id });
  });

  it('publishes override.expired once at its expiry, however often its schedule fires, and not before', async () => {
    const applied = (await operate(override)) as unknown as { body: { override: { id: string } } };
    const id = applied.body.override.id;
    await expect(operate({ action: 'expire-override', id } as never)).resolves.toMatchObject({ status: 409 });
    vi.setSystemTime(new Date(expires));
    await operate({ action: 'expire-override', id } as never);
    await operate({ action: 'expire-override', id } as never);
    expect(published().filter((e) => e.type === 'override.expired')).toEqual([expect.objectContaining({ by: 'dave', blocker: 'company-event', expires })]);
  });

  it('wakes the blocker wait it concerns at once, once', async () => {
    const store = fakeWaiters([
      {
        pk: 'bake#w1', kind: 'bake', bakeId: 'w1', status: 'OPEN', openShard: 'OPEN', token: 'wait-token', purpose: 'blocker',
        pipeline: 'storefront-api', change: 'c1', stage: 'wave-1', region, target: 'onebox', alarms: [], endsAt: Date.parse('2026-12-01T18:15:00Z'),
        blocker: { region, name: company, state: 'ALARM' }, gate: { team: 'storefront', window: false },
      },
      {
        // Another change's wait: not in the override's scope.
        pk: 'bake#w2', kind: 'bake', bakeId: 'w2', status: 'OPEN', openShard: 'OPEN', token: 'other-token', purpose: 'blocker',
        pipeline: 'storefront-api', change: 'c2', stage: 'wave-1', region, target: 'onebox', alarms: [], endsAt: Date.parse('2026-12-01T18:15:00Z'),
        blocker: { region, name: company, state: 'ALARM' }, gate: { team: 'storefront', window: false },
      },
    ]);
    wakeIndex(store);
    operators = fakeOperators();
    alarmStates({ [company]: 'ALARM', [aggregate]: 'OK' });
    await operate(override);
    await operate(override);
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, { taskToken: 'wait-token' });
    expect(store.get('bake#w2')!.status).toBe('OPEN');
  });
});

describe("an override's lost wake", () => {
  const blockerWait = (pk: string, change: string, token: string) => ({
    pk, kind: 'bake', bakeId: pk.slice('bake#'.length), status: 'OPEN', openShard: 'OPEN', token, purpose: 'blocker', extensions: 0,
    pipeline: 'storefront-api', change, stage: 'wave-1', region, target: 'onebox', alarms: [], endsAt: Date.parse('2026-12-02T02:00:00Z'),
    blocker: { region, name: company, state: 'ALARM' }, gate: { team: 'storefront', window: false },
  });

  it("is the reconciler's: its next sweep ends the blocker wait the announced override sets aside, once, and no other", async () => {
    const store = fakeWaiters([blockerWait('bake#w1', 'c1', 'wait-token'), blockerWait('bake#w2', 'c2', 'other-token')]);
    operators = fakeOperators();
    alarmStates({ [company]: 'ALARM', [aggregate]: 'OK' });
    // The apply's wake fails once (after the override is announced) and no one retries the request.
    let wakeFails = true;
    ddb.on(QueryCommand, { TableName: 'waiters' }).callsFake((input) => {
      if (String(input.FilterExpression).startsWith('#purpose IN') && wakeFails) {
        wakeFails = false;
        throw Object.assign(new Error('connection reset'), { name: 'NetworkingError' });
      }
      return { Items: [...store.values()].filter((w) => w.openShard === 'OPEN').map((w) => structuredClone(w)) };
    });
    await operate(override).catch(() => undefined);
    expect(published().filter((e) => e.type === 'override.applied')).toHaveLength(1);
    expect(sfn).not.toHaveReceivedCommand(SendTaskSuccessCommand);

    await expect(reconcile()).resolves.toMatchObject({ checked: 2, completed: 1, failed: 0 });
    expect(sfn).toHaveReceivedCommandExactlyOnceWith(SendTaskSuccessCommand, {
      taskToken: 'wait-token',
      output: JSON.stringify({ bakeId: 'w1', purpose: 'blocker', until: '2026-12-02T02:00:00.000Z' }),
    });
    expect(store.get('bake#w2')!.status).toBe('OPEN');
    await reconcile();
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
  });

  it('costs a sweep no read of the operators table while no blocker wait is open', async () => {
    const store = fakeWaiters([{ ...blockerWait('bake#w1', 'c1', 'wait-token'), purpose: 'bake', blocker: undefined, alarms: [{ region, name: aggregate }] }]);
    ddb.on(QueryCommand, { TableName: 'waiters' }).callsFake(() => ({ Items: [...store.values()].map((w) => structuredClone(w)) }));
    alarmStates({ [company]: 'OK', [aggregate]: 'OK' });
    await operate(override);
    ddb.resetHistory();
    await reconcile();
    expect(ddb.commandCalls(QueryCommand).filter((c) => c.args[0].input.TableName === 'operators')).toEqual([]);
  });
});

describe('gates with overrides', () => {
  it('opens a gate held by a company event for the change the override names, saying who and why, and holds again after expiry', async () => {
    alarmStates({ [company]: 'ALARM', [aggregate]: 'OK' });
    await operate(override);
    const previous = { open: false, blocked: true, reason: 'company-event', blockedReason: 'company-event' };
    await expect(checkWindow(gate({ previous }))).resolves.toMatchObject({ open: true });
    expect(published().filter((e) => e.type === 'unblocked')).toEqual([
      expect.objectContaining({ reason: 'company-event', region, change: 'c1', override: expect.objectContaining({ by: 'dave', reason: override.reason, blocker: 'company-event' }) }),
    ]);
    // Another change, another region: still held.
    await expect(checkWindow(gate({ change: 'c2' }))).resolves.toMatchObject({ open: false, reason: 'company-event' });
    // At expiry the blocker holds again.
    vi.setSystemTime(new Date(expires));
    await expect(checkWindow(gate({ stage: 'wave-1', unit: 'sae1-az1', target: 'fleet' }))).resolves.toMatchObject({ open: false, reason: 'company-event' });
  });

  it('names the override when it ends a company-event block that the closed window then holds', async () => {
    alarmStates({ [company]: 'ALARM', [aggregate]: 'OK' });
    await operate(override);
    // Tuesday 18:00Z is 15:00 in São Paulo: after its 09:00-15:00 window.
    ddb.on(GetCommand, { TableName: 'windows' }).resolves({ Item: { pk: 'storefront-api', sk: region, timeZone: 'America/Sao_Paulo', days: ['MON', 'TUE', 'WED', 'THU'], start: '09:00', end: '15:00' } });
    ddb.on(QueryCommand, { TableName: 'holidays' }).resolves({ Items: [] });
    const previous = { open: false, blocked: true, reason: 'company-event', blockedReason: 'company-event' };
    await expect(checkWindow(gate({ window: undefined, previous }))).resolves.toMatchObject({ open: false, reason: 'time-window' });
    expect(published().filter((e) => e.type === 'unblocked' || e.type === 'blocked')).toEqual([
      expect.objectContaining({ type: 'unblocked', reason: 'company-event', override: expect.objectContaining({ by: 'dave' }) }),
      expect.objectContaining({ type: 'blocked', reason: 'time-window' }),
    ]);
  });

  it("sets aside only the team aggregate's ALARM of the time it was applied, never a later one", async () => {
    const teamOverride = { ...override, blocker: 'team-alarm', change: undefined };
    const aggregateAlarm = (since: string) =>
      cloudWatch.on(DescribeAlarmsCommand).resolves({
        CompositeAlarms: [{ AlarmName: aggregate, StateValue: 'ALARM', StateTransitionedTimestamp: new Date(since), StateUpdatedTimestamp: new Date(since) }],
        MetricAlarms: [{ AlarmName: company, StateValue: 'OK' }],
      });
    await operate(teamOverride); // at 18:00
    aggregateAlarm('2026-12-01T17:10:00Z'); // already alarming at 18:00: set aside
    await expect(checkWindow(gate())).resolves.toMatchObject({ open: true, overrides: [expect.stringContaining('team-alarm|')] });
    aggregateAlarm('2026-12-01T18:20:00Z'); // a new ALARM after the override: it holds
    await expect(checkWindow(gate({ change: 'c2' }))).resolves.toMatchObject({ open: false, reason: 'team-alarm' });
  });

  it("names no override in the unblocked of a window that opened by itself, even with a team alarm set aside", async () => {
    await operate({ ...override, blocker: 'team-alarm', change: undefined });
    cloudWatch.on(DescribeAlarmsCommand).resolves({
      CompositeAlarms: [{ AlarmName: aggregate, StateValue: 'ALARM', StateTransitionedTimestamp: new Date('2026-12-01T17:10:00Z') }],
      MetricAlarms: [{ AlarmName: company, StateValue: 'OK' }],
    });
    // 18:00Z is 15:00 in São Paulo: inside a 09:00-17:00 window.
    ddb.on(GetCommand, { TableName: 'windows' }).resolves({ Item: { pk: 'storefront-api', sk: region, timeZone: 'America/Sao_Paulo', days: ['MON', 'TUE', 'WED', 'THU'], start: '09:00', end: '17:00' } });
    ddb.on(QueryCommand, { TableName: 'holidays' }).resolves({ Items: [] });
    const previous = { open: false, blocked: true, reason: 'time-window', blockedReason: 'time-window' };
    await expect(checkWindow(gate({ window: undefined, previous }))).resolves.toMatchObject({ open: true });
    const unblocked = published().filter((e) => e.type === 'unblocked');
    expect(unblocked).toEqual([expect.objectContaining({ reason: 'time-window' })]);
    expect(unblocked[0]).not.toHaveProperty('override');
    expect(unblocked[0]).not.toHaveProperty('overrides');
  });

  it('does not set aside a blocker that is missing (only one in ALARM is overridable)', async () => {
    alarmStates({ [aggregate]: 'OK' });
    await operate(override);
    await expect(checkWindow(gate())).resolves.toMatchObject({ open: false, reason: 'alarm-missing' });
  });

  it('reads the operators table only when an overridable blocker holds', async () => {
    alarmStates({ [company]: 'OK', [aggregate]: 'OK' });
    await expect(checkWindow(gate())).resolves.toMatchObject({ open: true });
    expect(ddb).not.toHaveReceivedCommandWith(QueryCommand, { TableName: 'operators' });
  });

  it.each([
    ['throttled', new ProvisionedThroughputExceededException({ message: 'slow down', $metadata })],
    ['unreadable', Object.assign(new Error('User is not authorized to perform: dynamodb:Query'), { name: 'AccessDeniedException' })],
  ])('holds the gate when the operators table is %s (fail closed), without failing the step', async (_, error) => {
    alarmStates({ [company]: 'ALARM', [aggregate]: 'OK' });
    await operate(override);
    ddb.on(QueryCommand, { TableName: 'operators' }).rejects(error);
    await expect(checkWindow(gate())).resolves.toMatchObject({ open: false, reason: 'company-event' });
  });
});
