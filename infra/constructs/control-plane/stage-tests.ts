/**
 * What runs a pipeline's stage suites (docs/tests.md), and the pipeline machine's permission
 * to run them, nothing more:
 * - the `codebuild` runner: the pipeline's test project (`<pipeline>-tests`), which builds the
 *   change's commit of the pipeline's repository with its `buildspec-tests.yml`; the pipeline
 *   machine may start, follow and stop builds of that project only (`codebuild:startBuild.sync`
 *   and its managed rule);
 * - the `lambda` runner: the pipeline machine may invoke the team's test function only.
 *
 * Network: a suite calls the stage's endpoint (and, in zeta, production's), so the test
 * project runs in CodeBuild's own network with outbound access, never in the team's VPC or
 * handsoff's; its role can read the repository and write its own logs, and
 * nothing else: no deployment, no table, no bus. (Stages served on private endpoints only
 * would need the project in a VPC; not offered yet.)
 */
import { ArnFormat, Duration, type Stack } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { ResolvedPipeline } from '../../../core/model.ts';
import { testProjectName } from '../../../core/naming.ts';
import { stageTestsOf } from '../../../core/tests.ts';
import { acknowledge } from '../../nag.ts';
import { pascal } from './names.ts';
import { allowStartBuildSync } from './build-project.ts';
import { grantProjectSource, projectSource, type ProjectRepository } from './project-source.ts';

/** The buildspec a team's repository holds for the stage suites. */
export const TEST_BUILDSPEC = 'buildspec-tests.yml';

/** The ARN of a test function named by name or ARN (with a version or alias when it has one). */
export const testFunctionArn = (stack: Stack, fn: string): string =>
  fn.startsWith('arn:')
    ? fn
    : stack.formatArn({ service: 'lambda', resource: 'function', resourceName: fn, arnFormat: ArnFormat.COLON_RESOURCE_NAME });

/** Creates the pipeline's test runner and lets `pipelineRole` run it. */
export const createStageTests = (stack: Stack, p: ResolvedPipeline, pipelineRole: iam.IRole, repository: ProjectRepository): void => {
  const tests = stageTestsOf(p);
  if (p.preProd.length === 0) return;
  if (tests.runner === 'lambda') {
    if (tests.function === undefined) throw new Error(`pipeline ${p.name}: tests.runner 'lambda' needs tests.function`);
    pipelineRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [testFunctionArn(stack, tests.function)] }));
    return;
  }
  const id = `${pascal(p.name)}Tests`;
  const logGroup = new logs.LogGroup(stack, `${id}Logs`, {
    logGroupName: `/aws/codebuild/${testProjectName(p.name)}`,
    retention: logs.RetentionDays.ONE_YEAR,
  });
  const project = new codebuild.Project(stack, `${id}Project`, {
    projectName: testProjectName(p.name),
    description: `handsoff ${p.name}: the suites its pre-production stages run (${TEST_BUILDSPEC} of the change's commit)`,
    source: projectSource(stack, id, repository),
    buildSpec: codebuild.BuildSpec.fromSourceFilename(TEST_BUILDSPEC),
    environment: { buildImage: codebuild.LinuxBuildImage.STANDARD_7_0, computeType: codebuild.ComputeType.SMALL, privileged: false },
    timeout: Duration.minutes(tests.timeoutMinutes),
    logging: { cloudWatch: { logGroup } },
    // The suite only reads what it tests: no artifacts, no cache, no badge.
    badge: false,
  });
  grantProjectSource(project, repository);
  // What CDK grants the project's role: its log streams and its test report groups.
  const logicalId = stack.getLogicalId(project.node.defaultChild as codebuild.CfnProject);
  const where = `${stack.region}:<AWS::AccountId>`;
  acknowledge(project, `AwsSolutions-IAM5[Resource::arn:aws:logs:${where}:log-group:/aws/codebuild/<${logicalId}>:*]`, 'Log streams are named per build at run time; the pattern covers only this project\'s log group.');
  acknowledge(project, `AwsSolutions-IAM5[Resource::arn:aws:codebuild:${where}:report-group/<${logicalId}>-*]`, 'Test report groups are named after the project by CodeBuild; the pattern covers only this project\'s.');
  // No customer key: the project keeps nothing to encrypt (no artifacts, no cache; its logs are
  // in its log group), and a key would need CDK's wildcard kms:GenerateDataKey* / ReEncrypt*.
  acknowledge(project, 'AwsSolutions-CB4', 'The test project produces no artifacts and no cache: it only runs the suite and writes its log group; there is no build output for a customer-managed key to encrypt.');
  // codebuild:startBuild.sync of this project. (No BatchGetReports: it acts on report groups,
  // not projects, and the machine reads no reports.)
  allowStartBuildSync(stack, pipelineRole, project);
};
