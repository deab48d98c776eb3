/**
 * The reconciler's read of the open-waiters index against the local DynamoDB (a real
 * expression engine, not a mock): its filter leaves out only the open bakes and holds a sweep
 * has nothing to do with (no alarm watched, no blocking alarm waited for, not yet overdue),
 * and keeps every waiter it must look at, the undelivered ones and the lanes marker.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { startLocalDynamo, type LocalDynamo } from '../../sim/local-dynamo.ts';
import { setClients, type AwsClients } from '../../lambdas/shared/clients.ts';
import { clean } from '../../lambdas/shared/dynamo.ts';
import { OVERDUE_MS, sweptWaiters } from '../../lambdas/reconcile/index.ts';
import { LANES_MARKER_KEY, OPEN_SHARD, OPEN_SHARD_ATTRIBUTE } from '../../core/tables.ts';

const NOW = Date.parse('2026-12-01T10:17:00Z');
const MIN = 60_000;
const alarm = { region: 'eu-west-1', name: 'storefront-api-eu-west-1-aggregate' };

let dynamo: LocalDynamo;
beforeAll(async () => {
  dynamo = await startLocalDynamo();
  setClients({ dynamo: () => dynamo.client } as unknown as AwsClients);
  const bake = (pk: string, fields: Record<string, unknown>) => ({
    pk,
    kind: 'bake',
    status: 'OPEN',
    [OPEN_SHARD_ATTRIBUTE]: OPEN_SHARD,
    token: 't',
    bakeId: pk,
    alarms: [],
    createdAt: '2026-12-01T09:00:00Z',
    updatedAt: '2026-12-01T09:00:00Z',
    expiresAt: 0,
    ...fields,
  });
  const items = [
    // Left out: nothing to read, nothing overdue (ending after 11:00, the cut of a sweep at 10:17).
    bake('idle-hold', { purpose: 'hold', endsAt: NOW + 60 * MIN }),
    bake('idle-hold-no-alarms-attribute', { purpose: 'hold', endsAt: NOW + 60 * MIN, alarms: undefined }),
    // Kept: ended less than a minute ago, within the cut's hour (the sweep reads it, ends nothing).
    bake('hold-within-its-minute', { purpose: 'hold', endsAt: NOW - OVERDUE_MS / 2 }),
    // Kept.
    bake('overdue-hold', { purpose: 'hold', endsAt: NOW - 10 * MIN }),
    bake('watching-hold', { purpose: 'hold', endsAt: NOW + 60 * MIN, alarms: [alarm] }),
    bake('watching-bake', { endsAt: NOW + 60 * MIN, alarms: [alarm] }),
    bake('blocker-wait', { purpose: 'blocker', endsAt: NOW + 60 * MIN, blocker: { ...alarm, state: 'ALARM' } }),
    bake('hold-without-end', { purpose: 'hold' }),
    bake('finished-undelivered', { status: 'DONE', endsAt: NOW + 60 * MIN, result: { ok: true, output: {} } }),
    { pk: 'deployment#d-1', kind: 'deployment', status: 'OPEN', [OPEN_SHARD_ATTRIBUTE]: OPEN_SHARD, alarms: [], deploymentId: 'd-1', region: 'eu-west-1', token: 't', createdAt: 'x', updatedAt: 'x', expiresAt: 0 },
    { pk: LANES_MARKER_KEY, [OPEN_SHARD_ATTRIBUTE]: OPEN_SHARD, touchedAt: NOW },
    // Not in the index at all.
    bake('delivered', { status: 'DONE', [OPEN_SHARD_ATTRIBUTE]: undefined, endsAt: NOW - 60 * MIN }),
  ];
  for (const Item of items) {
    await dynamo.client.send(new PutCommand({ TableName: process.env.HANDSOFF_WAITERS_TABLE!, Item: clean(Item) }));
  }
});

afterAll(async () => {
  setClients(undefined);
  await dynamo?.stop();
});

describe("the reconciler's read of the open-waiters index", () => {
  it('leaves out the idle holds that watch no alarm, and keeps every waiter a sweep must look at', async () => {
    const { open, undelivered, marker } = await sweptWaiters(NOW - OVERDUE_MS);
    expect(open.map((w) => w.pk).sort()).toEqual(
      ['blocker-wait', 'deployment#d-1', 'hold-within-its-minute', 'hold-without-end', 'overdue-hold', 'watching-bake', 'watching-hold'].sort(),
    );
    expect(undelivered.map((w) => w.pk)).toEqual(['finished-undelivered']);
    expect(marker?.pk).toBe(LANES_MARKER_KEY);
  });

  it('cuts at the hour after the overdue time: it may keep a hold that ends within the hour, never leaves out an overdue one', async () => {
    // 10:16 (a minute before 10:17) rounded up to 11:00: the holds ending before 11:00 are read.
    const { open } = await sweptWaiters(NOW - OVERDUE_MS);
    expect(open.map((w) => w.pk)).toContain('hold-within-its-minute');
    expect(open.map((w) => w.pk)).toContain('overdue-hold');
    // At 12:17 every hold here has ended an hour ago or more: all are read.
    const later = await sweptWaiters(NOW + 2 * 60 * MIN - OVERDUE_MS);
    expect(later.open.map((w) => w.pk)).toEqual(expect.arrayContaining(['idle-hold', 'idle-hold-no-alarms-attribute', 'hold-within-its-minute', 'overdue-hold']));
  });
});
