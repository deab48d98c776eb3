/**
 * The GitHub source of the control plane (`cdk synth -c source=github -c repository=OWNER/NAME`;
 * docs/sources.md):
 * - an AWS CodeConnections connection to GitHub, created PENDING: a person completes the
 *   GitHub App handshake once in the console;
 * - per pipeline a CodePipeline V2 source pipeline, `handsoff-src-<pipeline>`: its trigger
 *   runs it on each push to main (through the connection: no webhook to keep), its source
 *   action reads the commit, and its invoke action hands the commit and the execution id to
 *   start-change (core/source.ts GitHubTriggerParameters), which starts one change per
 *   execution. PARALLEL: a push never supersedes or waits for another one's execution;
 * - the GitHub token of the review gate in Secrets Manager: read at run time, GetSecretValue
 *   on that secret only.
 * Every role is built here with named actions: no `*` action, no managed policy.
 */
import { Stack } from 'aws-cdk-lib';
import * as codeconnections from 'aws-cdk-lib/aws-codeconnections';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { ResolvedPipeline } from '../../../core/model.ts';
import { sourceArchiveKey } from '../../../core/naming.ts';
import { MAIN_BRANCH, SourceKind, type GitHubTriggerParameters, type SourceConfig } from '../../../core/source.ts';
import { ENV } from '../../../lambdas/shared/config.ts';
import { acknowledge, allowWithWildcardResources } from '../../nag.ts';
import { pascal } from './names.ts';
import { SOURCE_PIPELINE_PREFIX } from '../../../core/naming.ts';

export const GITHUB_CONNECTION_NAME = 'handsoff-github';
export const GITHUB_TOKEN_SECRET_NAME = 'handsoff/github-token';
/** Prefix of the source pipelines' names (core/naming.ts, where the pipeline names are checked against it). */
export { SOURCE_PIPELINE_PREFIX } from '../../../core/naming.ts';
export const sourcePipelineName = (pipeline: string): string => `${SOURCE_PIPELINE_PREFIX}${pipeline}`;
const SOURCE_ACTION = 'GitHub';
const NAMESPACE = 'Source';

export interface GitHubSourceProps {
  readonly source: Extract<SourceConfig, { kind: typeof SourceKind.GITHUB }>;
  readonly pipelines: readonly ResolvedPipeline[];
  readonly machines: Record<string, sfn.StateMachine>;
  readonly startChange: lambda.Function;
  readonly reviewGate: lambda.Function;
  /** Where the source actions keep the commit they read (CodePipeline's artifact store). */
  readonly artifacts: s3.Bucket;
  /** The connection (githubConnection): the build and test projects fetch the commit through it too. */
  readonly connection: codeconnections.CfnConnection;
}

/** The CodeConnections connection to GitHub, created PENDING (docs/sources.md: the one-time handshake). */
export const githubConnection = (stack: Stack): codeconnections.CfnConnection =>
  new codeconnections.CfnConnection(stack, 'GitHubConnection', {
    connectionName: GITHUB_CONNECTION_NAME,
    providerType: 'GitHub',
  });

export interface GitHubSourceResources {
  readonly connection: codeconnections.CfnConnection;
  readonly token: secretsmanager.Secret;
  readonly sourcePipelines: Record<string, codepipeline.CfnPipeline>;
}

