/**
 * The one place handlers get their AWS clients from. On AWS these are the SDK v3 clients,
 * created once per container and reused; the simulator replaces them with its world
 * (simulated CodeDeploy/CloudWatch/CodeCommit, local DynamoDB, local Step Functions) via setClients.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { CodeCommitClient } from '@aws-sdk/client-codecommit';
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { CodeDeployClient } from '@aws-sdk/client-codedeploy';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { S3Client } from '@aws-sdk/client-s3';
import { SchedulerClient } from '@aws-sdk/client-scheduler';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface AwsClients {
  codeDeploy(region: string): CodeDeployClient;
  cloudWatch(region: string): CloudWatchClient;
  dynamo(): DynamoDBDocumentClient;
  sfn(): SFNClient;
  events(): EventBridgeClient;
  scheduler(): SchedulerClient;
  /** The home region's CodeCommit (the review gate reads pull requests there). */
  codeCommit(): CodeCommitClient;
  /** S3 of a region: the home region's (the artifact bucket) by default, a target region's for its copies. */
  s3(region?: string): S3Client;
  /** The home region's CodePipeline (a GitHub source pipeline's job results). */
  codePipeline(): CodePipelineClient;
  /** The home region's Secrets Manager (the GitHub token of the review gate). */
  secretsManager(): SecretsManagerClient;
}

const perRegion = <T>(make: (region: string) => T): ((region: string) => T) => {
  const cache = new Map<string, T>();
  return (region) => {
    let client = cache.get(region);
    if (!client) {
      client = make(region);
      cache.set(region, client);
    }
    return client;
  };
};

const lazy = <T>(make: () => T): (() => T) => {
  let client: T | undefined;
  return () => (client ??= make());
};

export const createAwsClients = (): AwsClients => ({
  codeDeploy: perRegion((region) => new CodeDeployClient({ region })),
  cloudWatch: perRegion((region) => new CloudWatchClient({ region })),
  dynamo: lazy(() =>
    DynamoDBDocumentClient.from(new DynamoDBClient({}), {
      marshallOptions: { removeUndefinedValues: true },
    }),
  ),
  sfn: lazy(() => new SFNClient({})),
  events: lazy(() => new EventBridgeClient({})),
  scheduler: lazy(() => new SchedulerClient({})),
  codeCommit: lazy(() => new CodeCommitClient({})),
  codePipeline: lazy(() => new CodePipelineClient({})),
  secretsManager: lazy(() => new SecretsManagerClient({})),
  s3: ((home: () => S3Client, regional: (region: string) => S3Client) => (region?: string) => (region ? regional(region) : home()))(
    lazy(() => new S3Client({})),
    perRegion((region) => new S3Client({ region })),
  ),
});

let current: AwsClients | undefined;

export const clients = (): AwsClients => (current ??= createAwsClients());

/** Used by the simulator (and tests) to hand handlers another world. */
export const setClients = (next: AwsClients | undefined): void => {
  current = next;
};
