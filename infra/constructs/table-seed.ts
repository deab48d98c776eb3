/**
 * Writes configuration items into a DynamoDB table at deploy time, with BatchWriteItem
 * calls of at most 25 items through AwsCustomResource. A custom resource, because
 * CloudFormation has no "item" resource and the alternative (a table import from S3)
 * works only when the table is created, never when the config changes.
 */
import { Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { AwsCustomResource, AwsCustomResourcePolicy, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';
import { marshall, type SeedItem } from './seed-items.ts';

const BATCH_WRITE_LIMIT = 25;

export interface TableSeedProps {
  readonly table: dynamodb.ITable;
  readonly items: readonly object[];
  /** Role of the custom resource provider function (shared by every seed of the stack). */
  readonly role: iam.IRole;
  /** Log group of the custom resource provider function. */
  readonly logGroup: logs.ILogGroup;
}

export class TableSeed extends Construct {
  constructor(scope: Construct, id: string, props: TableSeedProps) {
    super(scope, id);
    for (let i = 0; i * BATCH_WRITE_LIMIT < props.items.length; i++) {
      const chunk = props.items.slice(i * BATCH_WRITE_LIMIT, (i + 1) * BATCH_WRITE_LIMIT);
      const digest = createHash('sha256').update(JSON.stringify(chunk)).digest('hex').slice(0, 16);
      const call = {
        service: 'DynamoDB',
        action: 'BatchWriteItem',
        parameters: {
          RequestItems: { [props.table.tableName]: chunk.map((item) => ({ PutRequest: { Item: marshall(item as SeedItem) } })) },
        },
        // A new id when the items change: CloudFormation then writes them again.
        physicalResourceId: PhysicalResourceId.of(`${Stack.of(this).stackName}-${id}-${i}-${digest}`),
      };
      new AwsCustomResource(this, `Batch${i}`, {
        onCreate: call,
        onUpdate: call,
        role: props.role,
        logGroup: props.logGroup,
        installLatestAwsSdk: false,
        policy: AwsCustomResourcePolicy.fromSdkCalls({ resources: [props.table.tableArn] }),
      });
    }
  }
}
