/**
 * The bucket that receives an artifact bucket's server access logs (the control plane's, and
 * each target region's): encrypted, private, TLS only, kept a year, retained with the stack's
 * deletion. It does not log itself (that would loop): cdk-nag's S1 is acknowledged with that reason.
 */
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { acknowledge } from '../nag.ts';

export const accessLogsBucket = (scope: Construct, id: string, of: string): s3.Bucket => {
  const bucket = new s3.Bucket(scope, id, {
    encryption: s3.BucketEncryption.S3_MANAGED,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    enforceSSL: true,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
    lifecycleRules: [{ expiration: Duration.days(365) }],
    removalPolicy: RemovalPolicy.RETAIN,
  });
  acknowledge(bucket, 'AwsSolutions-S1', `This bucket receives the server access logs of ${of}; logging it into itself would loop.`);
  return bucket;
};
