/**
 * The control plane's DynamoDB tables (keys, TTLs and indexes: core/tables.ts TABLE_SCHEMAS) and
 * the seeding of each pipeline's windows and holidays at deploy time. Created in the stack's
 * own scope, so their construct ids (`<Name>Table`, `<Pipeline>Windows`) stay as they were.
 */
import { RemovalPolicy, type Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { ResolvedPipeline } from '../../../core/model.ts';
import { TABLE_SCHEMAS, type TableName } from '../../../core/tables.ts';
import { TABLE_ENV } from '../../../lambdas/shared/config.ts';
import { TableSeed } from '../table-seed.ts';
import { holidayItems, windowItems } from '../seed-items.ts';
import { pascal } from './names.ts';

/** Tables with deletion protection: the audit trail (every decision, who, when, why). */
export const PROTECTED_TABLES: readonly TableName[] = ['audit'];

export const createTables = (stack: Stack): Record<TableName, dynamodb.Table> => {
  const tokenKey = new kms.Key(stack, 'TaskTokensKey', {
    enableKeyRotation: true,
    description: 'handsoff: encrypts the tables that hold Step Functions task tokens (waiters, lanes)',
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const tables = Object.fromEntries(
    Object.entries(TABLE_SCHEMAS).map(([name, spec]) => [
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
        // The audit trail cannot be deleted by a stack update either, nor by hand without first lifting this.
        ...(PROTECTED_TABLES.includes(name as TableName) ? { deletionProtection: true } : {}),
      }),
    ]),
  ) as Record<TableName, dynamodb.Table>;
  // The waiters' sparse index: only open waiters and finished ones not yet delivered carry `openShard`, so the reconciler reads exactly those.
  for (const [name, spec] of Object.entries(TABLE_SCHEMAS) as Array<[TableName, (typeof TABLE_SCHEMAS)[TableName]]>) {
    for (const index of spec.indexes ?? []) {
      tables[name].addGlobalSecondaryIndex({
        indexName: index.name,
        partitionKey: { name: index.partitionKey, type: dynamodb.AttributeType.STRING },
        sortKey: { name: index.sortKey, type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.ALL,
      });
    }
  }
  return tables;
};

/** Environment variables naming each table, for the handlers. */
export const tableEnvironment = (tables: Record<TableName, dynamodb.Table>): Record<string, string> =>
  Object.fromEntries((Object.keys(TABLE_SCHEMAS) as TableName[]).map((t) => [TABLE_ENV[t], tables[t].tableName]));

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
