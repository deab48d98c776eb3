import { HeadObjectCommand, NotFound, S3ServiceException } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { resolveArtifact } from '../../lambdas/resolve-artifact/index.ts';
import { $metadata, s3, useAwsMocks } from './support.ts';

useAwsMocks();

const SHA = 'ab'.repeat(32);
const VERSION = '3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY';
/** The build's record: what its buildspec exported after the upload. */
const build = (exported: Record<string, string> = { ARTIFACT_SHA256: SHA, ARTIFACT_VERSION_ID: VERSION }) => ({
  Id: 'handsoff-storefront-api-build:7',
  ExportedEnvironmentVariables: Object.entries(exported).map(([Name, Value]) => ({ Name, Value })),
});
const input = { pipeline: 'storefront-api', change: 'c1', revision: 'r1', build: build() };
const base64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

describe('resolve-artifact', () => {
  it('pins the version the build uploaded at the change\'s key: its version, ETag and full-object SHA-256, the one the build exported', async () => {
    // Prepare
    s3.on(HeadObjectCommand, { Bucket: 'handsoff-artifacts', Key: 'storefront-api/r1.zip', ChecksumMode: 'ENABLED', VersionId: VERSION }).resolves({
      VersionId: VERSION,
      ETag: '"9b2cf535f27731c974343645a3985328"',
      ChecksumSHA256: base64(SHA),
    });
    // Act
    const artifact = await resolveArtifact(input);
    // Assess
    expect(artifact).toEqual({ versionId: VERSION, eTag: '"9b2cf535f27731c974343645a3985328"', sha256: SHA });
  });

  it('fails closed, naming both, when the object\'s SHA-256 is not the one the build exported', async () => {
    s3.on(HeadObjectCommand).resolves({ VersionId: VERSION, ETag: '"e"', ChecksumSHA256: base64('cd'.repeat(32)) });
    await expect(resolveArtifact(input)).rejects.toMatchObject({
      name: 'ArtifactUnavailable',
      message: expect.stringMatching(new RegExp(`has SHA-256 ${'cd'.repeat(32)}, not the ${SHA} the build exported`)),
    });
  });

  it('fails closed when the build exported no SHA-256, and says what the buildspec must do', async () => {
    await expect(resolveArtifact({ ...input, build: build({}) })).rejects.toMatchObject({
      name: 'ArtifactUnavailable',
      message: expect.stringMatching(/exported no ARTIFACT_SHA256: its buildspec must upload .* --checksum-algorithm SHA256/),
    });
    await expect(resolveArtifact({ pipeline: 'storefront-api', change: 'c1', revision: 'r1' })).rejects.toMatchObject({ name: 'ArtifactUnavailable' });
    expect(s3).not.toHaveReceivedCommand(HeadObjectCommand);
  });

  it('fails the change with the key and the fix when nothing was uploaded', async () => {
    s3.on(HeadObjectCommand).rejects(new NotFound({ message: 'Not Found', $metadata }));
    await expect(resolveArtifact(input)).rejects.toMatchObject({
      name: 'ArtifactUnavailable',
      message: expect.stringMatching(/no artifact at s3:\/\/handsoff-artifacts\/storefront-api\/r1.zip \(version .*\): the build must upload .* --checksum-algorithm SHA256/),
    });
  });

  it('refuses an unversioned object: a rollback could not restore the exact previous one', async () => {
    const unpinned = { ...input, build: build({ ARTIFACT_SHA256: SHA }) };
    s3.on(HeadObjectCommand).resolves({ ETag: '"e"', ChecksumSHA256: base64(SHA) });
    await expect(resolveArtifact(unpinned)).rejects.toMatchObject({ name: 'ArtifactUnavailable', message: expect.stringContaining('must be versioned') });
    s3.on(HeadObjectCommand).resolves({ VersionId: 'null', ETag: '"e"', ChecksumSHA256: base64(SHA) });
    await expect(resolveArtifact(unpinned)).rejects.toMatchObject({ name: 'ArtifactUnavailable' });
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
