/**
 * The region copies of a change's artifact (lambdas/shared/region-artifact.ts), through the
 * handlers that use them: start-deployment copies once per region and deploys the copy, a
 * copy whose SHA-256 is not the build's deploys nothing; rollback checks the copy it
 * restores and restores nothing it cannot verify; S3's throttling goes to the retries.
 */
import { CreateDeploymentCommand, GetDeploymentCommand, GetDeploymentGroupCommand, ListDeploymentsCommand, StopDeploymentCommand } from '@aws-sdk/client-codedeploy';
import { DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { CopyObjectCommand, HeadObjectCommand, NotFound, S3ServiceException } from '@aws-sdk/client-s3';
import { SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import type { StartDeploymentInput } from '../../core/contracts.ts';
import { rollback } from '../../lambdas/rollback/index.ts';
import { regionCopy } from '../../lambdas/shared/region-artifact.ts';
import { startDeployment } from '../../lambdas/start-deployment/index.ts';
import { $metadata, cloudWatch, codeDeploy, copyOf, ddb, fakeWaiters, published, regionBucketOf, s3, sfn, useAwsMocks } from './support.ts';

useAwsMocks();

const SHA = 'a'.repeat(64);
const b64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');
const artifact = { versionId: 'v-r1', eTag: '"e-r1"', sha256: SHA };
const input: StartDeploymentInput = {
  pipeline: 'storefront-api',
  change: 'c1',
  stage: 'wave-1',
  region: 'sa-east-1',
  target: 'fleet',
  unit: 'sae1-az1',
  taskToken: 'token-1',
  revision: 'r1',
  artifact,
  application: 'storefront-api',
  deploymentGroup: 'storefront-api-sae1-az1',
  alarms: ['storefront-api-sa-east-1-faults'],
};
const BUCKET = regionBucketOf('sa-east-1');

beforeEach(() => {
  fakeWaiters([]);
  ddb.on(GetCommand).resolves({});
  ddb.on(PutCommand).resolves({});
  ddb.on(UpdateCommand).resolves({});
  cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [{ AlarmName: input.alarms[0], StateValue: 'OK' }], CompositeAlarms: [] });
  codeDeploy.on(GetDeploymentGroupCommand).resolves({ deploymentGroupInfo: {} });
  codeDeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-NEW' });
  codeDeploy.on(ListDeploymentsCommand).resolves({ deployments: [] });
});

describe('the region copy before a deployment', () => {
  it("copies the pinned version to the region's bucket in one request, with its SHA-256, and deploys that copy", async () => {
    await startDeployment(input);
    expect(s3).toHaveReceivedCommandExactlyOnceWith(CopyObjectCommand, {
      Bucket: BUCKET,
      Key: 'storefront-api/r1.zip',
      CopySource: 'handsoff-artifacts/storefront-api/r1.zip?versionId=v-r1',
      ChecksumAlgorithm: 'SHA256',
      Metadata: { 'handsoff-sha256': SHA, 'handsoff-source-version': 'v-r1' },
      // Both buckets must be this account's: a bucket of that name owned by another is refused by S3.
      ExpectedBucketOwner: '111122223333',
      ExpectedSourceBucketOwner: '111122223333',
    });
    expect(s3).toHaveReceivedCommandWith(HeadObjectCommand, { Bucket: BUCKET, ExpectedBucketOwner: '111122223333' });
    expect(codeDeploy).toHaveReceivedCommandWith(CreateDeploymentCommand, {
      revision: { revisionType: 'S3', s3Location: { bucket: BUCKET, key: 'storefront-api/r1.zip', bundleType: 'zip', ...copyOf('v-r1') } },
    });
    expect(published()).toEqual([expect.objectContaining({ type: 'deployment.started', revision: 'r1', sha256: SHA })]);
  });

  it('is idempotent: a region bucket that holds a copy of that version with that SHA-256 is not copied to again', async () => {
    s3.on(HeadObjectCommand, { Bucket: BUCKET, Key: 'storefront-api/r1.zip' }).resolves({
      VersionId: 'copy-earlier',
      ETag: '"e-r1"',
      ChecksumSHA256: b64(SHA),
      Metadata: { 'handsoff-sha256': SHA, 'handsoff-source-version': 'v-r1' },
    });
    const copy = await regionCopy('storefront-api', 'r1', artifact, 'sa-east-1');
    expect(copy).toMatchObject({ bucket: BUCKET, version: 'copy-earlier', eTag: '"e-r1"', sha256: SHA });
    expect(s3).not.toHaveReceivedCommand(CopyObjectCommand);
  });

  it('copies again when the current object there is a copy of another version, or has another SHA-256', async () => {
    s3.on(HeadObjectCommand, { Bucket: BUCKET, Key: 'storefront-api/r1.zip' }).resolves({
      VersionId: 'copy-older',
      ETag: '"e-r0"',
      ChecksumSHA256: b64('0'.repeat(64)),
      Metadata: { 'handsoff-sha256': '0'.repeat(64), 'handsoff-source-version': 'v-old' },
    });
    await expect(regionCopy('storefront-api', 'r1', artifact, 'sa-east-1')).resolves.toMatchObject(copyOf('v-r1'));
    expect(s3).toHaveReceivedCommandTimes(CopyObjectCommand, 1);
  });

  it("fails closed, naming both checksums, when the copy's SHA-256 is not the build's: nothing is claimed or deployed", async () => {
    s3.on(CopyObjectCommand).resolves({ VersionId: 'copy-bad', CopyObjectResult: { ETag: '"x"', ChecksumSHA256: b64('d'.repeat(64)) } });
    await expect(startDeployment(input)).rejects.toMatchObject({
      name: 'ArtifactUnavailable',
      message: expect.stringContaining(`has SHA-256 ${'d'.repeat(64)}, not the build's ${SHA}`),
    });
    expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(ddb).not.toHaveReceivedCommandWith(PutCommand, { TableName: 'deployments' });
    expect(published()).toEqual([]);
  });

  it('refuses an unversioned region bucket', async () => {
    s3.on(CopyObjectCommand).resolves({ CopyObjectResult: { ETag: '"x"', ChecksumSHA256: b64(SHA) } });
    await expect(regionCopy('storefront-api', 'r1', artifact, 'sa-east-1')).rejects.toMatchObject({ name: 'ArtifactUnavailable', message: expect.stringContaining('must be versioned') });
  });

  it("lets S3's throttling through for the state machine to retry", async () => {
    s3.on(CopyObjectCommand).rejects(new S3ServiceException({ name: 'SlowDown', $fault: 'server', message: 'Please reduce your request rate.', $metadata }));
    await expect(startDeployment(input)).rejects.toMatchObject({ name: 'SlowDown' });
    expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
  });
});

