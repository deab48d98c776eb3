/**
 * The control plane's DynamoDB tables (key layouts and TTLs: lambdas/shared/tables.ts) and
 * the seeding of each pipeline's windows and holidays at deploy time. Created in the stack's
 * own scope, so their construct ids (`<Name>Table`, `<Pipeline>Windows`) stay as they were.
 */
import { RemovalPolicy, type Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { ResolvedPipeline } from '../../../core/model.ts';
import { ENV } from '../../../lambdas/shared/config.ts';
import { OPEN_SHARD_ATTRIBUTE, OPEN_WAITERS_INDEX, TTL_ATTRIBUTE } from '../../../lambdas/shared/tables.ts';
import { TableSeed } from '../table-seed.ts';
import { holidayItems, windowItems } from '../seed-items.ts';
import type { TableName } from './access.ts';
import { pascal } from './names.ts';

/**
 * Key layouts and TTLs: lambdas/shared/tables.ts. `tokens`: the table holds Step Functions
 * task tokens (a waiter's, a change waiting for a lane), and whoever reads a token can
 * complete or fail that step: such tables are encrypted with the control plane's own key,
 * which only the handlers that use them may use (functions.ts).
 */
export const TABLES: Record<TableName, { sortKey: boolean; env: string; ttl?: string; tokens?: boolean }> = {
  deployments: { sortKey: true, env: ENV.DEPLOYMENTS_TABLE },
  waiters: { sortKey: false, env: ENV.WAITERS_TABLE, ttl: TTL_ATTRIBUTE, tokens: true },
  watches: { sortKey: true, env: ENV.WATCHES_TABLE, ttl: TTL_ATTRIBUTE },
  windows: { sortKey: true, env: ENV.WINDOWS_TABLE },
  holidays: { sortKey: true, env: ENV.HOLIDAYS_TABLE },
  lanes: { sortKey: true, env: ENV.LANES_TABLE, tokens: true },
  // One record per change (start-change's claim): no task token, no customer-managed key.
  changes: { sortKey: true, env: ENV.CHANGES_TABLE },
};

export const createTables = (stack: Stack): Record<TableName, dynamodb.Table> => {
  const tokenKey = new kms.Key(stack, 'TaskTokensKey', {
    enableKeyRotation: true,
    description: 'handsoff: encrypts the tables that hold Step Functions task tokens (waiters, lanes)',
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const tables = Object.fromEntries(
    Object.entries(TABLES).map(([name, spec]) => [
      name,
      new dynamodb.Table(stack, `${pascal(name)}Table`, {
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        ...(spec.sortKey ? { sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING } } : {}),
        ...(spec.ttl ? { timeToLiveAttribute: spec.ttl } : {}),
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        ...(spec.tokens ? { encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED, encryptionKey: tokenKey } : {}),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        // The deployment history and the audit of waits outlive a stack replacement.
        removalPolicy: RemovalPolicy.RETAIN,
      }),
    ]),
  ) as Record<TableName, dynamodb.Table>;
  // Sparse: only open waiters carry `openShard`, so the reconciler reads exactly those.
  tables.waiters.addGlobalSecondaryIndex({
    indexName: OPEN_WAITERS_INDEX,
    partitionKey: { name: OPEN_SHARD_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
    sortKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    projectionType: dynamodb.ProjectionType.ALL,
  });
  return tables;
};

/** Environment variables naming each table, for the handlers. */
export const tableEnvironment = (tables: Record<TableName, dynamodb.Table>): Record<string, string> =>
  Object.fromEntries(Object.entries(TABLES).map(([t, spec]) => [spec.env, tables[t as TableName].tableName]));

/** Writes the pipelines' windows and holidays into their tables at deploy time. */
export const seedTables = (stack: Stack, tables: Record<TableName, dynamodb.Table>, pipelines: readonly ResolvedPipeline[]): void => {
  const logGroup = new logs.LogGroup(stack, 'SeedLogs', { retention: logs.RetentionDays.ONE_MONTH });
  const role = new iam.Role(stack, 'SeedRole', {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: 'Writes the pipelines\' windows and holidays into their tables at deploy time.',
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
  );
  for (const p of pipelines) {
    new TableSeed(stack, `${pascal(p.name)}Windows`, { table: tables.windows, items: windowItems(p), role, logGroup });
    new TableSeed(stack, `${pascal(p.name)}Holidays`, { table: tables.holidays, items: holidayItems(p), role, logGroup });
  }
};
