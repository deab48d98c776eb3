/**
 * Where a pipeline's CodeBuild projects (the build, the stage suites) get the change's commit:
 * the source of the control plane (core/source.ts). CodeCommit: the pipeline's repository.
 * GitHub: the repository through the CodeConnections connection (CodeBuild's `CODECONNECTIONS`
 * source auth), which the project's role may use and nothing else of it. Each build checks out
 * exactly the change's commit (`SourceVersion`), whatever the source.
 */
import type { Stack } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codecommit from 'aws-cdk-lib/aws-codecommit';
import type * as codeconnections from 'aws-cdk-lib/aws-codeconnections';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SourceKind, type SourceConfig } from '../../../core/source.ts';

export type ProjectRepository =
  | { readonly kind: typeof SourceKind.CODECOMMIT; readonly repositoryName: string }
  | { readonly kind: typeof SourceKind.GITHUB; readonly source: Extract<SourceConfig, { kind: typeof SourceKind.GITHUB }>; readonly connection: codeconnections.CfnConnection };

/** The project's source: no webhook (the pipeline machine starts every build), no status report. */
export const projectSource = (stack: Stack, id: string, repository: ProjectRepository): codebuild.ISource =>
  repository.kind === SourceKind.CODECOMMIT
    ? codebuild.Source.codeCommit({ repository: codecommit.Repository.fromRepositoryName(stack, `${id}Repository`, repository.repositoryName) })
    : codebuild.Source.gitHub({ owner: repository.source.owner, repo: repository.source.name, webhook: false, reportBuildStatus: false });

/**
 * What a GitHub source needs once the project exists: the connection as the source's auth
 * (instead of an account-wide OAuth token), and the project's role allowed to get the
 * connection's token, on that connection only. Nothing for CodeCommit (CDK grants the pull).
 */
export const connectProjectSource = (project: codebuild.Project, repository: ProjectRepository): void => {
  if (repository.kind !== SourceKind.GITHUB) return;
  (project.node.defaultChild as codebuild.CfnProject).addPropertyOverride('Source.Auth', {
    Type: 'CODECONNECTIONS',
    Resource: repository.connection.attrConnectionArn,
  });
  // The connection's ARN is codeconnections:; IAM knows the actions under both prefixes.
  project.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['codeconnections:GetConnectionToken', 'codeconnections:GetConnection', 'codestar-connections:GetConnectionToken', 'codestar-connections:GetConnection'],
      resources: [repository.connection.attrConnectionArn],
    }),
  );
};