export const githubSource = (stack: Stack, props: GitHubSourceProps): GitHubSourceResources => {
  const { source, connection } = props;

  const token = new secretsmanager.Secret(stack, 'GitHubToken', {
    secretName: GITHUB_TOKEN_SECRET_NAME,
    description: `GitHub token of the handsoff review gate: read access to the pull requests of ${source.repository} (docs/sources.md). Replace the generated value with the token.`,
  });
  acknowledge(
    token,
    'AwsSolutions-SMG4',
    'A GitHub token cannot be rotated by a Secrets Manager rotation function: a person issues a new one in GitHub and puts it here before the old one expires (docs/sources.md); the review gate reads it again within minutes.',
  );
  // The review gate reads GitHub, with this token, and nothing of CodeCommit.
  props.reviewGate.addEnvironment(ENV.SOURCE, SourceKind.GITHUB);
  props.reviewGate.addEnvironment(ENV.GITHUB_TOKEN_SECRET, token.secretArn);
  props.reviewGate.role!.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [token.secretArn] }));

  // One role for the source pipelines: use the connection, keep the commit's zip in the
  // artifact store under their own prefix, invoke start-change. Only this account's pipelines
  // may assume it.
  const role = new iam.Role(stack, 'SourcePipelineRole', {
    assumedBy: new iam.ServicePrincipal('codepipeline.amazonaws.com', { conditions: { StringEquals: { 'aws:SourceAccount': stack.account } } }),
    description: `The handsoff source pipelines: read pushes to ${MAIN_BRANCH} of ${source.repository} through the GitHub connection and start changes.`,
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      // The connection's ARN is codeconnections:; IAM knows the action under both prefixes.
      actions: ['codeconnections:UseConnection', 'codestar-connections:UseConnection'],
      resources: [connection.attrConnectionArn],
    }),
  );
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [props.startChange.functionArn] }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:GetBucketVersioning'], resources: [props.artifacts.bucketArn] }));
  allowWithWildcardResources(
    role,
    new iam.PolicyStatement({
      actions: ['s3:PutObject', 's3:PutObjectAcl', 's3:GetObject', 's3:GetObjectVersion'],
      resources: [props.artifacts.arnForObjects(`${SOURCE_PIPELINE_PREFIX}*`)],
    }),
    'CodePipeline names the source artifacts per execution at run time, under the first 20 characters of the pipeline name: the pattern covers the handsoff source pipelines only.',
  );
  // start-change reports its job to CodePipeline; these two actions have no resource-level permissions.
  allowWithWildcardResources(
    props.startChange.role!,
    new iam.PolicyStatement({ actions: ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'], resources: ['*'] }),
    'codepipeline:PutJobSuccessResult and PutJobFailureResult have no resource-level permissions; start-change reports the job of a source pipeline invoke action with them, nothing else.',
  );

  // start-change keeps each commit's checkout (the invoke action's input artifact) where the
  // build and the stage suites read it: sourceArchiveKey, in the same bucket.
  allowWithWildcardResources(
    props.startChange.role!,
    new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [props.artifacts.arnForObjects(`${SOURCE_PIPELINE_PREFIX}*`)] }),
    'The checkout of each source pipeline execution, named by CodePipeline at run time under the source pipelines\' prefix: start-change reads it to keep the commit\'s archive.',
  );
  allowWithWildcardResources(
    props.startChange.role!,
    new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: props.pipelines.map((p) => props.artifacts.arnForObjects(sourceArchiveKey(p.name, '*'))) }),
    'The archive of each commit, keyed by the commit at run time (naming.sourceArchiveKey), under each pipeline\'s own prefix.',
  );

  const sourcePipelines: Record<string, codepipeline.CfnPipeline> = {};
  for (const p of props.pipelines) {
    const parameters: Record<keyof GitHubTriggerParameters, string> = {
      pipeline: p.name,
      stateMachineArn: props.machines[p.name]!.stateMachineArn,
      repository: source.repository,
      commit: `#{${NAMESPACE}.CommitId}`,
      branch: `#{${NAMESPACE}.BranchName}`,
      authorDate: `#{${NAMESPACE}.AuthorDate}`,
      execution: '#{codepipeline.PipelineExecutionId}',
    };
    const pipeline = new codepipeline.CfnPipeline(stack, `${pascal(p.name)}SourcePipeline`, {
      name: sourcePipelineName(p.name),
      pipelineType: 'V2',
      executionMode: 'PARALLEL',
      roleArn: role.roleArn,
      artifactStore: { type: 'S3', location: props.artifacts.bucketName },
      stages: [
        {
          name: 'Source',
          actions: [
            {
              name: SOURCE_ACTION,
              actionTypeId: { category: 'Source', owner: 'AWS', provider: 'CodeStarSourceConnection', version: '1' },
              configuration: {
                ConnectionArn: connection.attrConnectionArn,
                FullRepositoryId: source.repository,
                BranchName: MAIN_BRANCH,
                OutputArtifactFormat: 'CODE_ZIP',
              },
              outputArtifacts: [{ name: 'Commit' }],
              namespace: NAMESPACE,
              runOrder: 1,
            },
          ],
        },
        {
          name: 'StartChange',
          actions: [
            {
              name: 'StartChange',
              actionTypeId: { category: 'Invoke', owner: 'AWS', provider: 'Lambda', version: '1' },
              configuration: { FunctionName: props.startChange.functionName, UserParameters: Stack.of(stack).toJsonString(parameters) },
              // The commit's checkout: start-change keeps it for the build (sourceArchiveKey).
              inputArtifacts: [{ name: 'Commit' }],
              runOrder: 1,
            },
          ],
        },
      ],
      triggers: [
        {
          providerType: 'CodeStarSourceConnection',
          gitConfiguration: { sourceActionName: SOURCE_ACTION, push: [{ branches: { includes: [MAIN_BRANCH] } }] },
        },
      ],
    });
    pipeline.node.addDependency(role);
    sourcePipelines[p.name] = pipeline;
  }
  return { connection, token, sourcePipelines };
};
