/**
 * The console's AWS backend over mocked tables (aws-sdk-client-mock): what it shows comes
 * from the changes and audit tables, folded as locally; what people do goes to the
 * operator's operate() with the signed-in caller as `by`, and the approvers group as the
 * Cognito token says it. The Lambda entry point: identity from the JWT authorizer's claims.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { judgeDecider, type OperatorAction, type OperatorResult } from '../../core/operators.ts';
import { CONSOLE_ENV, consolePipeline, encodeConsolePipelines, parseConsolePipelines } from '../../core/console.ts';
import { setClients, createAwsClients } from '../../lambdas/shared/clients.ts';
import { ENV } from '../../lambdas/shared/config.ts';
import { createAwsBackend, eventOfRecord } from '../../console/aws-backend.ts';
import { foldChange, foldState } from '../../console/state.ts';
import { fixturePipelines } from '../infra/fixtures.ts';

const ddb = mockClient(DynamoDBDocumentClient);
const cloudWatch = mockClient(CloudWatchClient);
/** The blocker alarms in ALARM, by region; every other one is OK. */
let alarming: Record<string, string[]> = {};
const pipelines = fixturePipelines.map(consolePipeline);
const fold = { state: foldState, change: foldChange };

/** An audit record as the publisher writes it: keys, who and why, and the event as published (JSON). */
const record = (e: HandsoffEvent & { change: string; pipeline: string }, n: number) => ({
  pk: `${e.pipeline}#${e.change}`,
  sk: `${e.time}#${e.type}#${n}`,
  time: e.time,
  type: e.type,
  pipeline: e.pipeline,
  change: e.change,
  who: String(e.by ?? 'handsoff'),
  why: String(e.reason ?? e.type),
  event: JSON.stringify(e),
});
const received = { time: '2026-12-01T09:00:00Z', type: 'change.received', pipeline: 'orders', change: 'c1', author: 'alice' };
const stage = { time: '2026-12-01T09:05:00Z', type: 'stage.started', pipeline: 'orders', change: 'c1', stage: 'beta', region: 'us-west-2' };
const requested = { time: '2026-12-01T10:00:00Z', type: 'approval.requested', pipeline: 'orders', change: 'c1', by: 'alice', reason: 'outage fix' };
const auditRecords = [record(requested, 3), record(received, 1), record(stage, 2)];
/** In the changes table, not yet in the audit trail. */
const c2 = { pk: 'ledger#c2', sk: 'started', pipeline: 'ledger', change: 'c2', author: 'bob', commit: 'abc', repository: 'ledger', pushEvent: 'e2', mergedAt: '2026-12-01T11:00:00Z', executionName: 'x', startedAt: '2026-12-01T11:00:01Z' };
const c1 = { ...c2, pk: 'orders#c1', pipeline: 'orders', change: 'c1', author: 'alice', mergedAt: '2026-12-01T09:00:00Z' };

beforeEach(() => {
  ddb.reset();
  cloudWatch.reset();
  alarming = {};
  cloudWatch.on(DescribeAlarmsCommand).callsFake(async (input, getClient) => {
    const region = await getClient().config.region();
    const state = (name: string) => ((alarming[region] ?? []).includes(name) ? 'ALARM' : 'OK');
    const names: string[] = input.AlarmNames ?? [];
    return {
      CompositeAlarms: names.filter((n) => n.endsWith('-aggregate')).map((n) => ({ AlarmName: n, StateValue: state(n) })),
      MetricAlarms: names.filter((n) => !n.endsWith('-aggregate')).map((n) => ({ AlarmName: n, StateValue: state(n) })),
    };
  });
  vi.stubEnv(ENV.CHANGES_TABLE, 'changes');
  vi.stubEnv(ENV.AUDIT_TABLE, 'audit');
  vi.stubEnv('AWS_REGION', 'us-east-1');
  setClients({ ...createAwsClients(), dynamo: () => DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } })) });
  ddb.on(ScanCommand, { TableName: 'audit' }).resolves({ Items: auditRecords });
  ddb.on(ScanCommand, { TableName: 'changes' }).resolves({ Items: [c1, c2] });
  ddb.on(GetCommand).resolves({});
  ddb.on(GetCommand, { TableName: 'changes', Key: { pk: 'orders#c1', sk: 'started' } }).resolves({ Item: c1 });
  ddb.on(QueryCommand).resolves({ Items: [] });
  ddb.on(QueryCommand, { TableName: 'audit', ExpressionAttributeValues: { ':pk': 'orders#c1' } }).resolves({ Items: auditRecords });
});
afterEach(() => {
  vi.unstubAllEnvs();
  setClients(undefined);
});

