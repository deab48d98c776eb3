/**
 * The build stage's payload contracts (core/contracts.ts re-exports them): the artifact a
 * change deploys, pinned to one S3 object, and the input of `resolve-artifact`. Pure.
 */
import { z } from 'zod';

const nonEmpty = z.string().min(1);

/**
 * The change's artifact pinned to one S3 object: the version the build uploaded at
 * `artifactKey(pipeline, revision)` and its checksums. handsoff deploys and rolls back by
 * these, never by key alone: CodeDeploy is given `version` and `eTag` and refuses another object.
 */
export const ArtifactRef = z.object({
  /** S3 object version id. */
  versionId: nonEmpty,
  /** The object's ETag as S3 reports it (CodeDeploy checks the object against it). */
  eTag: nonEmpty,
  /** Hex SHA-256 of the bundle, as `build.completed` reports it (recorded with each deployment). */
  sha256: z.string().regex(/^[0-9a-f]{64}$/, { message: 'expected the hex SHA-256 of the bundle' }),
});
export type ArtifactRef = z.infer<typeof ArtifactRef>;

/** Handler `resolve-artifact`: the build stage pins the object the change deploys. */
export const ResolveArtifactInput = z.object({
  pipeline: nonEmpty,
  change: nonEmpty,
  revision: nonEmpty,
  /**
   * The build's record (`codebuild:startBuild.sync`'s `Build`): the version and SHA-256 it
   * exported (core/build.ts BuildExport) are what is pinned, and checked against S3.
   */
  build: z
    .object({
      Id: z.string().optional(),
      ExportedEnvironmentVariables: z.array(z.object({ Name: z.string().optional(), Value: z.string().optional() }).loose()).optional(),
    })
    .loose()
    .optional(),
});
export type ResolveArtifactInput = z.infer<typeof ResolveArtifactInput>;
