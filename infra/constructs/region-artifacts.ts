/**
 * The artifact bucket of one target region: handsoff copies each change's bundle here before
 * the region's first deployment of it (lambdas/shared/region-artifact.ts), and the region's
 * CodeDeploy agents read it from here, never across regions. Versioned (a rollback restores
 * the exact previous copy by version), SSE-S3, TLS only, no public access, retained when the
 * stack goes; noncurrent versions (a copy made again) are kept for the rollback horizon.
 */
import { Duration, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { regionArtifactBucketName } from '../../core/naming.ts';
import { accessLogsBucket } from './access-logs.ts';
import { acknowledge } from '../nag.ts';

/** How long a replaced copy stays restorable: well past any change's time in the pipeline. */
export const NONCURRENT_COPY_DAYS = 180;

export interface RegionArtifacts {
  readonly bucket: s3.Bucket;
  /** Attach to the instance role of the region's hosts: the CodeDeploy agent reads the bundle with it. */
  readonly readPolicy: iam.ManagedPolicy;
}

export const regionArtifacts = (stack: Stack, region: string): RegionArtifacts => {
  const accessLogs = accessLogsBucket(stack, 'ArtifactAccessLogs', "the region's artifact bucket");
  const bucket = new s3.Bucket(stack, 'Artifacts', {
    bucketName: regionArtifactBucketName(stack.account, region),
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    versioned: true,
    removalPolicy: RemovalPolicy.RETAIN,
    lifecycleRules: [{ noncurrentVersionExpiration: Duration.days(NONCURRENT_COPY_DAYS), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
    serverAccessLogsBucket: accessLogs,
    serverAccessLogsPrefix: 'artifacts/',
  });
  const readPolicy = new iam.ManagedPolicy(stack, 'ArtifactsReadPolicy', {
    description: `handsoff: the CodeDeploy agent on ${region}'s hosts reads the change's bundle from the region's artifact bucket`,
    statements: [new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [bucket.arnForObjects('*')] })],
  });
  acknowledge(readPolicy, `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(bucket.node.defaultChild as s3.CfnBucket)}.Arn>/*]`, 'Bundles are keyed per pipeline and revision at run time (naming.artifactKey); read-only, in this region\'s artifact bucket only.');
  return { bucket, readPolicy };
};
