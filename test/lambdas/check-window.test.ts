import { DescribeAlarmsCommand, ResourceNotFound } from '@aws-sdk/client-cloudwatch';
import { ProvisionedThroughputExceededException, ResourceNotFoundException } from '@aws-sdk/client-dynamodb';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import { checkWindow } from '../../lambdas/check-window/index.ts';
import { BLOCKER_RECHECK_SECONDS, type CheckWindowInput } from '../../core/contracts.ts';
import type { WindowItem } from '../../lambdas/shared/tables.ts';
import { $metadata, cloudWatch, ddb, events, published, useAwsMocks } from './support.ts';

/** A check blocked by an alarm at Tuesday 15:00Z answers: check again at the re-check time at the latest. */
const RECHECK_AT = new Date(Date.parse('2026-12-01T15:00:00Z') + BLOCKER_RECHECK_SECONDS * 1000).toISOString().replace('.000Z', 'Z');

useAwsMocks();

const pipeline = 'storefront-api';
const input = (region: string, extra: Partial<CheckWindowInput> = {}): CheckWindowInput => ({
  pipeline,
  change: 'c1',
  stage: 'wave-2',
  region,
  ...extra,
});

/** Windows: pipeline default (`*`) plus optional region items; holidays by pk. */
const given = (windows: Record<string, Omit<WindowItem, 'pk' | 'sk'>>, holidays: Record<string, string[]> = {}): void => {
  ddb.on(GetCommand).resolves({});
  for (const [sk, w] of Object.entries(windows)) {
    ddb.on(GetCommand, { TableName: 'windows', Key: { pk: pipeline, sk } }).resolves({ Item: { pk: pipeline, sk, ...w } });
  }
  ddb.on(QueryCommand).resolves({ Items: [] });
  for (const [pk, dates] of Object.entries(holidays)) {
    ddb
      .on(QueryCommand, { TableName: 'holidays', ExpressionAttributeValues: { ':pk': pk } })
      .resolves({ Items: dates.map((sk) => ({ pk, sk })) });
  }
};
const businessHours = { days: ['MON', 'TUE', 'WED', 'THU'] as WindowItem['days'], start: '09:00', end: '15:00' };