describe('what the console shows on AWS', () => {
  it('folds the audit trail and the changes table into the state: every change, where it is, its emergency', async () => {
    const backend = createAwsBackend({ pipelines, fold });
    const state = await backend.state();
    expect(state.pipelines).toEqual(pipelines.map(({ name, waves }) => ({ name, waves })));
    const byId = Object.fromEntries(state.changes.map((c) => [c.id, c]));
    expect(byId.c1).toMatchObject({ pipeline: 'orders', author: 'alice', status: 'in-flight', stage: 'beta', region: 'us-west-2', emergency: 'requested' });
    // Known to the changes table only: shown, waiting, with its author.
    expect(byId.c2).toMatchObject({ pipeline: 'ledger', author: 'bob', status: 'waiting', emergency: null });
    expect(Date.parse(state.now)).not.toBeNaN();
  });

  it('shows the blocker alarms that hold now, one DescribeAlarms per region; a region it cannot read holds', async () => {
    alarming = { 'eu-west-1': ['handsoff-payments-eu-west-1-aggregate'] };
    let state = await createAwsBackend({ pipelines, fold }).state();
    expect(state.blockers).toEqual([{ blocker: 'team-alarm', region: 'eu-west-1', team: 'payments', state: 'ALARM', override: null }]);
    // us-west-2 (pre-production), eu-west-1, us-east-1: each region's aggregate and company event alarm in one call.
    expect(cloudWatch.commandCalls(DescribeAlarmsCommand).map((c) => c.args[0].input.AlarmNames!.length)).toEqual([2, 2, 2]);
    cloudWatch.on(DescribeAlarmsCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' }));
    state = await createAwsBackend({ pipelines, fold }).state();
    expect(state.blockers.map((b) => [b.blocker, b.region, b.state]).sort()).toEqual(
      ['eu-west-1', 'us-east-1', 'us-west-2'].flatMap((r) => [['company-event', r, 'UNKNOWN'], ['team-alarm', r, 'UNKNOWN']]).sort(),
    );
  });

  it('reads the blocker alarms at most once in a while per container', async () => {
    const backend = createAwsBackend({ pipelines, fold });
    await backend.state();
    await backend.state();
    expect(cloudWatch.commandCalls(DescribeAlarmsCommand)).toHaveLength(3);
  });

  it("answers a change with its audit trail in time order, from its own partition, and undefined for an unknown one", async () => {
    const backend = createAwsBackend({ pipelines, fold });
    const change = await backend.change('c1');
    expect(change?.audit.map((e) => e.type)).toEqual(['change.received', 'stage.started', 'approval.requested']);
    // Its own partition, and the overrides of its pipeline and of every pipeline.
    expect(ddb.commandCalls(QueryCommand).map((c) => c.args[0].input.ExpressionAttributeValues)).toEqual([{ ':pk': 'orders#c1' }, { ':pk': 'orders' }, { ':pk': '*' }]);
    ddb.on(QueryCommand).resolves({ Items: [] });
    expect(await backend.change('nope')).toBeUndefined();
  });

  it("shows the overrides that concern the change from its pipeline's partition and `*`, as the local fold of the same events does", async () => {
    const override = (time: string, scope: Record<string, string>, pk: string) => {
      const e = { time, type: 'override.applied', ...scope, override: `id-${time}`, blocker: 'company-event', by: 'dave', reason: 'fix', expires: '2026-12-02T00:00:00Z' };
      return { e, item: { pk, sk: `${time}#override.applied#x`, time, type: e.type, who: 'dave', why: 'fix', event: JSON.stringify(e) } };
    };
    const ofPipeline = override('2026-12-01T09:30:00Z', { pipeline: 'orders' }, 'orders');
    const ofEvery = override('2026-12-01T09:40:00Z', {}, '*');
    const olderOfChange = override('2026-12-01T09:50:00Z', { change: 'c1' }, '*'); // recorded before events carried the pipeline
    const ofOther = override('2026-12-01T09:55:00Z', { change: 'c9' }, '*');
    ddb.on(QueryCommand, { TableName: 'audit', ExpressionAttributeValues: { ':pk': 'orders' } }).resolves({ Items: [ofPipeline.item] });
    ddb.on(QueryCommand, { TableName: 'audit', ExpressionAttributeValues: { ':pk': '*' } }).resolves({ Items: [ofEvery.item, olderOfChange.item, ofOther.item] });
    const change = await createAwsBackend({ pipelines, fold }).change('c1');
    expect(change?.audit.map((e) => e.time)).toEqual([received.time, stage.time, ofPipeline.e.time, ofEvery.e.time, olderOfChange.e.time, requested.time]);
    // Locally the whole stream is folded: the same audit.
    const local = foldChange([received, stage, ofPipeline.e, ofEvery.e, olderOfChange.e, ofOther.e, requested] as HandsoffEvent[], 'c1');
    expect(local?.audit).toEqual(change?.audit);
  });

  it('gives every audit record as the event stream, in time order; a record that is no event is left out', async () => {
    ddb.on(ScanCommand, { TableName: 'audit' }).resolves({ Items: [...auditRecords, { pk: 'x', sk: 'y', note: 'no event' }] });
    const backend = createAwsBackend({ pipelines, fold });
    expect((await backend.events()).map((e) => e.time)).toEqual([received.time, stage.time, requested.time]);
    expect(eventOfRecord(record(received, 1))).toEqual(received);
    expect(eventOfRecord({ pk: 'a', sk: 'b', event: received })).toEqual(received);
    expect(eventOfRecord({ pk: 'a', sk: 'b', event: '{not json' })).toBeUndefined();
  });

  it('reads every page of a table', async () => {
    ddb.on(ScanCommand, { TableName: 'audit' }).resolvesOnce({ Items: [auditRecords[1]], LastEvaluatedKey: { pk: 'k' } }).resolves({ Items: [auditRecords[2]] });
    const backend = createAwsBackend({ pipelines, fold });
    expect((await backend.events()).map((e) => e.type)).toEqual(['change.received', 'stage.started']);
  });
});

describe('what people do on AWS', () => {
  const decision: OperatorAction = { action: 'emergency-decision', change: 'c1', pipeline: 'orders', by: 'someone-else', decision: 'approve', reason: 'ok', approvers: ['everybody'] };
  const spy = () => {
    const asked: OperatorAction[] = [];
    const operate = async (a: OperatorAction): Promise<OperatorResult> => {
      asked.push(a);
      return { status: 200, body: {} };
    };
    return { asked, operate };
  };

  it('acts as the signed-in caller, with the approvers group only when the token puts them in it', async () => {
    const { asked, operate } = spy();
    const backend = createAwsBackend({ pipelines, fold, operate });
    await backend.act(decision, { name: 'pat', approver: true });
    await backend.act(decision, { name: 'mallory', approver: false });
    expect(asked.map((a) => a.action === 'emergency-decision' && [a.by, a.approvers])).toEqual([
      ['pat', ['pat']],
      ['mallory', []],
    ]);
  });

  it('refuses a caller outside approvers with 403 not-an-approver (the rule of core/operators.ts)', async () => {
    // The rule as the operator applies it, over what the backend hands it.
    const operate = async (a: OperatorAction): Promise<OperatorResult> => {
      if (a.action !== 'emergency-decision') throw new Error('a decision was expected');
      const reason = judgeDecider(a.by, { approvers: a.approvers, requester: 'alice', author: 'alice' });
      return reason ? { status: 403, error: `${a.by} may not decide`, reason } : { status: 200, body: { decision: a.decision } };
    };
    const backend = createAwsBackend({ pipelines, fold, operate });
    expect(await backend.act(decision, { name: 'mallory', approver: false })).toMatchObject({ status: 403, reason: 'not-an-approver' });
    expect(await backend.act(decision, { name: 'alice', approver: true })).toMatchObject({ status: 403, reason: 'self-approval' });
    expect(await backend.act(decision, { name: 'Pat', approver: true })).toMatchObject({ status: 200 });
  });

  it("finds a change's pipeline when the action does not name it, and answers 404 for a change no pipeline has", async () => {
    const { asked, operate } = spy();
    const backend = createAwsBackend({ pipelines, fold, operate });
    await backend.act({ action: 'emergency-request', change: 'c1', by: 'x', reason: 'fix' }, { name: 'alice', approver: false });
    expect(asked[0]).toMatchObject({ action: 'emergency-request', change: 'c1', pipeline: 'orders', by: 'alice' });
    expect(await backend.act({ action: 'emergency-request', change: 'ghost', by: 'x', reason: 'fix' }, { name: 'alice', approver: false })).toMatchObject({ status: 404 });
    expect(asked).toHaveLength(1);
  });

  it("gives an override of a change its change's pipeline, and refuses one of a change no pipeline has with 400 naming change", async () => {
    const { asked, operate } = spy();
    const backend = createAwsBackend({ pipelines, fold, operate });
    const override: OperatorAction = { action: 'override', blocker: 'company-event', change: 'c1', by: 'x', reason: 'fix', expires: '2026-12-02T00:00:00Z' };
    await backend.act(override, { name: 'dave', approver: false });
    expect(asked[0]).toMatchObject({ action: 'override', change: 'c1', pipeline: 'orders', by: 'dave' });
    expect(await backend.act({ ...override, change: 'ghost' }, { name: 'dave', approver: false })).toMatchObject({
      status: 400,
      reason: 'invalid-request',
      problems: [expect.objectContaining({ field: 'change' })],
    });
    expect(asked).toHaveLength(1);
  });
});

describe('the console function', () => {
  const event = (method: string, path: string, claims?: Record<string, unknown>) => ({
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers: { host: 'console.example' },
    isBase64Encoded: false,
    body: null,
    requestContext: {
      accountId: '111122223333',
      apiId: 'api',
      domainName: 'console.example',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'test' },
      requestId: 'r',
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '',
      timeEpoch: 0,
      ...(claims ? { authorizer: { jwt: { claims, scopes: [] } } } : {}),
    },
  });

  it('answers 401 without the Cognito claims, and the state with them', async () => {
    vi.stubEnv(CONSOLE_ENV.PIPELINES, encodeConsolePipelines(pipelines));
    const { handler } = await import('../../console/lambda.ts');
    const invoke = handler as unknown as (e: unknown) => Promise<{ statusCode: number; body: string }>;
    const anonymous = await invoke(event('GET', '/api/state'));
    expect(anonymous.statusCode).toBe(401);
    const signedIn = await invoke(event('GET', '/api/state', { 'cognito:username': 'pat', 'cognito:groups': '[approvers]' }));
    expect(signedIn.statusCode).toBe(200);
    expect(JSON.parse(signedIn.body).changes.map((c: { id: string }) => c.id).sort()).toEqual(['c1', 'c2']);
  });
});
