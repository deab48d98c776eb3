/**
 * Handler `resolve-artifact`: the build stage's pin of the change's artifact. The artifact
 * is the object at `artifactKey(pipeline, revision)` in the versioned artifact bucket (until
 * the CodeBuild stage uploads it, the team's CI does, with a SHA-256 checksum). This handler
 * reads which version is there now and its checksums (HeadObject with checksum mode), and
 * the change deploys and rolls back by exactly that version from then on: a later upload at
 * the same key never changes what this change deploys.
 *
 * Fail closed: no object, an unversioned bucket, or no full-object SHA-256 fails the change
 * in build with the reason and the fix (ArtifactUnavailable); throttling and S3's 5xx are
 * retried by the state machine.
 */
import { HeadObjectCommand, NotFound, NoSuchKey } from '@aws-sdk/client-s3';
import { type ArtifactRef, ResolveArtifactInput } from '../../core/contracts.ts';
import { ArtifactUnavailableError, hasName } from '../../core/errors.ts';
import { artifactKey } from '../../core/naming.ts';
import { clients } from '../shared/clients.ts';
import { env, ENV } from '../shared/config.ts';
import { logger } from '../shared/logger.ts';
import { lambdaHandler } from '../runtime/handler.ts';

export const resolveArtifact = async (input: ResolveArtifactInput): Promise<ArtifactRef> => {
  const bucket = env(ENV.ARTIFACT_BUCKET);
  const key = artifactKey(input.pipeline, input.revision);
  const where = `s3://${bucket}/${key}`;
  const context = { bucket, key, change: input.change };
  let head;
  try {
    head = await clients().s3().send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
  } catch (err) {
    if (err instanceof NotFound || err instanceof NoSuchKey || hasName(err, 'NotFound', 'NoSuchKey')) {
      throw new ArtifactUnavailableError(
        `no artifact at ${where}: upload the change's build output there (with --checksum-algorithm SHA256) before it reaches main`,
        context,
      );
    }
    throw err;
  }
  if (!head.VersionId || head.VersionId === 'null') {
    throw new ArtifactUnavailableError(`${where} has no version id: the artifact bucket must be versioned, so that a rollback restores the exact previous object`, context);
  }
  const checksum = head.ChecksumSHA256;
  if (!checksum || /-\d+$/.test(checksum)) {
    throw new ArtifactUnavailableError(
      `${where} carries no full-object SHA-256 checksum${checksum ? ' (a multipart upload checksums its parts)' : ''}: upload it in one part with --checksum-algorithm SHA256`,
      context,
    );
  }
  const sha256 = Buffer.from(checksum, 'base64').toString('hex');
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new ArtifactUnavailableError(`${where} has a malformed SHA-256 checksum '${checksum}'`, context);
  const artifact: ArtifactRef = { versionId: head.VersionId, eTag: head.ETag ?? '', sha256 };
  if (!artifact.eTag) throw new ArtifactUnavailableError(`${where} has no ETag; CodeDeploy could not verify the bundle`, context);
  logger.info('artifact pinned', { ...context, versionId: artifact.versionId, sha256 });
  return artifact;
};

export const handler = lambdaHandler('resolve-artifact', ResolveArtifactInput, resolveArtifact);
