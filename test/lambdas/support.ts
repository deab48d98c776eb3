/**
 * Shared test setup for the handlers: mocked SDK clients (aws-sdk-client-mock mocks the
 * client classes, so the real clients handed to setClients are mocked), the environment
 * the stack sets, and a silent logger.
 */
import 'aws-sdk-client-mock-vitest/extend';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeCommitClient } from '@aws-sdk/client-codecommit';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CopyObjectCommand, HeadObjectCommand, NotFound, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { CopyMetadata } from '../../core/build.ts';
import { CreateScheduleCommand, SchedulerClient } from '@aws-sdk/client-scheduler';
import { SFNClient } from '@aws-sdk/client-sfn';
import { BatchWriteCommand, DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Context } from 'aws-lambda';
import { afterEach, beforeEach, vi } from 'vitest';
import { setClients, type AwsClients } from '../../lambdas/shared/clients.ts';
import { ENV } from '../../lambdas/shared/config.ts';
import { logger } from '../../lambdas/shared/logger.ts';

export const ddb = mockClient(DynamoDBDocumentClient);
export const codeDeploy = mockClient(CodeDeployClient);
export const cloudWatch = mockClient(CloudWatchClient);
export const sfn = mockClient(SFNClient);
export const events = mockClient(EventBridgeClient);
export const scheduler = mockClient(SchedulerClient);
export const codeCommit = mockClient(CodeCommitClient);
export const s3 = mockClient(S3Client);

export const TABLES = {
  [ENV.DEPLOYMENTS_TABLE]: 'deployments',
  [ENV.WAITERS_TABLE]: 'waiters',
  [ENV.WINDOWS_TABLE]: 'windows',
  [ENV.HOLIDAYS_TABLE]: 'holidays',
  [ENV.LANES_TABLE]: 'lanes',
  [ENV.CHANGES_TABLE]: 'changes',
  [ENV.OPERATORS_TABLE]: 'operators',
  [ENV.AUDIT_TABLE]: 'audit',
  [ENV.OPERATOR_FUNCTION_ARN]: 'arn:aws:lambda:us-west-2:111122223333:function:operator',
  [ENV.EVENT_BUS_NAME]: 'handsoff-bus',
  [ENV.BAKE_END_FUNCTION_ARN]: 'arn:aws:lambda:us-west-2:111122223333:function:bake-end',
  [ENV.RECONCILE_FUNCTION_ARN]: 'arn:aws:lambda:us-west-2:111122223333:function:reconcile',
  [ENV.SCHEDULER_ROLE_ARN]: 'arn:aws:iam::111122223333:role/scheduler',
  [ENV.SCHEDULE_GROUP]: 'handsoff',
  [ENV.ARTIFACT_BUCKET]: 'handsoff-artifacts',
  [ENV.ACCOUNT_ID]: '111122223333',
};

/** The artifact bucket of a target region in these tests (naming.regionArtifactBucketName). */
export const regionBucketOf = (region: string): string => `handsoff-artifacts-111122223333-${region}`;
/** What a region copy of the source version `v` is in these tests (the default S3 fakes below). */
export const copyOf = (v: string): { version: string; eTag: string } => ({ version: `copy-${v}`, eTag: `"etag-${v}"` });
/** The SHA-256 the default fakes give a copy that a test did not copy (a previous revision's). */
export const PREVIOUS_COPY_SHA = 'c'.repeat(64);

/**
 * S3 as the region copies see it, unless a test says otherwise: a region bucket holds no
 * current copy (HeadObject by key: NotFound), a copy gets the version `copy-<source version>`
 * and the SHA-256 it was told (metadata), and a version asked for by id is there, with
 * the ETag asked for (IfMatch) and a SHA-256 that agrees with its metadata.
 */
const s3Defaults = (): void => {
  const b64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');
  s3.on(HeadObjectCommand).callsFake((input: { VersionId?: string; IfMatch?: string }) => {
    if (!input.VersionId) throw new NotFound({ message: 'Not Found', $metadata: {} });
    return { VersionId: input.VersionId, ETag: input.IfMatch ?? '"e"', ChecksumSHA256: b64(PREVIOUS_COPY_SHA), Metadata: { [CopyMetadata.SHA256]: PREVIOUS_COPY_SHA } };
  });
  s3.on(CopyObjectCommand).callsFake((input: { CopySource?: string; Metadata?: Record<string, string> }) => {
    const version = decodeURIComponent(/versionId=([^&]*)/.exec(input.CopySource ?? '')?.[1] ?? '');
    if (!version) throw new S3ServiceException({ name: 'NoSuchKey', $fault: 'client', message: 'no source version', $metadata: {} });
    const copy = copyOf(version);
    return { VersionId: copy.version, CopySourceVersionId: version, CopyObjectResult: { ETag: copy.eTag, ChecksumSHA256: b64(input.Metadata?.[CopyMetadata.SHA256] ?? '') } };
  });
};

