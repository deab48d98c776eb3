/**
 * Handler `resolve-artifact`: the build stage's pin of the change's artifact. The pipeline's
 * CodeBuild project built the change, ran its unit tests and uploaded the bundle to
 * `artifactKey(pipeline, revision)` in the versioned artifact bucket, in one part with a
 * SHA-256 checksum, and exported the object's version id and SHA-256 (core/build.ts). This
 * handler reads exactly that version back (HeadObject with checksum mode) and the change
 * deploys and rolls back by it from then on: a later upload at the same key never changes
 * what this change deploys.
 *
 * Fail closed (ArtifactUnavailable, the change fails in build with the reason and the fix): no
 * build record or no exported SHA-256, no object, an unversioned bucket, no full-object
 * SHA-256, or a SHA-256 other than the one the build exported. Throttling and S3's 5xx are
 * retried by the state machine.
 */
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { BuildExport, exportedValue } from '../../core/build.ts';
import { type ArtifactRef, ResolveArtifactInput } from '../../core/contracts.ts';
import { ArtifactUnavailableError } from '../../core/errors.ts';
import { artifactKey } from '../../core/naming.ts';
import { clients } from '../shared/clients.ts';
import { env, ENV } from '../shared/config.ts';
import { logger } from '../shared/logger.ts';
import { isMissing, sha256Of } from '../shared/region-artifact.ts';
import { lambdaHandler } from '../runtime/handler.ts';

export const resolveArtifact = async (input: ResolveArtifactInput): Promise<ArtifactRef> => {
  const bucket = env(ENV.ARTIFACT_BUCKET);
  const key = artifactKey(input.pipeline, input.revision);
  const where = `s3://${bucket}/${key}`;
  const context = { bucket, key, change: input.change, build: input.build?.Id };
  const exported = exportedValue(input.build, BuildExport.SHA256)?.toLowerCase();
  if (!exported) {
    throw new ArtifactUnavailableError(
      `the build${input.build?.Id ? ` ${input.build.Id}` : ''} exported no ${BuildExport.SHA256}: its buildspec must upload the bundle to ${where} with --checksum-algorithm SHA256 and export the SHA-256 (env.exported-variables)`,
      context,
    );
  }
  const version = exportedValue(input.build, BuildExport.VERSION_ID);
  let head;
  try {
    head = await clients()
      .s3()
      .send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED', ...(version ? { VersionId: version } : {}) }));
  } catch (err) {
    if (isMissing(err)) {
      throw new ArtifactUnavailableError(
        `no artifact at ${where}${version ? ` (version ${version})` : ''}: the build must upload the change's bundle there (with --checksum-algorithm SHA256)`,
        context,
      );
    }
    throw err;
  }
  if (!head.VersionId || head.VersionId === 'null') {
    throw new ArtifactUnavailableError(`${where} has no version id: the artifact bucket must be versioned, so that a rollback restores the exact previous object`, context);
  }
  const checked = sha256Of(head.ChecksumSHA256);
  if ('problem' in checked) throw new ArtifactUnavailableError(`${where} ${checked.problem}`, context);
  if (checked.sha256 !== exported) {
    throw new ArtifactUnavailableError(
      `${where} (version ${head.VersionId}) has SHA-256 ${checked.sha256}, not the ${exported} the build exported: the object is not the one the build uploaded; handsoff does not deploy it`,
      context,
    );
  }
  const artifact: ArtifactRef = { versionId: head.VersionId, eTag: head.ETag ?? '', sha256: checked.sha256 };
  if (!artifact.eTag) throw new ArtifactUnavailableError(`${where} has no ETag; CodeDeploy could not verify the bundle`, context);
  logger.info('artifact pinned', { ...context, versionId: artifact.versionId, sha256: artifact.sha256 });
  return artifact;
};

export const handler = lambdaHandler('resolve-artifact', ResolveArtifactInput, resolveArtifact);