describe('check-window', () => {
  it('is open inside the region window, and says nothing', async () => {
    given({ 'us-east-1': { timeZone: 'America/New_York', ...businessHours } });
    vi.setSystemTime(new Date('2026-12-01T15:00:00Z')); // Tuesday 10:00 EST
    await expect(checkWindow(input('us-east-1'))).resolves.toEqual({ open: true, blocked: false });
    expect(published()).toEqual([]);
  });

  it('publishes unblocked once the window opens for a blocked step', async () => {
    given({ '*': { timeZone: 'America/New_York', ...businessHours } });
    vi.setSystemTime(new Date('2026-12-01T15:00:00Z'));
    await checkWindow(input('us-east-1', { wasBlocked: true }));
    expect(published()).toEqual([expect.objectContaining({ type: 'unblocked', reason: 'time-window', region: 'us-east-1', stage: 'wave-2' })]);
  });

  it('is closed after hours in the region zone, with the next opening', async () => {
    // 15:30 in Tokyo on Tuesday; in New York it is 01:30 on Tuesday: both closed, Tokyo opens Wednesday 09:00 JST.
    given({ '*': { timeZone: 'Asia/Tokyo', ...businessHours } });
    vi.setSystemTime(new Date('2026-12-01T06:30:00Z'));
    const out = await checkWindow(input('ap-northeast-1'));
    expect(out).toEqual({ open: false, blocked: true, nextOpening: '2026-12-02T00:00:00Z', reason: 'time-window', blockedReason: 'time-window' });
    expect(published()).toEqual([
      expect.objectContaining({ type: 'blocked', reason: 'time-window', until: '2026-12-02T00:00:00Z', region: 'ap-northeast-1', change: 'c1' }),
    ]);
  });

  it('is closed on the weekend and opens on Monday', async () => {
    given({ 'eu-west-1': { timeZone: 'Europe/Dublin', ...businessHours } });
    vi.setSystemTime(new Date('2026-12-05T10:00:00Z')); // Saturday
    await expect(checkWindow(input('eu-west-1'))).resolves.toMatchObject({ open: false, nextOpening: '2026-12-07T09:00:00Z' });
  });

  it('is closed on a pipeline holiday and on a region holiday', async () => {
    given({ '*': { timeZone: 'Europe/Dublin', ...businessHours } }, { [pipeline]: ['2026-12-24'], [`${pipeline}#eu-west-1`]: ['2026-12-28'] });
    vi.setSystemTime(new Date('2026-12-24T10:00:00Z')); // Thursday, a holiday; Monday 28 is a holiday in eu-west-1
    await expect(checkWindow(input('eu-west-1'))).resolves.toMatchObject({ open: false, nextOpening: '2026-12-29T09:00:00Z' });
  });

  it('finds the next opening across a DST change', async () => {
    given({ '*': { timeZone: 'America/New_York', ...businessHours, days: ['MON', 'TUE', 'WED', 'THU', 'FRI'] } });
    vi.setSystemTime(new Date('2026-03-06T21:00:00Z')); // Friday 16:00 EST; EDT from Sunday
    await expect(checkWindow(input('us-east-1'))).resolves.toMatchObject({ nextOpening: '2026-03-09T13:00:00Z' });
  });

  it('fails closed without a window item', async () => {
    given({});
    await expect(checkWindow(input('us-east-1'))).rejects.toMatchObject({
      name: 'WindowUnavailable',
      message: expect.stringMatching(/no deployment window for pipeline 'storefront-api' in region 'us-east-1'/),
    });
  });

  it('fails closed when the windows table cannot be read', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(GetCommand).rejects(new ResourceNotFoundException({ message: 'Requested resource not found', $metadata }));
    await expect(checkWindow(input('us-east-1'))).rejects.toMatchObject({ name: 'WindowUnavailable', message: expect.stringMatching(/ResourceNotFoundException/) });
    expect(published()).toEqual([]);
  });

  it('lets throttling through for the state machine to retry', async () => {
    ddb.on(QueryCommand).resolves({ Items: [] });
    ddb.on(GetCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata }));
    await expect(checkWindow(input('us-east-1'))).rejects.toBeInstanceOf(ProvisionedThroughputExceededException);
  });

  it('fails closed on an invalid window and on one that never opens', async () => {
    given({ '*': { timeZone: 'region', ...businessHours } });
    await expect(checkWindow(input('us-east-1'))).rejects.toMatchObject({ name: 'WindowUnavailable', message: expect.stringMatching(/timeZone: 'region' is not an IANA time zone/) });
    ddb.reset();
    given({ '*': { timeZone: 'UTC', ...businessHours, days: [] } });
    await expect(checkWindow(input('us-east-1'))).rejects.toMatchObject({ name: 'WindowUnavailable', message: expect.stringMatching(/days: lists no day, so the window never opens/) });
  });
});