describe('the region copy before a rollback', () => {
  const previous = { bucket: BUCKET, key: 'storefront-api/r0.zip', bundleType: 'zip' as const, eTag: '"e0"', version: 'copy-v0' };
  const deployed = {
    pk: 'storefront-api#c1',
    sk: 'wave-1#sa-east-1#storefront-api-sae1-az1',
    pipeline: 'storefront-api',
    change: 'c1',
    stage: 'wave-1',
    region: 'sa-east-1',
    target: 'fleet',
    unit: 'sae1-az1',
    application: 'storefront-api',
    deploymentGroup: 'storefront-api-sae1-az1',
    revision: 'r1',
    artifact,
    status: 'IN_PROGRESS',
    deploymentId: 'd-1',
    claimedAt: '2026-12-01T17:00:00.000Z',
    previousRevision: 'r0',
    previousLocation: previous,
  };
  const rollbackInput = { pipeline: 'storefront-api', change: 'c1', stage: 'wave-1', region: 'sa-east-1', taskToken: 'rb-1', reason: 'alarm went to ALARM' };

  beforeEach(() => {
    ddb.on(QueryCommand).resolves({ Items: [deployed] });
    codeDeploy.on(GetDeploymentCommand).resolves({ deploymentInfo: {} });
    codeDeploy.on(StopDeploymentCommand).resolves({ status: 'Pending' });
    codeDeploy.on(CreateDeploymentCommand).resolves({ deploymentId: 'd-RB' });
    sfn.on(SendTaskSuccessCommand).resolves({});
  });

  it('checks that exact version, its ETag and its SHA-256, then restores it and says which SHA-256 it restores', async () => {
    const sha0 = 'e'.repeat(64);
    s3.on(HeadObjectCommand, { Bucket: BUCKET, Key: 'storefront-api/r0.zip', VersionId: 'copy-v0', IfMatch: '"e0"', ChecksumMode: 'ENABLED' }).resolves({
      VersionId: 'copy-v0',
      ETag: '"e0"',
      ChecksumSHA256: b64(sha0),
      Metadata: { 'handsoff-sha256': sha0 },
    });
    await rollback(rollbackInput);
    expect(codeDeploy).toHaveReceivedCommandWith(CreateDeploymentCommand, { revision: { revisionType: 'S3', s3Location: previous } });
    expect(published()).toContainEqual(expect.objectContaining({ type: 'rollback.started', revision: 'r0', sha256: sha0 }));
  });

  it.each([
    ['is missing (a noncurrent version expired)', () => s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata })), /is missing/],
    [
      'has another SHA-256 than it was copied with',
      () => s3.on(HeadObjectCommand).resolves({ VersionId: 'copy-v0', ETag: '"e0"', ChecksumSHA256: b64('1'.repeat(64)), Metadata: { 'handsoff-sha256': '2'.repeat(64) } }),
      /has SHA-256 1{64}, not the 2{64} it was copied with/,
    ],
    [
      'has another ETag (S3 answers 412)',
      () => s3.on(HeadObjectCommand).rejects(new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', message: 'pre-conditions', $metadata: { httpStatusCode: 412 } })),
      /another ETag/,
    ],
  ])('restores nothing when the copy %s, stops the change there and fails with the reason', async (_, given, reason) => {
    given();
    await expect(rollback(rollbackInput)).rejects.toMatchObject({ name: 'ArtifactUnavailable', message: expect.stringMatching(reason) });
    expect(codeDeploy).not.toHaveReceivedCommand(CreateDeploymentCommand);
    expect(codeDeploy).toHaveReceivedCommandWith(StopDeploymentCommand, { deploymentId: 'd-1' });
  });
});
