import { HeadObjectCommand, NotFound, S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { resolveArtifact } from '../../lambdas/resolve-artifact/index.ts';
import { $metadata, s3, useAwsMocks } from './support.ts';

useAwsMocks();

const input = { pipeline: 'storefront-api', change: 'c1', revision: 'r1' };
const SHA = 'ab'.repeat(32);
const base64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

describe('resolve-artifact', () => {
  it("pins the object at the change's key: its version, ETag and full-object SHA-256", async () => {
    // Prepare
    s3.on(HeadObjectCommand, { Bucket: 'handsoff-artifacts', Key: 'storefront-api/r1.zip', ChecksumMode: 'ENABLED' }).resolves({
      VersionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY',
      ETag: '"9b2cf535f27731c974343645a3985328"',
      ChecksumSHA256: base64(SHA),
    });
    // Act
    const artifact = await resolveArtifact(input);
    // Assess
    expect(artifact).toEqual({ versionId: '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY', eTag: '"9b2cf535f27731c974343645a3985328"', sha256: SHA });
  });

  it('fails the change with the key and the fix when nothing was uploaded', async () => {
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata }));
    await expect(resolveArtifact(input)).rejects.toMatchObject({
      name: 'ArtifactUnavailable',
      message: expect.stringMatching(/no artifact at s3:\/\/handsoff-artifacts\/storefront-api\/r1.zip: upload .* --checksum-algorithm SHA256/),
    });
  });

  it('refuses an unversioned object: a rollback could not restore the exact previous one', async () => {
    s3.on(HeadObjectCommand).resolves({ ETag: '"e"', ChecksumSHA256: base64(SHA) });
    await expect(resolveArtifact(input)).rejects.toMatchObject({ name: 'ArtifactUnavailable', message: expect.stringContaining('must be versioned') });
    s3.on(HeadObjectCommand).resolves({ VersionId: 'null', ETag: '"e"', ChecksumSHA256: base64(SHA) });
    await expect(resolveArtifact(input)).rejects.toMatchObject({ name: 'ArtifactUnavailable' });
  });

  it('refuses an object without a full-object SHA-256 (none, or the checksum of a multipart upload\'s parts)', async () => {
    s3.on(HeadObjectCommand).resolves({ VersionId: 'v1', ETag: '"e"' });
    await expect(resolveArtifact(input)).rejects.toMatchObject({ name: 'ArtifactUnavailable', message: expect.stringContaining('no full-object SHA-256') });
    s3.on(HeadObjectCommand).resolves({ VersionId: 'v1', ETag: '"e-3"', ChecksumSHA256: `${base64(SHA)}-3` });
    await expect(resolveArtifact(input)).rejects.toMatchObject({ name: 'ArtifactUnavailable', message: expect.stringContaining('multipart') });
  });

  it('lets throttling through for the state machine to retry', async () => {
    s3.on(HeadObjectCommand).rejects(new S3ServiceException({ name: 'SlowDown', $fault: 'server', message: 'Please reduce your request rate.', $metadata }));
    await expect(resolveArtifact(input)).rejects.toMatchObject({ name: 'SlowDown' });
  });
});
