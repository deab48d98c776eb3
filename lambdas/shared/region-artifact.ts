/**
 * The change's artifact in a target region: CodeDeploy there reads its bundle from the
 * region's own artifact bucket (naming.regionArtifactBucketName), never across regions. The
 * copy is made before the region's first deployment of the change, in one request (S3
 * CopyObject from the pinned version, S3 computing the copy's SHA-256), and is idempotent: a
 * region bucket that already holds a copy of that version with that SHA-256 is not copied to
 * again. The copy carries the SHA-256 the build exported and the source version as metadata
 * (core/build.ts CopyMetadata), so that a later rollback to it checks it against S3's own.
 *
 * Fail closed (ArtifactUnavailable, with the object and the reason): a copy whose SHA-256 is
 * not the build's, an unversioned region bucket, a copy that is missing (a noncurrent version
 * expired) or differs when a rollback needs it. Throttling and 5xx go to the state machine's retries.
 */
import { CopyObjectCommand, HeadObjectCommand, NotFound, NoSuchKey, type HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { CopyMetadata } from '../../core/build.ts';
import type { ArtifactRef } from '../../core/contracts.ts';
import { ArtifactUnavailableError, hasName } from '../../core/errors.ts';
import { artifactKey, regionArtifactBucketName } from '../../core/naming.ts';
import { clients } from './clients.ts';
import { env, ENV } from './config.ts';
import { logger } from './logger.ts';
import type { ArtifactLocation } from './tables.ts';

/** What a deployment claim (core/tables.ts DeploymentItem) records of the copy it deploys. */
export interface CopyRecord {
  /** The region's copy of the change's artifact that CodeDeploy deploys (its bucket, version and ETag). */
  location?: ArtifactLocation;
}

/** A region copy: where CodeDeploy reads it, and its SHA-256 as S3 computed it. */
export interface RegionCopy extends ArtifactLocation {
  version: string;
  eTag: string;
  sha256: string;
}

/** Hex of S3's base64 full-object ChecksumSHA256, or why it is not one. */
export const sha256Of = (checksum: string | undefined): { sha256: string } | { problem: string } => {
  if (!checksum || /-\d+$/.test(checksum)) {
    return { problem: `carries no full-object SHA-256 checksum${checksum ? ' (a multipart upload checksums its parts)' : ''}: upload it in one part with --checksum-algorithm SHA256` };
  }
  const sha256 = Buffer.from(checksum, 'base64').toString('hex');
  return /^[0-9a-f]{64}$/.test(sha256) ? { sha256 } : { problem: `has a malformed SHA-256 checksum '${checksum}'` };
};

/** The full-object SHA-256 in hex, if S3 gave a well-formed one. */
const hexOf = (checksum: string | undefined): string | undefined => {
  const checked = sha256Of(checksum);
  return 'sha256' in checked ? checked.sha256 : undefined;
};

const isOtherObject = (err: unknown): boolean => hasName(err, 'PreconditionFailed') || (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode === 412;

/** S3's answer that the object or version is not there. */
export const isMissing = (err: unknown): boolean => err instanceof NotFound || err instanceof NoSuchKey || hasName(err, 'NotFound', 'NoSuchKey', 'NoSuchVersion');

const head = async (region: string, location: { bucket: string; key: string; version?: string; eTag?: string }): Promise<HeadObjectCommandOutput | undefined> => {
  try {
    return await clients()
      .s3(region)
      .send(
        new HeadObjectCommand({
          Bucket: location.bucket,
          Key: location.key,
          ChecksumMode: 'ENABLED',
          // Artifact buckets are this account's: S3 refuses (403) a bucket of that name owned by another.
          ExpectedBucketOwner: env(ENV.ACCOUNT_ID),
          ...(location.version ? { VersionId: location.version } : {}),
          // S3 answers 412 when the object's ETag is another one.
          ...(location.eTag ? { IfMatch: location.eTag.startsWith('"') ? location.eTag : `"${location.eTag}"` } : {}),
        }),
      );
  } catch (err) {
    if (isMissing(err)) return undefined;
    if (isOtherObject(err)) {
      throw new ArtifactUnavailableError(`s3://${location.bucket}/${location.key} (version ${location.version ?? 'current'}) has another ETag than the ${location.eTag} CodeDeploy deployed`, { ...location, region });
    }
    throw err;
  }
};

/** The region's artifact bucket. */
export const regionBucket = (region: string): string => regionArtifactBucketName(env(ENV.ACCOUNT_ID), region);

/** The build's object in the home bucket: what a group was deployed from before region copies. */
export const homeLocation = (pipeline: string, revision: string, artifact: ArtifactRef): ArtifactLocation => ({
  bucket: env(ENV.ARTIFACT_BUCKET),
  key: artifactKey(pipeline, revision),
  bundleType: 'zip',
  version: artifact.versionId,
  eTag: artifact.eTag,
});

/**
 * The change's copy in `region`'s bucket, made now if the bucket lacks it; its SHA-256 is the
 * build's (checked on the copy S3 reports, or on the one found).
 */
export const regionCopy = async (pipeline: string, revision: string, artifact: ArtifactRef, region: string): Promise<RegionCopy> => {
  const bucket = regionBucket(region);
  const key = artifactKey(pipeline, revision);
  const where = `s3://${bucket}/${key}`;
  const context = { bucket, key, region, sourceVersion: artifact.versionId };
  const found = await head(region, { bucket, key });
  if (
    found?.VersionId &&
    found.VersionId !== 'null' &&
    found.ETag &&
    hexOf(found.ChecksumSHA256) === artifact.sha256 &&
    found.Metadata?.[CopyMetadata.SHA256] === artifact.sha256 &&
    found.Metadata?.[CopyMetadata.SOURCE_VERSION] === artifact.versionId
  ) {
    return { bucket, key, bundleType: 'zip', version: found.VersionId, eTag: found.ETag, sha256: artifact.sha256 };
  }
  const source = env(ENV.ARTIFACT_BUCKET);
  const copied = await clients()
    .s3(region)
    .send(
      new CopyObjectCommand({
        Bucket: bucket,
        Key: key,
        CopySource: `${source}/${key.split('/').map(encodeURIComponent).join('/')}?versionId=${encodeURIComponent(artifact.versionId)}`,
        ChecksumAlgorithm: 'SHA256',
        ExpectedBucketOwner: env(ENV.ACCOUNT_ID),
        ExpectedSourceBucketOwner: env(ENV.ACCOUNT_ID),
        MetadataDirective: 'REPLACE',
        Metadata: { [CopyMetadata.SHA256]: artifact.sha256, [CopyMetadata.SOURCE_VERSION]: artifact.versionId },
      }),
    );
  const version = copied.VersionId;
  if (!version || version === 'null') {
    throw new ArtifactUnavailableError(`${where} has no version id: the region's artifact bucket must be versioned, so that a rollback restores the exact copy`, context);
  }
  const sha256 = hexOf(copied.CopyObjectResult?.ChecksumSHA256);
  if (sha256 !== artifact.sha256) {
    throw new ArtifactUnavailableError(
      `the copy of ${artifactKey(pipeline, revision)} in ${where} (version ${version}) has SHA-256 ${sha256 ?? 'none'}, not the build's ${artifact.sha256}; handsoff does not deploy it`,
      context,
    );
  }
  const eTag = copied.CopyObjectResult?.ETag;
  if (!eTag) throw new ArtifactUnavailableError(`the copy in ${where} has no ETag; CodeDeploy could not verify the bundle`, context);
  logger.info('artifact copied to the region', { ...context, version, sha256 });
  return { bucket, key, bundleType: 'zip', version, eTag, sha256 };
};

/**
 * Checks a region copy before a rollback restores it: that exact version must still be there,
 * with the ETag CodeDeploy deployed, and S3's SHA-256 of it must be the one it was copied with.
 * @returns its SHA-256.
 */
export const checkedCopy = async (region: string, location: ArtifactLocation): Promise<string> => {
  const where = `s3://${location.bucket}/${location.key} (version ${location.version ?? 'none'})`;
  const context = { bucket: location.bucket, key: location.key, version: location.version, region };
  const found = await head(region, location);
  if (!found) throw new ArtifactUnavailableError(`${where} is missing: the copy a rollback would restore is gone (keep noncurrent versions longer); nothing restored`, context);
  const sha256 = hexOf(found.ChecksumSHA256);
  const recorded = found.Metadata?.[CopyMetadata.SHA256];
  if (!sha256 || !recorded || sha256 !== recorded) {
    throw new ArtifactUnavailableError(
      `${where} has SHA-256 ${sha256 ?? 'none'}, not the ${recorded ?? '(unrecorded)'} it was copied with; handsoff does not restore an object it cannot verify`,
      context,
    );
  }
  return sha256;
};
