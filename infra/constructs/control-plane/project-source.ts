/**
 * Where a pipeline's CodeBuild projects (the build, the stage suites) get the change's commit:
 * the source of the control plane (core/source.ts), as the machine names it at each build
 * (statemachines/commit-source.ts).
 * - CodeCommit: the pipeline's repository, checked out at the commit (`SourceVersion`).
 * - GitHub: the commit's archive in the artifact bucket (`sourceArchiveKey`), which start-change
 *   keeps from the source pipeline's checkout: an S3 source, so that a build in the isolated
 *   network reaches it through the S3 gateway endpoint and never needs github.com. The project's
 *   role may read its own pipeline's archives and nothing else of the bucket.
 */
import type { Stack } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { sourceArchiveKey } from '../../../core/naming.ts';
import { SourceKind } from '../../../core/source.ts';
import { allowWithWildcardResources } from '../../nag.ts';

export type ProjectRepository =
  | { readonly kind: typeof SourceKind.CODECOMMIT; readonly repositoryName: string }
  | { readonly kind: typeof SourceKind.GITHUB; readonly pipeline: string; readonly artifacts: s3.IBucket };

/**
 * An S3 source at `location` whose reads the project's role gets from grantProjectSource alone
 * (CDK's `Source.s3` would grant `s3:GetBucket*` and `s3:List*` on the bucket: wildcard actions).
 */
class ArchiveSource extends codebuild.Source {
  readonly type = 'S3';

  constructor(private readonly location: string) {
    super({});
  }

  override bind(scope: Construct, project: codebuild.IProject): codebuild.SourceConfig {
    const config = super.bind(scope, project);
    return { ...config, sourceProperty: { ...config.sourceProperty, location: this.location } };
  }
}

/** The archives of one pipeline's commits (a GitHub source). */
const archives = (pipeline: string): string => sourceArchiveKey(pipeline, '*');

/**
 * The project's source. With GitHub, the project's own location is a placeholder of the
 * archives' form: every build the machine starts names its commit's archive
 * (`SourceLocationOverride`). No webhook: the pipeline machine starts every build.
 */
export const projectSource = (stack: Stack, id: string, repository: ProjectRepository): codebuild.ISource =>
  repository.kind === SourceKind.CODECOMMIT
    ? codebuild.Source.codeCommit({ repository: codecommit.Repository.fromRepositoryName(stack, `${id}Repository`, repository.repositoryName) })
    : new ArchiveSource(`${repository.artifacts.bucketName}/${sourceArchiveKey(repository.pipeline, 'main')}`);

/** A GitHub source: the project's role reads its pipeline's commit archives, nothing else. */
export const grantProjectSource = (project: codebuild.Project, repository: ProjectRepository): void => {
  if (repository.kind !== SourceKind.GITHUB) return;
  allowWithWildcardResources(
    project.role!,
    new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [repository.artifacts.arnForObjects(archives(repository.pipeline))] }),
    "The commits' archives of this project's pipeline, keyed by the commit at run time (naming.sourceArchiveKey); nothing else of the artifact bucket.",
  );
};