const testClients = (): AwsClients => {
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  return {
    codeDeploy: (region) => new CodeDeployClient({ region, credentials }),
    cloudWatch: (region) => new CloudWatchClient({ region, credentials }),
    dynamo: () =>
      DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-west-2', credentials }), {
        marshallOptions: { removeUndefinedValues: true },
      }),
    sfn: () => new SFNClient({ region: 'us-west-2', credentials }),
    events: () => new EventBridgeClient({ region: 'us-west-2', credentials }),
    scheduler: () => new SchedulerClient({ region: 'us-west-2', credentials }),
    codeCommit: () => new CodeCommitClient({ region: 'us-west-2', credentials }),
    s3: () => new S3Client({ region: 'us-west-2', credentials }),
    codePipeline: () => new CodePipelineClient({ region: 'us-west-2', credentials }),
    secretsManager: () => new SecretsManagerClient({ region: 'us-west-2', credentials }),
  };
};

export const NOW = new Date('2026-12-01T18:00:00Z');
/** The reconciler's sweep slot after NOW (18:00 on the five-minute grid, core/sweeps.ts): the sweep a handler or a sweep at NOW wakes. */
export const NEXT_SWEEP = '2026-12-01T18:05:00.000Z';

/** Call at the top of a test file. */
export const useAwsMocks = (): void => {
  beforeEach(() => {
    for (const m of [ddb, codeDeploy, cloudWatch, sfn, events, scheduler, codeCommit, s3]) m.reset();
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });
    // The reconciler's lane sweep finds no lanes unless a test gives some.
    ddb.on(ScanCommand).resolves({ Items: [] });
    s3Defaults();
    for (const [k, v] of Object.entries(TABLES)) vi.stubEnv(k, v);
    setClients(testClients());
    logger.setLogLevel('SILENT');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(NOW);
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllEnvs();
    setClients(undefined);
  });
};

/** The events published through EventBridge, parsed. */
export const published = (): Array<Record<string, unknown>> =>
  events
    .commandCalls(PutEventsCommand)
    .flatMap((call) => call.args[0].input.Entries ?? [])
    .map((entry) => JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>);

/** The item a conditional write collided with, as DynamoDB returns it (marshalled). */
export const marshalled = (item: Record<string, unknown>) => marshall(item, { removeUndefinedValues: true });

export const $metadata = {};

let latestStore: Map<string, Record<string, any>> | undefined;

/**
 * The alarms a stored waiter watches: its `watching` (as registerWaiter writes it), or, for a
 * fixture written by a test without it, the names of its alarms and blocking alarm.
 */
const watchingOf = (w: Record<string, any>): string[] =>
  (w.watching as string[] | undefined) ?? [...new Set([...(w.alarms ?? []), ...(w.blocker ? [w.blocker] : [])].map((a: { name: string }) => a.name))];

/**
 * A small in-memory waiters table behind the mocked document client: enough of the
 * conditional writes the handlers use (finish OPEN -> DONE, re-register, count down a
 * rollback set, record delivery and drop from the open-waiters index) to show duplicates are
 * no-ops. Other tables answer {}.
 */
