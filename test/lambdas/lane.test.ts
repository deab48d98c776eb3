import { DescribeExecutionCommand, SendTaskSuccessCommand, TaskTimedOut } from '@aws-sdk/client-sfn';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { handler as laneHandler, lane } from '../../lambdas/lane/index.ts';
import { reconcile } from '../../lambdas/reconcile/index.ts';
import { handOver, markLanesInUse, releaseHolder } from '../../lambdas/shared/lanes.ts';
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { $metadata, ddb, events, NEXT_SWEEP, published, sfn, invokeHandler, useAwsMocks } from './support.ts';

useAwsMocks();

/** A tiny lanes table behind the mocked document client, with the handler's conditions. */
const marker: { current?: Record<string, any> } = {};
/** Runs once, just before the next write of a lane's holder (a race a test stages). */
const beforeHold: { run?: () => void } = {};
const lanesTable = () => {
  const items = new Map<string, Record<string, any>>();
  marker.current = undefined;
  const key = (pk: string, sk: string) => `${pk}|${sk}`;
  const conflict = () => new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata });
  ddb.on(PutCommand).callsFake((input) => {
    const race = input.Item.sk === 'holder' ? beforeHold.run : undefined;
    beforeHold.run = undefined;
    race?.();
    const k = key(input.Item.pk, input.Item.sk);
    const existing = items.get(k);
    if (input.ConditionExpression && existing && existing.change !== input.ExpressionAttributeValues[':change']) throw conflict();
    items.set(k, structuredClone(input.Item));
    return {};
  });
  // No change here has an approved emergency (the reconciler ends those of ended executions).
  ddb.on(UpdateCommand, { TableName: 'operators' }).rejects(conflict());
  // A batching lane's order floor (sk `last`): raised unless a change merged later holds it.
  ddb.on(UpdateCommand, { TableName: 'lanes' }).callsFake((input) => {
    const k = key(input.Key.pk, input.Key.sk);
    const v = input.ExpressionAttributeValues;
    // As DynamoDB answers once the client dropped an undefined value: the expression names a value it lacks.
    if (v[':mergedAt'] === undefined) throw Object.assign(new Error('An expression attribute value used in expression is not defined'), { name: 'ValidationException' });
    const existing = items.get(k);
    if (existing && existing.change !== v[':change'] && existing.mergedAt > v[':mergedAt']) throw conflict();
    items.set(k, { ...input.Key, change: v[':change'], mergedAt: v[':mergedAt'], pipeline: v[':pipeline'], stage: v[':stage'] });
    return {};
  });
  ddb.on(GetCommand, { TableName: 'lanes' }).callsFake((input) => ({ Item: structuredClone(items.get(key(input.Key.pk, input.Key.sk))) }));
  ddb.on(UpdateCommand, { TableName: 'waiters' }).callsFake((input) => {
    // The reconciler's record of its look at the lanes: never creates the marker.
    if (String(input.UpdateExpression).includes('#sweptAt')) {
      if (!marker.current) throw conflict();
      marker.current = { ...marker.current, sweptAt: input.ExpressionAttributeValues[':at'] };
      return {};
    }
    // The lanes marker (core/tables.ts LANES_MARKER_KEY): touched by every acquire and release.
    const m = marker.current ?? { pk: input.Key.pk, touches: 0 };
    marker.current = { ...m, openShard: 'OPEN', touchedAt: input.ExpressionAttributeValues[':now'], touches: m.touches + 1 };
    return {};
  });
  ddb.on(DeleteCommand).callsFake((input) => {
    if (input.TableName === 'waiters') {
      // The condition as DynamoDB evaluates it: every attribute it names must match.
      const values = input.ExpressionAttributeValues;
      const checksTime = String(input.ConditionExpression).includes('#touchedAt');
      if (marker.current?.touches !== values[':touches'] || (checksTime && marker.current?.touchedAt !== values[':touchedAt'])) throw conflict();
      marker.current = undefined;
      return {};
    }
    const k = key(input.Key.pk, input.Key.sk);
    const existing = items.get(k);
    if (input.ConditionExpression && existing?.change !== input.ExpressionAttributeValues[':change']) throw conflict();
    items.delete(k);
    return {};
  });
  ddb.on(ScanCommand, { TableName: 'lanes' }).callsFake(() => ({ Items: structuredClone([...items.values()]) }));
  ddb.on(QueryCommand).callsFake((input) => {
    if (input.TableName !== 'lanes') return { Items: marker.current ? [structuredClone(marker.current)] : [] };
    const v = input.ExpressionAttributeValues;
    // By sort key, by the waits' prefix, or (release batching) the whole partition.
    const found = [...items.values()].filter((i) => i.pk === v[':pk'] && (v[':sk'] ? i.sk === v[':sk'] : v[':wait'] ? i.sk.startsWith(v[':wait']) : true));
    return { Items: structuredClone(found) };
  });
  return items;
};

