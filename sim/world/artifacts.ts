/**
 * The simulated artifact bucket: versioned, immutable objects. Every key holds one object,
 * whose version id, ETag and SHA-256 follow from the key (the simulator's builds are
 * reproducible), so the engine hands a change its pinned artifact and the simulated CodeDeploy
 * refuses a revision that names another version or checksum, as a real bucket with a
 * different object would make CodeDeploy do.
 */
import { HeadObjectCommand, NotFound } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';

export interface SimulatedObject {
  versionId: string;
  eTag: string;
  sha256: string;
}

const hex = (algorithm: string, text: string): string => createHash(algorithm).update(text).digest('hex');

/** The one object at `key` in the simulated artifact bucket. */
export const simulatedObject = (key: string): SimulatedObject => ({
  versionId: hex('sha1', `version:${key}`).slice(0, 32),
  eTag: hex('md5', `bundle:${key}`),
  sha256: hex('sha256', `bundle:${key}`),
});

/** Why the bucket has no object matching `location`'s version or ETag; undefined when it matches (or pins none). */
export const objectMismatch = (location: { key: string; version?: string; eTag?: string }): string | undefined => {
  const object = simulatedObject(location.key);
  if (location.version !== undefined && location.version !== object.versionId) {
    return `version ${location.version} of ${location.key} does not exist (the bucket holds ${object.versionId})`;
  }
  const eTag = location.eTag?.replace(/^"|"$/g, '');
  if (eTag !== undefined && eTag !== object.eTag) return `the ETag of ${location.key} is ${object.eTag}, not ${eTag}`;
  return undefined;
};

/**
 * The artifact bucket as S3 answers the build stage: HeadObject of any key under the
 * pipeline's prefix finds its one object, with its version, ETag and full-object SHA-256
 * (base64, as S3's ChecksumSHA256). Keys of no pipeline are not there.
 */
export const simulatedS3 = (pipelines: readonly string[]) => ({
  send: async (command: unknown): Promise<unknown> => {
    if (!(command instanceof HeadObjectCommand)) {
      throw new Error(`the simulated S3 does not implement ${(command as object).constructor.name}`);
    }
    const key = command.input.Key ?? '';
    if (!pipelines.some((p) => key.startsWith(`${p}/`))) throw new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } });
    const object = simulatedObject(key);
    return {
      VersionId: object.versionId,
      ETag: `"${object.eTag}"`,
      ...(command.input.ChecksumMode === 'ENABLED' ? { ChecksumSHA256: Buffer.from(object.sha256, 'hex').toString('base64') } : {}),
    };
  },
});