describe('check-window blockers', () => {
  const team = 'storefront';
  const teamAlarm = 'handsoff-storefront-us-east-1-aggregate';
  const companyAlarm = 'handsoff-company-event-us-east-1';
  type State = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA' | undefined;
  /** The blockers' states (undefined: the alarm does not exist), and those of other metric alarms. */
  const blockers = (teamState: State, companyState: State, others: Record<string, State> = {}): void => {
    cloudWatch.on(DescribeAlarmsCommand).resolves({
      CompositeAlarms: teamState ? [{ AlarmName: teamAlarm, StateValue: teamState }] : [],
      MetricAlarms: [
        ...(companyState ? [{ AlarmName: companyAlarm, StateValue: companyState }] : []),
        ...Object.entries(others).flatMap(([AlarmName, StateValue]) => (StateValue ? [{ AlarmName, StateValue }] : [])),
      ],
    });
  };
  const open = (): void => {
    given({ '*': { timeZone: 'America/New_York', ...businessHours } });
    vi.setSystemTime(new Date('2026-12-01T15:00:00Z')); // Tuesday 10:00 EST
  };

  it('is blocked while the team aggregate alarm is in ALARM, naming it, re-checking at the re-check time at the latest, without reading the window', async () => {
    open();
    blockers('ALARM', 'OK');
    await expect(checkWindow(input('us-east-1', { team }))).resolves.toEqual({
      open: false,
      blocked: true,
      reason: 'team-alarm',
      blockedReason: 'team-alarm',
      nextOpening: RECHECK_AT,
      blockingAlarm: { region: 'us-east-1', name: teamAlarm, state: 'ALARM' },
    });
    expect(cloudWatch).toHaveReceivedCommandWith(DescribeAlarmsCommand, { AlarmNames: [teamAlarm, companyAlarm], AlarmTypes: ['MetricAlarm', 'CompositeAlarm'] });
    expect(ddb).not.toHaveReceivedCommand(GetCommand);
    expect(published()).toEqual([
      expect.objectContaining({ type: 'blocked', reason: 'team-alarm', stage: 'wave-2', region: 'us-east-1', change: 'c1' }),
    ]);
  });

  it('is blocked by a company event', async () => {
    open();
    blockers('OK', 'ALARM');
    await expect(checkWindow(input('us-east-1', { team }))).resolves.toMatchObject({
      open: false,
      reason: 'company-event',
      blockedReason: 'company-event',
      blockingAlarm: { region: 'us-east-1', name: companyAlarm },
    });
    expect(published()).toEqual([expect.objectContaining({ type: 'blocked', reason: 'company-event' })]);
  });

  it('publishes blocked once per reason, and unblocked with the previous reason when it clears', async () => {
    open();
    blockers('ALARM', 'OK');
    await checkWindow(input('us-east-1', { team, wasBlocked: true, blockedReason: 'team-alarm' }));
    expect(published()).toEqual([]);
    blockers('OK', 'OK');
    await expect(checkWindow(input('us-east-1', { team, wasBlocked: true, blockedReason: 'team-alarm' }))).resolves.toEqual({ open: true, blocked: false });
    expect(published()).toEqual([expect.objectContaining({ type: 'unblocked', reason: 'team-alarm', region: 'us-east-1' })]);
  });

  it('moves from one reason to another: unblocked, then blocked', async () => {
    given({ '*': { timeZone: 'America/New_York', ...businessHours } });
    vi.setSystemTime(new Date('2026-12-01T21:00:00Z')); // 16:00 EST: closed
    blockers('OK', 'OK');
    await expect(checkWindow(input('us-east-1', { team, wasBlocked: true, blockedReason: 'company-event' }))).resolves.toMatchObject({
      reason: 'time-window',
      nextOpening: '2026-12-02T14:00:00Z',
    });
    expect(published()).toEqual([
      expect.objectContaining({ type: 'unblocked', reason: 'company-event' }),
      expect.objectContaining({ type: 'blocked', reason: 'time-window', until: '2026-12-02T14:00:00Z' }),
    ]);
    // The window still closed on the next check (an old state machine only says wasBlocked): no new event.
    events.resetHistory();
    await checkWindow(input('us-east-1', { team, wasBlocked: true }));
    expect(published()).toEqual([]);
  });

  it('with `previous` (the state machine feeds back its whole output): blocked once per episode, unblocked once', async () => {
    open();
    blockers('ALARM', 'OK');
    // The first check of the gate: the state machine's initial value.
    const first = await checkWindow(input('us-east-1', { team, wasBlocked: false, previous: { open: false, blocked: false } }));
    expect(first).toMatchObject({ blocked: true, reason: 'team-alarm', blockingAlarm: { region: 'us-east-1', name: teamAlarm } });
    expect(published()).toEqual([expect.objectContaining({ type: 'blocked', reason: 'team-alarm' })]);

    // Re-checks while it still blocks (the state machine also passes wasBlocked, never blockedReason): silent.
    events.resetHistory();
    let previous = first;
    for (let i = 0; i < 3; i++) {
      vi.setSystemTime(Date.now() + BLOCKER_RECHECK_SECONDS * 1000);
      previous = await checkWindow(input('us-east-1', { team, wasBlocked: previous.blocked, previous }));
      expect(previous).toMatchObject({ blocked: true, reason: 'team-alarm' });
    }
    expect(published()).toEqual([]);

    // The team alarm clears while a company event starts: one transition.
    blockers('OK', 'ALARM');
    previous = await checkWindow(input('us-east-1', { team, wasBlocked: true, previous }));
    expect(previous).toMatchObject({ reason: 'company-event', blockingAlarm: { region: 'us-east-1', name: companyAlarm } });
    expect(published()).toEqual([
      expect.objectContaining({ type: 'unblocked', reason: 'team-alarm' }),
      expect.objectContaining({ type: 'blocked', reason: 'company-event' }),
    ]);

    // It clears: unblocked once, then nothing.
    events.resetHistory();
    blockers('OK', 'OK');
    previous = await checkWindow(input('us-east-1', { team, wasBlocked: true, previous }));
    expect(previous).toEqual({ open: true, blocked: false });
    expect(published()).toEqual([expect.objectContaining({ type: 'unblocked', reason: 'company-event', region: 'us-east-1' })]);
    events.resetHistory();
    await checkWindow(input('us-east-1', { team, wasBlocked: false, previous }));
    expect(published()).toEqual([]);
  });

  it('`previous` wins over wasBlocked and blockedReason; without a reason it was the window', async () => {
    open();
    blockers('ALARM', 'OK');
    // Without previous, wasBlocked alone means the window: the alarm is a new reason.
    await checkWindow(input('us-east-1', { team, wasBlocked: true }));
    expect(published().map((e) => `${e.type}:${e.reason}`)).toEqual(['unblocked:time-window', 'blocked:team-alarm']);
    events.resetHistory();
    await checkWindow(input('us-east-1', { team, wasBlocked: true, previous: { open: false, blocked: true, blockedReason: 'team-alarm' } }));
    expect(published()).toEqual([]);
    await checkWindow(input('us-east-1', { team, wasBlocked: true, blockedReason: 'team-alarm', previous: { open: true, blocked: false } }));
    expect(published().map((e) => `${e.type}:${e.reason}`)).toEqual(['blocked:team-alarm']);
  });

  it.each([
    ['the team aggregate', undefined, 'OK', teamAlarm],
    ['the company event alarm', 'OK', undefined, companyAlarm],
  ] as const)('holds while %s does not exist (alarm-missing), without reading the window, until it exists and is OK', async (_, teamState, companyState, missing) => {
    open();
    blockers(teamState, companyState);
    const first = await checkWindow(input('us-east-1', { team, previous: { open: false, blocked: false } }));
    expect(first).toEqual({
      open: false,
      blocked: true,
      reason: 'alarm-missing',
      blockedReason: 'alarm-missing',
      nextOpening: RECHECK_AT,
      blockingAlarm: { region: 'us-east-1', name: missing, state: 'MISSING' },
    });
    expect(ddb).not.toHaveReceivedCommand(GetCommand);
    expect(published()).toEqual([expect.objectContaining({ type: 'blocked', reason: 'alarm-missing', alarm: missing, region: 'us-east-1', change: 'c1' })]);

    // Created again, without data yet: still held, now for the data.
    events.resetHistory();
    blockers(teamState ?? 'INSUFFICIENT_DATA', companyState ?? 'INSUFFICIENT_DATA');
    const second = await checkWindow(input('us-east-1', { team, previous: first }));
    expect(second).toMatchObject({ open: false, reason: 'insufficient-data', blockingAlarm: { name: missing, state: 'INSUFFICIENT_DATA' } });
    expect(published().map((e) => `${e.type}:${e.reason}`)).toEqual(['unblocked:alarm-missing', 'blocked:insufficient-data']);

    // OK: open.
    events.resetHistory();
    blockers('OK', 'OK');
    await expect(checkWindow(input('us-east-1', { team, previous: second }))).resolves.toEqual({ open: true, blocked: false });
    expect(published()).toEqual([expect.objectContaining({ type: 'unblocked', reason: 'insufficient-data' })]);
  });

  it.each([
    ['the team aggregate', 'INSUFFICIENT_DATA', 'OK', teamAlarm],
    ['the company event alarm', 'OK', 'INSUFFICIENT_DATA', companyAlarm],
  ] as const)('holds while %s has no data (insufficient-data), then decides on its data', async (_, teamState, companyState, noData) => {
    open();
    blockers(teamState, companyState);
    const first = await checkWindow(input('us-east-1', { team, previous: { open: false, blocked: false } }));
    expect(first).toMatchObject({ open: false, blocked: true, reason: 'insufficient-data', blockingAlarm: { region: 'us-east-1', name: noData, state: 'INSUFFICIENT_DATA' } });
    expect(ddb).not.toHaveReceivedCommand(GetCommand);
    expect(published()).toEqual([expect.objectContaining({ type: 'blocked', reason: 'insufficient-data' })]);
    // Its data says ALARM: blocked as any alarm.
    events.resetHistory();
    blockers(teamState === 'OK' ? 'OK' : 'ALARM', companyState === 'OK' ? 'OK' : 'ALARM');
    await expect(checkWindow(input('us-east-1', { team, previous: first }))).resolves.toMatchObject({
      reason: noData === teamAlarm ? 'team-alarm' : 'company-event',
      blockingAlarm: { name: noData, state: 'ALARM' },
    });
  });

  it('names an alarm in ALARM before a missing one, and a missing one before one without data', async () => {
    open();
    blockers(undefined, 'ALARM');
    await expect(checkWindow(input('us-east-1', { team }))).resolves.toMatchObject({ reason: 'company-event' });
    blockers('INSUFFICIENT_DATA', undefined);
    await expect(checkWindow(input('us-east-1', { team }))).resolves.toMatchObject({ reason: 'alarm-missing', blockingAlarm: { name: companyAlarm } });
  });

  it("holds an open window while one of the step's alarms has no data, in the same DescribeAlarms as the blockers", async () => {
    open();
    const health = 'storefront-api-us-east-1-onebox-health';
    blockers('OK', 'OK', { [health]: 'INSUFFICIENT_DATA', faults: 'OK' });
    // The team aggregate is one of the step's alarms too: read once.
    const held = await checkWindow(input('us-east-1', { team, alarms: [teamAlarm, 'faults', health], previous: { open: false, blocked: false } }));
    expect(held).toEqual({
      open: false,
      blocked: true,
      reason: 'insufficient-data',
      blockedReason: 'insufficient-data',
      nextOpening: RECHECK_AT,
      blockingAlarm: { region: 'us-east-1', name: health, state: 'INSUFFICIENT_DATA' },
    });
    expect(cloudWatch).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 1);
    expect(cloudWatch).toHaveReceivedCommandWith(DescribeAlarmsCommand, { AlarmNames: [teamAlarm, companyAlarm, 'faults', health] });
    expect(published()).toEqual([expect.objectContaining({ type: 'blocked', reason: 'insufficient-data', region: 'us-east-1' })]);

    // It has data: open, unblocked.
    events.resetHistory();
    blockers('OK', 'OK', { [health]: 'OK', faults: 'OK' });
    await expect(checkWindow(input('us-east-1', { team, alarms: ['faults', health], previous: held }))).resolves.toEqual({ open: true, blocked: false });
    expect(published()).toEqual([expect.objectContaining({ type: 'unblocked', reason: 'insufficient-data' })]);
  });

  it('a pre-production step (window: false, no team): reads no window and no blockers, holds only on its alarms without data', async () => {
    ddb.on(GetCommand).rejects(new Error('no window table for pre-production'));
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'beta-health', StateValue: 'INSUFFICIENT_DATA' }, { AlarmName: 'beta-faults', StateValue: 'OK' }] });
    const pre = input('us-west-2', { stage: 'beta', window: false, alarms: ['beta-faults', 'beta-health'], previous: { open: false, blocked: false } });
    const held = await checkWindow(pre);
    expect(held).toMatchObject({ open: false, reason: 'insufficient-data', blockingAlarm: { region: 'us-west-2', name: 'beta-health', state: 'INSUFFICIENT_DATA' } });
    expect(cloudWatch).toHaveReceivedCommandWith(DescribeAlarmsCommand, { AlarmNames: ['beta-faults', 'beta-health'] });
    expect(published()).toEqual([expect.objectContaining({ type: 'blocked', reason: 'insufficient-data', stage: 'beta', region: 'us-west-2' })]);
    cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: 'beta-health', StateValue: 'OK' }, { AlarmName: 'beta-faults', StateValue: 'OK' }] });
    await expect(checkWindow({ ...pre, previous: held })).resolves.toEqual({ open: true, blocked: false });
    expect(ddb).not.toHaveReceivedCommand(GetCommand);
  });

  it("lets the window speak first: closed, the step's alarms without data do not matter yet", async () => {
    given({ '*': { timeZone: 'America/New_York', ...businessHours } });
    vi.setSystemTime(new Date('2026-12-01T21:00:00Z')); // 16:00 EST: closed
    blockers('OK', 'OK', { faults: 'INSUFFICIENT_DATA' });
    await expect(checkWindow(input('us-east-1', { team, alarms: ['faults'] }))).resolves.toMatchObject({ reason: 'time-window' });
  });

  it('fails closed when the alarms cannot be read, but lets throttling through', async () => {
    open();
    cloudWatch.on(DescribeAlarmsCommand).rejects(new ResourceNotFound({ message: 'nope', $metadata }));
    await expect(checkWindow(input('us-east-1', { team }))).rejects.toMatchObject({ name: 'BlockerUnavailable' });
    cloudWatch.on(DescribeAlarmsCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    await expect(checkWindow(input('us-east-1', { team }))).rejects.toMatchObject({ name: 'Throttling' });
  });

  it('checks no blockers without a team', async () => {
    open();
    await checkWindow(input('us-east-1'));
    expect(cloudWatch).not.toHaveReceivedCommand(DescribeAlarmsCommand);
  });
});
