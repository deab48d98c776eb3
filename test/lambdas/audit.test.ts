/**
 * The audit trail: every published decision (core/audit.ts AUDITED_EVENT_TYPES) is appended to
 * the audit table with a conditional PutItem (never overwritten), keyed by what it concerns,
 * time, type and a digest of its content, with who and why; other events are not.
 */
import { ConditionalCheckFailedException, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { AUDITED_EVENT_TYPES } from '../../core/audit.ts';
import { publish } from '../../lambdas/shared/publish.ts';
import { $metadata, ddb, published, useAwsMocks } from './support.ts';

useAwsMocks();

const scope = { pipeline: 'storefront-api', change: 'c1', stage: 'wave-1', region: 'sa-east-1' };
const auditPuts = () => ddb.commandCalls(PutCommand).map((c) => c.args[0].input).filter((i) => i.TableName === 'audit');

describe('audit trail', () => {
  it('appends each audited event with a conditional put: who, when, why and the event', async () => {
    ddb.on(PutCommand).resolves({});
    await publish([
      { type: 'blocked', ...scope, reason: 'company-event', alarm: 'handsoff-company-event-sa-east-1' },
      { type: 'bake.started', ...scope, duration: 'PT1H' },
      { type: 'override.applied', region: 'sa-east-1', change: 'c1', blocker: 'company-event', by: 'dave', reason: 'checkout fix', expires: '2026-12-02T06:00:00Z' },
    ]);
    expect(published()).toHaveLength(3);
    const puts = auditPuts();
    expect(puts).toHaveLength(2);
    for (const put of puts) expect(put.ConditionExpression).toBe('attribute_not_exists(pk)');
    expect(puts[0]!.Item).toMatchObject({
      pk: 'storefront-api#c1',
      sk: expect.stringMatching(/^2026-12-01T18:00:00\.000Z#blocked#[0-9a-f]{16}$/),
      type: 'blocked',
      who: 'handsoff',
      why: 'company-event',
      time: '2026-12-01T18:00:00.000Z',
    });
    expect(JSON.parse(puts[0]!.Item!.event)).toMatchObject({ type: 'blocked', region: 'sa-east-1' });
    // An override of every pipeline is kept under `*`, with the person who applied it.
    expect(puts[1]!.Item).toMatchObject({ pk: '*', type: 'override.applied', who: 'dave', why: 'checkout fix' });
  });

  it('keeps one record when the same event is published again at the same time', async () => {
    const seen = new Set<string>();
    ddb.on(PutCommand).callsFake((input) => {
      const key = `${input.Item.pk}|${input.Item.sk}`;
      if (seen.has(key)) throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata });
      seen.add(key);
      return {};
    });
    const event = { type: 'rollback.started', ...scope, revision: 'c0' };
    await publish([event]);
    await expect(publish([event])).resolves.toBeUndefined();
    expect(seen.size).toBe(1);
  });

  it('fails the publish when the record cannot be written (the handler retries; no decision goes unrecorded)', async () => {
    ddb.on(PutCommand).rejects(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata }));
    await expect(publish([{ type: 'change.failed', ...scope, reason: 'alarm' }])).rejects.toThrow('slow down');
  });

  it('audits the decisions: blocks, overrides, approvals, alarms, rollbacks, changes, stages, builds, deployments', () => {
    for (const type of ['blocked', 'unblocked', 'override.applied', 'override.expired', 'approval.requested', 'approval.granted', 'approval.denied', 'alarm.triggered', 'rollback.started', 'rollback.completed', 'change.received', 'change.rejected', 'change.failed', 'change.completed', 'change.superseded', 'stage.started', 'stage.completed', 'deployment.started', 'deployment.succeeded', 'deployment.failed', 'build.completed']) {
      expect(AUDITED_EVENT_TYPES.has(type)).toBe(true);
    }
    expect(AUDITED_EVENT_TYPES.has('bake.started')).toBe(false);
  });
});
