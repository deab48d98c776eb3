/**
 * The simulated S3 of the artifacts: the control plane's versioned artifact bucket (the
 * build uploads there) and one versioned bucket per target region (the region's copies,
 * which its CodeDeploy reads). An object exists only once it was uploaded or copied: before
 * the build of a change, HeadObject of its key is NotFound. Each upload or copy is a new
 * version; the content of a key's bundle follows from the key (the simulator's builds are
 * reproducible), so its ETag and SHA-256 do too, and a copy keeps both.
 *
 * Handlers reach it through the S3 SDK's commands (HeadObject, CopyObject, as on AWS); the
 * simulated build uploads through `upload`, and the simulated CodeDeploy refuses a revision
 * that names no object of the region's bucket (`mismatch`), as S3 behind CodeDeploy would.
 */
import { CopyObjectCommand, HeadObjectCommand, NoSuchBucket, NotFound, S3ServiceException } from '@aws-sdk/client-s3';
import { ACCOUNT } from '../lambda.ts';
import { createHash } from 'node:crypto';

export interface StoredObject {
  readonly versionId: string;
  /** Hex MD5 of the content, unquoted (S3 quotes it in its answers). */
  readonly eTag: string;
  /** Hex SHA-256 of the content. */
  readonly sha256: string;
  readonly metadata: Readonly<Record<string, string>>;
}

const hex = (algorithm: string, text: string): string => createHash(algorithm).update(text).digest('hex');
const notFound = (): NotFound => new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } });

/** The content's checksums of the bundle at `key` (a reproducible build: the same key, the same bytes). */
export const bundleOf = (key: string): { eTag: string; sha256: string } => ({ eTag: hex('md5', `bundle:${key}`), sha256: hex('sha256', `bundle:${key}`) });

export class ArtifactStore {
  private readonly buckets = new Map<string, Map<string, StoredObject[]>>();

  /** Makes `bucket` exist (versioned, empty). */
  declare(bucket: string): void {
    if (!this.buckets.has(bucket)) this.buckets.set(bucket, new Map());
  }

  private write(bucket: string, key: string, content: { eTag: string; sha256: string }, metadata: Record<string, string>): StoredObject {
    const objects = this.buckets.get(bucket);
    if (!objects) throw new NoSuchBucket({ message: `The specified bucket does not exist: ${bucket}`, $metadata: { httpStatusCode: 404 } });
    const versions = objects.get(key) ?? [];
    objects.set(key, versions);
    const object: StoredObject = { versionId: hex('sha1', `version:${bucket}:${key}:${versions.length}`).slice(0, 32), eTag: content.eTag, sha256: content.sha256, metadata: { ...metadata } };
    versions.push(object);
    return object;
  }

  /** The build's upload of the bundle at `key`: a new version. */
  upload(bucket: string, key: string, metadata: Record<string, string> = {}): StoredObject {
    return this.write(bucket, key, bundleOf(key), metadata);
  }

  /** The current object at `key`, or the given version of it. */
  get(bucket: string, key: string, versionId?: string): StoredObject | undefined {
    const versions = this.buckets.get(bucket)?.get(key);
    if (!versions) return undefined;
    return versionId === undefined ? versions.at(-1) : versions.find((v) => v.versionId === versionId);
  }

  /** Why `bucket` holds no object matching the location's version and ETag; undefined when it does. */
  mismatch(location: { bucket: string; key: string; version?: string; eTag?: string }): string | undefined {
    if (!this.buckets.has(location.bucket)) return `bucket ${location.bucket} does not exist`;
    const object = this.get(location.bucket, location.key, location.version);
    if (!object) return location.version ? `version ${location.version} of ${location.key} does not exist in ${location.bucket}` : `${location.key} does not exist in ${location.bucket}`;
    const eTag = location.eTag?.replace(/^"|"$/g, '');
    if (eTag !== undefined && eTag !== object.eTag) return `the ETag of ${location.key} is ${object.eTag}, not ${eTag}`;
    return undefined;
  }

  /** The S3 API over these buckets (HeadObject, CopyObject), as the handlers' S3 client. */
  client(): { send(command: unknown): Promise<unknown> } {
    // Every bucket here is the simulated account's: a request expecting another owner is refused, as S3 does.
    const checkOwner = (bucket: string, expected: string | undefined): void => {
      if (expected !== undefined && expected !== ACCOUNT) {
        throw new S3ServiceException({ name: 'AccessDenied', $fault: 'client', message: `bucket ${bucket} is not owned by account ${expected}`, $metadata: { httpStatusCode: 403 } });
      }
    };
    return {
      send: async (command: unknown): Promise<unknown> => {
        if (command instanceof HeadObjectCommand) {
          const { Bucket = '', Key = '', VersionId, ChecksumMode, IfMatch, ExpectedBucketOwner } = command.input;
          checkOwner(Bucket, ExpectedBucketOwner);
          const object = this.get(Bucket, Key, VersionId);
          if (!object) throw notFound();
          if (IfMatch !== undefined && IfMatch.replace(/^"|"$/g, '') !== object.eTag) {
            throw new S3ServiceException({ name: 'PreconditionFailed', $fault: 'client', message: 'At least one of the pre-conditions you specified did not hold', $metadata: { httpStatusCode: 412 } });
          }
          return {
            VersionId: object.versionId,
            ETag: `"${object.eTag}"`,
            Metadata: { ...object.metadata },
            ...(ChecksumMode === 'ENABLED' ? { ChecksumSHA256: Buffer.from(object.sha256, 'hex').toString('base64') } : {}),
          };
        }
        if (command instanceof CopyObjectCommand) {
          const { Bucket = '', Key = '', CopySource = '', ChecksumAlgorithm, MetadataDirective, Metadata, ExpectedBucketOwner, ExpectedSourceBucketOwner } = command.input;
          const [path, query] = CopySource.split('?');
          const slash = path!.indexOf('/');
          const from = { bucket: decodeURIComponent(path!.slice(0, slash)), key: decodeURIComponent(path!.slice(slash + 1)) };
          checkOwner(Bucket, ExpectedBucketOwner);
          checkOwner(from.bucket, ExpectedSourceBucketOwner);
          const version = new URLSearchParams(query ?? '').get('versionId') ?? undefined;
          const source = this.get(from.bucket, from.key, version);
          if (!source) throw new S3ServiceException({ name: 'NoSuchKey', $fault: 'client', message: `The specified key does not exist: ${CopySource}`, $metadata: { httpStatusCode: 404 } });
          const copy = this.write(Bucket, Key, source, MetadataDirective === 'REPLACE' ? { ...(Metadata ?? {}) } : { ...source.metadata });
          return {
            VersionId: copy.versionId,
            CopySourceVersionId: source.versionId,
            CopyObjectResult: {
              ETag: `"${copy.eTag}"`,
              ...(ChecksumAlgorithm === 'SHA256' ? { ChecksumSHA256: Buffer.from(copy.sha256, 'hex').toString('base64') } : {}),
            },
          };
        }
        throw new Error(`the simulated S3 does not implement ${(command as object).constructor.name}`);
      },
    };
  }
}