export const fakeWaiters = (initial: Array<Record<string, unknown>>): Map<string, Record<string, any>> => {
  const store = new Map<string, Record<string, any>>(initial.map((w) => [String(w.pk), structuredClone(w)]));
  latestStore = store;
  // on-alarm-event's Query: the open-waiters index, filtered on `watching`.
  ddb.on(QueryCommand, { TableName: 'waiters', FilterExpression: 'contains(#watching, :alarm)' }).callsFake((input) => ({
    Items: [...store.values()]
      .filter((w) => w.openShard === 'OPEN' && watchingOf(w).includes(input.ExpressionAttributeValues[':alarm']))
      .map((w) => structuredClone(w)),
  }));
  const conflict = (item: Record<string, unknown> | undefined) =>
    new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata, Item: item ? marshalled(item) : undefined });
  ddb.on(GetCommand).callsFake((input) => (input.TableName === 'waiters' ? { Item: structuredClone(store.get(input.Key.pk)) } : {}));
  ddb.on(PutCommand).callsFake((input) => {
    if (input.TableName !== 'waiters') return {};
    const existing = store.get(input.Item.pk);
    if (existing && input.ConditionExpression) throw conflict(existing);
    store.set(input.Item.pk, structuredClone(input.Item));
    return {};
  });
  ddb.on(UpdateCommand).callsFake((input) => {
    if (input.TableName !== 'waiters') return {};
    const item = store.get(input.Key.pk);
    const v = input.ExpressionAttributeValues ?? {};
    if (input.ConditionExpression?.includes('#status = :open') && item?.status !== 'OPEN') throw conflict(item);
    if (input.ConditionExpression?.includes('#status = :done') && item?.status !== 'DONE') throw conflict(item);
    if (!item) return {};
    if (input.UpdateExpression.includes(':done')) Object.assign(item, { status: 'DONE', result: v[':result'], updatedAt: v[':now'] });
    if (input.UpdateExpression.includes('#delivered')) Object.assign(item, { delivered: true }, v[':token'] ? { token: v[':token'] } : {});
    if (input.UpdateExpression.includes('REMOVE #openShard')) delete item.openShard;
    if (input.UpdateExpression.includes('#pending')) {
      // `NOT contains(#counted, :id)`: a rollback deployment is counted down once.
      if (input.ConditionExpression?.includes('NOT contains(#counted, :id)') && item.counted?.has(v[':id'])) throw conflict(item);
      item.pending -= v[':one'];
      item.rolledBack = [...item.rolledBack, ...v[':entry']];
      if (input.UpdateExpression.includes('ADD #counted :idSet')) item.counted = new Set([...(item.counted ?? []), ...v[':idSet']]);
    }
    if (input.UpdateExpression.startsWith('SET #token')) item.token = v[':token'];
    if (input.UpdateExpression.includes('#endsAt')) {
      if (item.extensions !== v[':current']) throw conflict(item);
      Object.assign(item, { endsAt: v[':endsAt'], extensions: v[':next'], extendedSeconds: item.extendedSeconds + (v[':by'] ?? 0) }, v[':ttl'] ? { expiresAt: v[':ttl'] } : {});
    }
    return { Attributes: structuredClone(item) };
  });
  return store;
};

/**
 * The watches of the latest fakeWaiters store, as on-alarm-event sees them: every waiter in the
 * open-waiters index (open, or finished and not delivered) watches the alarms its `watching`
 * names. A live view keyed `${alarm}\u0000${waiter key}`, values `{ pk: alarm, sk: waiter key, region }`.
 */
export const fakeWatches = (): Map<string, Record<string, any>> => {
  const entries = (): Array<[string, Record<string, any>]> =>
    [...(latestStore?.values() ?? [])]
      .filter((w) => w.openShard === 'OPEN')
      .flatMap((w) =>
        watchingOf(w).map((name): [string, Record<string, any>] => {
          const alarm = [...(w.alarms ?? []), ...(w.blocker ? [w.blocker] : [])].find((a: { name: string }) => a.name === name);
          return [`${name}\u0000${w.pk}`, { pk: name, sk: w.pk, region: alarm?.region }];
        }),
      );
  const view = {
    get size() {
      return entries().length;
    },
    get: (k: string) => new Map(entries()).get(k),
    has: (k: string) => new Map(entries()).has(k),
    values: () => new Map(entries()).values(),
    keys: () => new Map(entries()).keys(),
    clear: () => {
      for (const w of latestStore?.values() ?? []) delete w.watching;
    },
  };
  return view as unknown as Map<string, Record<string, any>>;
};

/** Invokes a wrapped handler as Lambda would: its input parsed with its contract first. */
export const invokeHandler = <I, O>(handler: (event: I, context: Context) => Promise<O>, event: unknown): Promise<O> =>
  handler(event as I, { functionName: 'handsoff-test', awsRequestId: 'r-1' } as unknown as Context);

/** The one-time schedules created that invoke `handler` (bake-end: bake ends; reconcile: sweep wakes, core/sweeps.ts), in order. */
export const schedulesOf = (handler: string) =>
  scheduler
    .commandCalls(CreateScheduleCommand)
    .map((c) => c.args[0].input)
    .filter((i) => i.Target?.Arn?.endsWith(`:function:${handler}`));

/**
 * The log records `run` prints, as CloudWatch Logs would get them: the handlers' logger at
 * DEBUG, its JSON lines taken from stdout and stderr (and kept off the test's output), then
 * the logger silent again.
 */
export const printedLogs = async (run: () => Promise<unknown>): Promise<Array<Record<string, unknown>>> => {
  const lines: string[] = [];
  const capture = (chunk: unknown): boolean => {
    lines.push(...String(chunk).split('\n').filter(Boolean));
    return true;
  };
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  logger.setLogLevel('DEBUG');
  try {
    await run();
  } finally {
    logger.setLogLevel('SILENT');
    out.mockRestore();
    err.mockRestore();
  }
  return lines.map((l) => JSON.parse(l) as Record<string, unknown>);
};
