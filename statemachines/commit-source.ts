/**
 * Where a CodeBuild project run by the pipeline machine (the build, the stage suites) gets the
 * change's commit, by the control plane's source (core/source.ts):
 * - CodeCommit: the project's repository at the commit (`SourceVersion`);
 * - GitHub: the commit's archive that start-change kept in the artifact bucket
 *   (`sourceArchiveKey`, from the source pipeline's own checkout), as an S3 source: a build in
 *   the isolated network reaches it through the S3 gateway endpoint, never github.com.
 * The simulator runs the CodeCommit form (its pushes are CodeCommit-like).
 */
import { sourceArchiveKey } from '../core/naming.ts';
import type { ResolvedPipeline } from '../core/model.ts';
import { SourceKind } from '../core/source.ts';
import { ARTIFACT_BUCKET_NAME_KEY, placeholder } from './resources.ts';

/** What the definitions depend on beyond the pipeline: the control plane's source. */
export interface MachineOptions {
  /** @default codecommit */
  readonly source?: SourceKind;
}

/** The StartBuild parameters that name the change's commit. */
export const commitSource = (p: ResolvedPipeline, options: MachineOptions = {}): Record<string, string> =>
  options.source === SourceKind.GITHUB
    ? {
        SourceTypeOverride: 'S3',
        // bucket/key of the archive; the bucket's name is substituted at deploy time.
        'SourceLocationOverride.$': `States.Format('${placeholder(ARTIFACT_BUCKET_NAME_KEY)}/${sourceArchiveKey(p.name, '{}')}', $.revision)`,
      }
    : { 'SourceVersion.$': '$.revision' };