const tokensSent = () => sfn.commandCalls(SendTaskSuccessCommand).map((c) => c.args[0].input.taskToken);

describe('lane', () => {
  let items: Map<string, Record<string, any>>;
  beforeEach(() => {
    items = lanesTable();
    sfn.on(SendTaskSuccessCommand).resolves({});
  });

  it('gives a free lane at once', async () => {
    await expect(lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'wave-1', taskToken: 't1' })).resolves.toEqual({ held: true });
    expect(tokensSent()).toEqual(['t1']);
    expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c1' });
  });

  it('makes a second change wait, blocked: lane, and hands it the lane on release', async () => {
    await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'wave-1', taskToken: 't1' });
    await expect(lane({ action: 'acquire', pipeline: 'p', change: 'c2', stage: 'wave-1', taskToken: 't2' })).resolves.toEqual({ held: false });
    expect(tokensSent()).toEqual(['t1']);
    expect(published()).toEqual([expect.objectContaining({ type: 'blocked', reason: 'lane', change: 'c2', stage: 'wave-1' })]);

    await lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['wave-1'] });
    expect(tokensSent()).toEqual(['t1', 't2']);
    expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c2' });
    expect(items.has('p#wave-1|wait#c2')).toBe(false);
    expect(published().at(-1)).toMatchObject({ type: 'unblocked', reason: 'lane', change: 'c2' });
  });

  it('is idempotent: a retried acquire by the holder succeeds, a retried release changes nothing', async () => {
    await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'gamma', taskToken: 't1' });
    await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'gamma', taskToken: 't1-retry' });
    expect(tokensSent()).toEqual(['t1', 't1-retry']);
    await lane({ action: 'acquire', pipeline: 'p', change: 'c2', stage: 'gamma', taskToken: 't2' });
    await lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['gamma'] });
    await expect(lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['gamma'] })).resolves.toEqual({ released: [] });
    // c2 got the lane exactly once and still holds it
    expect(tokensSent().filter((t) => t === 't2')).toHaveLength(1);
    expect(items.get('p#gamma|holder')).toMatchObject({ change: 'c2' });
  });

  it('hands the lane to the change that has waited longest', async () => {
    await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'beta', taskToken: 't1' });
    await lane({ action: 'acquire', pipeline: 'p', change: 'c3', stage: 'beta', taskToken: 't3' });
    items.get('p#beta|wait#c3')!.enqueuedAt = '2026-12-01T17:00:00.000Z';
    await lane({ action: 'acquire', pipeline: 'p', change: 'c2', stage: 'beta', taskToken: 't2' });
    items.get('p#beta|wait#c2')!.enqueuedAt = '2026-12-01T17:30:00.000Z';
    await lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['beta'] });
    expect(tokensSent()).toEqual(['t1', 't3']);
  });

  it('tells the next change before dropping its wait entry: a failing publish cannot strand it', async () => {
    await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'wave-1', taskToken: 't1' });
    await lane({ action: 'acquire', pipeline: 'p', change: 'c2', stage: 'wave-1', taskToken: 't2' });
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure', ErrorMessage: 'boom' }] });
    await expect(lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['wave-1'] })).rejects.toMatchObject({ name: 'PublishFailed' });
    expect(tokensSent()).toEqual(['t1', 't2']);
    expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c2' });
    expect(items.has('p#wave-1|wait#c2')).toBe(false);
  });

  it('a retried release sends the token again when the next change holds the lane but still waits', async () => {
    await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'wave-1', taskToken: 't1' });
    await lane({ action: 'acquire', pipeline: 'p', change: 'c2', stage: 'wave-1', taskToken: 't2' });
    // An earlier release took the lane for c2, then failed before telling it.
    items.set('p#wave-1|holder', { pk: 'p#wave-1', sk: 'holder', change: 'c2', since: '2026-12-01T17:59:00.000Z' });
    await expect(lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['wave-1'] })).resolves.toEqual({ released: [] });
    expect(tokensSent()).toEqual(['t1', 't2']);
    expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c2' });
    expect(items.has('p#wave-1|wait#c2')).toBe(false);
    expect(published().at(-1)).toMatchObject({ type: 'unblocked', reason: 'lane', change: 'c2' });
  });

  it('hands the lane past a waiting change whose task no longer waits (its execution ended)', async () => {
    await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'beta', taskToken: 't1' });
    await lane({ action: 'acquire', pipeline: 'p', change: 'c2', stage: 'beta', taskToken: 't2' });
    items.get('p#beta|wait#c2')!.enqueuedAt = '2026-12-01T17:00:00.000Z';
    await lane({ action: 'acquire', pipeline: 'p', change: 'c3', stage: 'beta', taskToken: 't3' });
    sfn.on(SendTaskSuccessCommand, { taskToken: 't2' }).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata }));
    await lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['beta'] });
    expect(items.get('p#beta|holder')).toMatchObject({ change: 'c3' });
    expect(tokensSent()).toEqual(['t1', 't2', 't3']);
    expect(items.has('p#beta|wait#c2')).toBe(false);
    expect(published().at(-1)).toMatchObject({ type: 'unblocked', change: 'c3' });
  });

  describe('the reconciler', () => {
    const execution = (change: string) => `arn:aws:states:us-west-2:111122223333:execution:handsoff-p:${change}`;
    const statuses = new Map<string, string>();
    beforeEach(() => {
      statuses.clear();
      sfn.on(DescribeExecutionCommand).callsFake((input) => ({ status: statuses.get(input.executionArn) ?? 'RUNNING' }));
    });

    it.each(['ABORTED', 'FAILED', 'TIMED_OUT'])('frees a lane held by an execution that ended (%s) and hands it on', async (status) => {
      await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'wave-1', taskToken: 't1', execution: execution('c1') });
      await lane({ action: 'acquire', pipeline: 'p', change: 'c2', stage: 'wave-1', taskToken: 't2', execution: execution('c2') });
      expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c1', execution: execution('c1') });
      // Nothing to do while c1 runs.
      await expect(reconcile()).resolves.toEqual({ nextSweep: NEXT_SWEEP, checked: 0, completed: 0, failed: 0 });
      expect(tokensSent()).toEqual(['t1']);
      // c1's execution ends without releasing (stopped by hand, or its Lambda never ran).
      statuses.set(execution('c1'), status);
      await expect(reconcile()).resolves.toMatchObject({ lanesFreed: 1, lanesHandedOver: 1 });
      expect(sfn).toHaveReceivedCommandWith(DescribeExecutionCommand, { executionArn: execution('c1') });
      expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c2' });
      expect(tokensSent()).toEqual(['t1', 't2']);
    });

    it('ends the approved emergency of a change whose execution ended holding a lane (stopped: notify never ran)', async () => {
      const ended: Array<Record<string, any>> = [];
      ddb.on(UpdateCommand, { TableName: 'operators' }).callsFake((input) => {
        ended.push(input);
        return {};
      });
      await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'wave-1', taskToken: 't1', execution: execution('c1') });
      statuses.set(execution('c1'), 'ABORTED');
      await expect(reconcile()).resolves.toMatchObject({ lanesFreed: 1 });
      expect(ended).toEqual([
        expect.objectContaining({ Key: { pk: 'operators', sk: 'emergency#p#c1' }, ConditionExpression: '#state = :approved', ExpressionAttributeValues: expect.objectContaining({ ':true': true }) }),
      ]);
      // The waits it held are looked up by the pipeline's emergency-hold key.
      expect(ddb).toHaveReceivedCommandWith(QueryCommand, { TableName: 'waiters', ExpressionAttributeValues: expect.objectContaining({ ':alarm': 'handsoff-emergency-hold#p' }) });
    });

    it('frees a lane whose holder ended with nobody waiting', async () => {
      await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'gamma', taskToken: 't1', execution: execution('c1') });
      statuses.set(execution('c1'), 'FAILED');
      await expect(reconcile()).resolves.toMatchObject({ lanesFreed: 1 });
      expect(items.has('p#gamma|holder')).toBe(false);
    });

    it('looks at lanes nothing touched once per sweep period, and at once after a lane handler touched them', async () => {
      const minute = 60_000;
      const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);
      const looks = () => ddb.commandCalls(ScanCommand, { TableName: 'lanes' }).length;
      await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'wave-1', taskToken: 't1', execution: execution('c1') });
      advance(3 * minute);
      // The first sweep after the acquire looks at the lanes.
      await reconcile();
      expect(looks()).toBe(1);
      expect(marker.current).toMatchObject({ sweptAt: Date.now() });
      // The next sweeps, five minutes apart, with nothing touched: one Query each, no Scan and no DescribeExecution.
      ddb.resetHistory();
      sfn.resetHistory();
      for (let i = 0; i < 5; i++) {
        advance(5 * minute);
        await reconcile();
      }
      expect(looks()).toBe(0);
      expect(ddb.calls().map((c) => c.args[0].constructor.name)).toEqual(Array(5).fill('QueryCommand'));
      expect(sfn).toHaveReceivedCommandTimes(DescribeExecutionCommand, 0);
      // c1's execution is stopped, nothing touches the lanes: the look of the period frees the lane.
      statuses.set(execution('c1'), 'ABORTED');
      advance(5 * minute);
      await expect(reconcile()).resolves.toMatchObject({ lanesFreed: 1 });
      expect(Date.now() - (marker.current?.sweptAt ?? 0)).toBe(0);
      expect(items.has('p#wave-1|holder')).toBe(false);
      // A release touches the lanes: the next sweep looks at once.
      await lane({ action: 'acquire', pipeline: 'p', change: 'c2', stage: 'beta', taskToken: 't2', execution: execution('c2') });
      advance(5 * minute);
      await reconcile();
      ddb.resetHistory();
      advance(minute);
      await lane({ action: 'release', pipeline: 'p', change: 'c2', stages: ['beta'] });
      advance(5 * minute);
      await reconcile();
      expect(looks()).toBe(1);
    });

    it('counts a touch just before a look began as unseen: what its handler wrote after the look is mended by the next sweep', async () => {
      const minute = 60_000;
      const advance = (ms: number) => vi.setSystemTime(Date.now() + ms);
      const looks = () => ddb.commandCalls(ScanCommand, { TableName: 'lanes' }).length;
      await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'wave-1', taskToken: 't1', execution: execution('c1') });
      await lane({ action: 'acquire', pipeline: 'p', change: 'c2', stage: 'wave-1', taskToken: 't2', execution: execution('c2') });
      advance(3 * minute);
      await reconcile();
      // c1's release touches the marker a second before a sweep begins; the sweep's look still sees c1 holding.
      advance(4 * minute);
      await markLanesInUse();
      advance(1_000);
      await reconcile();
      expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c1' });
      // Then the release's writes land: c1 frees the lane, c2 takes it, and telling c2 fails for good.
      sfn.on(SendTaskSuccessCommand, { taskToken: 't2' }).rejectsOnce(Object.assign(new Error('socket hang up'), { name: 'NetworkingError' }));
      await releaseHolder('p', 'wave-1', 'c1');
      await expect(handOver('p', 'wave-1')).rejects.toThrow('socket hang up');
      expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c2' });
      // The next sweep looks again and tells c2; the one after it does not look.
      advance(5 * minute);
      await expect(reconcile()).resolves.toMatchObject({ lanesHandedOver: 1 });
      expect(tokensSent().filter((t) => t === 't2')).toHaveLength(2);
      ddb.resetHistory();
      advance(5 * minute);
      await reconcile();
      expect(looks()).toBe(0);
    });

    it('retries a hand-over that failed: the change that took the lane but was never told gets its token', async () => {
      await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'wave-1', taskToken: 't1', execution: execution('c1') });
      await lane({ action: 'acquire', pipeline: 'p', change: 'c2', stage: 'wave-1', taskToken: 't2', execution: execution('c2') });
      // c1's release freed the lane, then its hand-over failed for good.
      sfn.on(SendTaskSuccessCommand, { taskToken: 't2' }).rejectsOnce(Object.assign(new Error('socket hang up'), { name: 'NetworkingError' }));
      await expect(lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['wave-1'] })).rejects.toThrow('socket hang up');
      await expect(reconcile()).resolves.toMatchObject({ lanesHandedOver: 1 });
      expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c2' });
      expect(items.has('p#wave-1|wait#c2')).toBe(false);
      expect(tokensSent().filter((t) => t === 't2')).toHaveLength(2);
      // and once told, nothing more
      await expect(reconcile()).resolves.toEqual({ nextSweep: NEXT_SWEEP, checked: 0, completed: 0, failed: 0 });
    });

    it('hands a free lane to the change waiting for it (a release that died before its hand-over)', async () => {
      // Written by c2's acquire, which touched the lanes marker first.
      marker.current = { pk: 'lanes#in-use', openShard: 'OPEN', touches: 1, touchedAt: Date.now() };
      items.set('p#beta|wait#c2', { pk: 'p#beta', sk: 'wait#c2', change: 'c2', token: 't2', enqueuedAt: '2026-12-01T17:00:00.000Z', pipeline: 'p', stage: 'beta' });
      await expect(reconcile()).resolves.toMatchObject({ lanesHandedOver: 1 });
      expect(items.get('p#beta|holder')).toMatchObject({ change: 'c2' });
      expect(tokensSent()).toEqual(['t2']);
    });

    it('costs one Query when nothing is open and no lane is in use, and keeps the marker while lanes are', async () => {
      await expect(reconcile()).resolves.toEqual({ checked: 0, completed: 0, failed: 0 });
      expect(ddb.calls().map((c) => c.args[0].constructor.name)).toEqual(['QueryCommand']);
      // An acquire touches the marker: the sweeps look at the lanes again.
      await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'gamma', taskToken: 't1', execution: execution('c1') });
      ddb.resetHistory();
      await reconcile();
      expect(ddb).toHaveReceivedCommandTimes(ScanCommand, 1);
      await lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['gamma'] });
      // Freed, but touched a moment ago: kept (an acquire may be between its touch and its write).
      await reconcile();
      expect(marker.current).toBeDefined();
      // An hour on, with the lanes still empty, the marker goes and the sweeps are quiet again.
      vi.setSystemTime(Date.now() + 2 * 3_600_000);
      await reconcile();
      expect(marker.current).toBeUndefined();
      ddb.resetHistory();
      await reconcile();
      expect(ddb.calls().map((c) => c.args[0].constructor.name)).toEqual(['QueryCommand']);
    });

    it('never deletes the marker an acquire touched after the sweep read it', async () => {
      marker.current = { pk: 'lanes#in-use', openShard: 'OPEN', touches: 1, touchedAt: Date.now() - 2 * 3_600_000 };
      // The acquire lands between the sweep's Query and its conditional delete.
      ddb.on(ScanCommand, { TableName: 'lanes' }).callsFake(() => {
        marker.current = { ...marker.current!, touches: 2, touchedAt: Date.now() };
        return { Items: [] };
      });
      await reconcile();
      expect(marker.current).toMatchObject({ touches: 2 });
    });

    it('never deletes a marker deleted and created again since the sweep read it (its counter back at 1)', async () => {
      marker.current = { pk: 'lanes#in-use', openShard: 'OPEN', touches: 1, touchedAt: Date.now() - 2 * 3_600_000 };
      // Another sweep deletes the marker, then an acquire creates it again, between this sweep's Query and its delete.
      ddb.on(ScanCommand, { TableName: 'lanes' }).callsFake(() => {
        marker.current = { pk: 'lanes#in-use', openShard: 'OPEN', touches: 1, touchedAt: Date.now() };
        return { Items: [] };
      });
      await reconcile();
      expect(marker.current).toMatchObject({ touches: 1, touchedAt: Date.now() });
    });

    it('never frees a lane when it cannot tell whether the execution ended', async () => {
      await lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'wave-1', taskToken: 't1', execution: execution('c1') });
      sfn.on(DescribeExecutionCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
      await reconcile();
      expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c1' });
    });
  });

  describe('release batching', () => {
    const merged: Record<string, string> = { c1: '2026-12-01T09:00:00Z', c2: '2026-12-01T10:00:00Z', c3: '2026-12-01T11:00:00Z', c4: '2026-12-01T12:00:00Z' };
    const execution = (change: string) => `arn:aws:states:us-west-2:111122223333:execution:handsoff-p:${change}`;
    let clock = 0;
    const acquire = (change: string, stage: string, extra: Record<string, unknown> = {}) => {
      vi.setSystemTime(Date.parse('2026-12-01T18:00:00Z') + ++clock * 1000); // enqueue times in call order
      return lane({ action: 'acquire', pipeline: 'p', change, stage, taskToken: `t-${change}`, execution: execution(change), batching: true, mergedAt: merged[change]!, ...extra });
    };
    /** What each token was told: held (`lane`) or superseded (`by`). */
    const told = () =>
      sfn.commandCalls(SendTaskSuccessCommand).map((c) => {
        const out = JSON.parse(c.args[0].input.output!);
        return [c.args[0].input.taskToken, out.supersededBy ? `superseded by ${out.supersededBy}` : `holds ${out.lane}`];
      });
    const emergencies = (...changes: string[]) =>
      ddb.on(QueryCommand, { TableName: 'operators' }).resolves({
        Items: changes.map((change) => ({ pk: 'operators', sk: `emergency#p#${change}`, pipeline: 'p', change, state: 'approved', announced: 'approved' })),
      });
    beforeEach(() => {
      clock = 0;
      emergencies();
    });

    it('hands a lane that still holds a wait from before batching in order: nobody is superseded, nothing fails', async () => {
      await acquire('c1', 'wave-1');
      // c2 waits with an entry of the strict order (no merge time): its execution started before the pipeline batched.
      await lane({ action: 'acquire', pipeline: 'p', change: 'c2', stage: 'wave-1', taskToken: 't-c2', execution: execution('c2') });
      // c1's release frees the lane and dies before its hand-over, while c3 enqueues.
      ddb.on(PutCommand, { TableName: 'lanes', Item: { sk: 'wait#c3' } }).callsFake((input) => {
        items.set(`${input.Item.pk}|${input.Item.sk}`, structuredClone(input.Item));
        items.delete('p#wave-1|holder');
        return {};
      });
      // c3's own hand-over gives the freed lane to c2, in order.
      await expect(acquire('c3', 'wave-1')).resolves.toEqual({ held: false });
      expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c2' });
      expect(told()).toEqual([
        ['t-c1', 'holds wave-1'],
        ['t-c2', 'holds wave-1'],
      ]);
      expect(items.has('p#wave-1|wait#c3')).toBe(true);
    });

    it('hands a freed lane to the newest waiter, which supersedes the older ones', async () => {
      await acquire('c1', 'wave-1');
      for (const c of ['c2', 'c3', 'c4']) await expect(acquire(c, 'wave-1')).resolves.toEqual({ held: false });
      await lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['wave-1'] });
      expect(told()).toEqual([
        ['t-c1', 'holds wave-1'],
        ['t-c4', 'holds wave-1'],
        ['t-c2', 'superseded by c4'],
        ['t-c3', 'superseded by c4'],
      ]);
      expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c4' });
      expect(items.get('p#wave-1|last')).toMatchObject({ change: 'c4', mergedAt: '2026-12-01T12:00:00.000Z' });
      expect([...items.keys()].filter((k) => k.includes('wait#'))).toEqual([]);
      expect(published().filter((e) => e.type === 'unblocked').map((e) => e.change)).toEqual(['c4']);
    });

    it('a change that must wait frees the stage it holds, so that the next one can pass it and join the wait', async () => {
      await acquire('c1', 'wave-1');
      await acquire('c2', 'gamma');
      await acquire('c3', 'gamma'); // waits for c2
      await expect(acquire('c2', 'wave-1', { previous: 'gamma' })).resolves.toEqual({ held: false });
      expect(items.get('p#gamma|holder')).toMatchObject({ change: 'c3' });
      expect(told()).toContainEqual(['t-c3', 'holds gamma']);
      // c3 finishes gamma and joins the wait for wave-1, freeing gamma in turn.
      await expect(acquire('c3', 'wave-1', { previous: 'gamma' })).resolves.toEqual({ held: false });
      expect(items.has('p#gamma|holder')).toBe(false);
      expect([...items.keys()].filter((k) => k.startsWith('p#wave-1|wait#'))).toEqual(['p#wave-1|wait#c2', 'p#wave-1|wait#c3']);
    });

    it('supersedes a change older than the newest that held the lane, on arrival or on a retried acquire', async () => {
      await acquire('c3', 'beta');
      await lane({ action: 'release', pipeline: 'p', change: 'c3', stages: ['beta'] });
      // c2 was delayed (a slow review): c3 has passed beta already.
      await expect(acquire('c2', 'beta')).resolves.toEqual({ held: false, supersededBy: 'c3' });
      await expect(acquire('c2', 'beta')).resolves.toEqual({ held: false, supersededBy: 'c3' });
      expect(items.has('p#beta|holder')).toBe(false);
      expect(items.has('p#beta|wait#c2')).toBe(false);
      expect(told().filter(([t]) => t === 't-c2')).toEqual([
        ['t-c2', 'superseded by c3'],
        ['t-c2', 'superseded by c3'],
      ]);
      // A retried acquire by the holder only tells it again.
      await acquire('c4', 'beta');
      await expect(acquire('c4', 'beta')).resolves.toEqual({ held: true });
      expect(told().filter(([t]) => t === 't-c4')).toEqual([
        ['t-c4', 'holds beta'],
        ['t-c4', 'holds beta'],
      ]);
    });

    it('an older change that finds the lane free while a newer one takes it gives it back and is superseded', async () => {
      // Between its read of the lane and its hold, c3 (merged later) held alpha and released it.
      beforeHold.run = () => items.set('p#alpha|last', { pk: 'p#alpha', sk: 'last', change: 'c3', mergedAt: '2026-12-01T11:00:00.000Z', pipeline: 'p', stage: 'alpha' });
      await expect(acquire('c2', 'alpha')).resolves.toEqual({ held: false, supersededBy: 'c3' });
      expect(items.has('p#alpha|holder')).toBe(false);
      expect(items.get('p#alpha|last')).toMatchObject({ change: 'c3' });
      expect(told()).toEqual([['t-c2', 'superseded by c3']]);
    });

    it('never supersedes an approved emergency by a normal change: it gets the lane, the newer normal change waits behind it', async () => {
      emergencies('c3');
      await acquire('c1', 'wave-1');
      for (const c of ['c2', 'c3', 'c4']) await acquire(c, 'wave-1');
      await lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['wave-1'] });
      expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c3' });
      expect(told().slice(1)).toEqual([
        ['t-c3', 'holds wave-1'],
        ['t-c2', 'superseded by c3'],
      ]);
      expect(items.has('p#wave-1|wait#c4')).toBe(true);
      await lane({ action: 'release', pipeline: 'p', change: 'c3', stages: ['wave-1'] });
      expect(told().at(-1)).toEqual(['t-c4', 'holds wave-1']);
    });

    it('when the operators table cannot be read, passes nobody over: the lane goes to the change that waited longest', async () => {
      ddb.on(QueryCommand, { TableName: 'operators' }).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
      await acquire('c1', 'wave-1');
      await acquire('c2', 'wave-1');
      await acquire('c3', 'wave-1');
      await lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['wave-1'] });
      expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c2' });
      expect(told().slice(1)).toEqual([['t-c2', 'holds wave-1']]);
      expect(items.has('p#wave-1|wait#c3')).toBe(true);
    });

    it('a superseded change never told (its token lost in a crash) is told again by the reconciler; the holder stays', async () => {
      sfn.on(DescribeExecutionCommand).resolves({ status: 'RUNNING' });
      await acquire('c1', 'wave-1');
      await acquire('c2', 'wave-1');
      await acquire('c3', 'wave-1');
      sfn.on(SendTaskSuccessCommand, { taskToken: 't-c2' }).rejectsOnce(Object.assign(new Error('socket hang up'), { name: 'NetworkingError' }));
      await expect(lane({ action: 'release', pipeline: 'p', change: 'c1', stages: ['wave-1'] })).rejects.toThrow('socket hang up');
      expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c3' });
      expect(items.has('p#wave-1|wait#c2')).toBe(true);
      await reconcile();
      expect(items.has('p#wave-1|wait#c2')).toBe(false);
      expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c3' });
      expect(told().filter(([t]) => t !== 't-c1')).toEqual([
        ['t-c3', 'holds wave-1'],
        ['t-c2', 'superseded by c3'],
        ['t-c2', 'superseded by c3'],
      ]);
      // Once told, the sweeps leave the lane alone.
      sfn.resetHistory();
      await reconcile();
      expect(told()).toEqual([]);
    });

    it('the reconciler frees a lane whose holder ended and hands it to the newest waiter', async () => {
      sfn.on(DescribeExecutionCommand).callsFake((input) => ({ status: input.executionArn === execution('c1') ? 'ABORTED' : 'RUNNING' }));
      await acquire('c1', 'wave-1');
      await acquire('c2', 'wave-1');
      await acquire('c3', 'wave-1');
      await expect(reconcile()).resolves.toMatchObject({ lanesFreed: 1, lanesHandedOver: 1 });
      expect(items.get('p#wave-1|holder')).toMatchObject({ change: 'c3' });
      expect(told().slice(1)).toEqual([
        ['t-c3', 'holds wave-1'],
        ['t-c2', 'superseded by c3'],
      ]);
    });

    it('asks for the merge time: a batching acquire without one is refused, naming the field', async () => {
      await expect(lane({ action: 'acquire', pipeline: 'p', change: 'c1', stage: 'alpha', taskToken: 't', batching: true })).rejects.toMatchObject({
        name: 'InvalidInput',
        message: expect.stringContaining('mergedAt'),
      });
    });
  });

  it('rejects an unknown action, naming it', async () => {
    await expect(invokeHandler(laneHandler, { action: 'grab' })).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('action') });
  });
});
