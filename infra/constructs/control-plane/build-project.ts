/**
 * The build stage on AWS: one CodeBuild project per pipeline, run by the pipeline machine
 * (`codebuild:startBuild.sync`). It checks out the change's revision, runs the team's build
 * script (which runs the unit tests and writes the CodeDeploy bundle), uploads the bundle in
 * one part with its SHA-256 (S3 verifies it) to `artifactKey(pipeline, revision)` in the
 * versioned artifact bucket, and exports the object's version id and SHA-256 (core/build.ts).
 *
 * No network beyond what it needs: the builds run in a VPC of isolated subnets only (no NAT,
 * no internet gateway), reaching S3 through a gateway endpoint whose policy allows the
 * artifact bucket only, and, through interface endpoints, CodeCommit's Git endpoint (the
 * source checkout) and CloudWatch Logs (the build log). Nothing else is routable. With a GitHub
 * source there is no Git endpoint: the build reads the commit's archive from the artifact
 * bucket (project-source.ts), through the same S3 gateway endpoint.
 */
import { Duration, RemovalPolicy, type Stack } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { BuildEnv, BuildExport } from '../../../core/build.ts';
import type { ResolvedPipeline } from '../../../core/model.ts';
import { buildProjectName } from '../../../core/naming.ts';
import { ARTIFACT_BUCKET_NAME_KEY } from '../../../statemachines/resources.ts';
import { acknowledge, allowWithWildcardResources } from '../../nag.ts';
import { pascal } from './names.ts';
import { grantProjectSource, projectSource, type ProjectRepository } from './project-source.ts';

/** The team's script, at the root of the repository: runs the unit tests, then writes the bundle. */
export const BUILD_SCRIPT = './handsoff-build.sh';
/** Where the team's script leaves the CodeDeploy bundle (a zip with its appspec.yml). */
export const BUNDLE_FILE = 'bundle.zip';
/** A build that runs longer than this fails (the machine's task waits a little longer). */
export const BUILD_TIMEOUT = Duration.minutes(60);

/** The buildspec of every build project: the team's script, then handsoff's checksummed upload. */
export const buildSpec = (): Record<string, unknown> => ({
  version: '0.2',
  env: { shell: 'bash', 'exported-variables': [BuildExport.SHA256, BuildExport.VERSION_ID] },
  phases: {
    build: {
      commands: [
        // The unit tests and the bundle: any failure fails the build (and the change) here.
        `chmod +x ${BUILD_SCRIPT} && ${BUILD_SCRIPT}`,
        `test -f ${BUNDLE_FILE} || { echo "${BUILD_SCRIPT} wrote no ${BUNDLE_FILE}" >&2; exit 1; }`,
      ],
    },
    post_build: {
      'on-failure': 'ABORT',
      commands: [
        // One part (put-object), checksummed: S3 refuses the upload if its SHA-256 differs.
        `export ${BuildExport.SHA256}=$(sha256sum ${BUNDLE_FILE} | cut -d' ' -f1)`,
        `CHECKSUM=$(openssl dgst -sha256 -binary ${BUNDLE_FILE} | base64)`,
        `export ${BuildExport.VERSION_ID}=$(aws s3api put-object --bucket "$${BuildEnv.ARTIFACT_BUCKET}" --key "$${BuildEnv.ARTIFACT_KEY}" --body ${BUNDLE_FILE} --checksum-algorithm SHA256 --checksum-sha256 "$CHECKSUM" --query VersionId --output text)`,
        `test -n "$${BuildExport.VERSION_ID}" && test "$${BuildExport.VERSION_ID}" != None || { echo "the artifact bucket returned no version id" >&2; exit 1; }`,
      ],
    },
  },
});

export interface BuildNetwork {
  readonly vpc: ec2.Vpc;
  readonly securityGroup: ec2.SecurityGroup;
}

/** The isolated network every build runs in. */
export const buildNetwork = (stack: Stack, artifacts: s3.IBucket, codecommitGit: boolean): BuildNetwork => {
  const vpc = new ec2.Vpc(stack, 'BuildVpc', {
    maxAzs: 2,
    natGateways: 0,
    subnetConfiguration: [{ name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
    restrictDefaultSecurityGroup: false,
  });
  const flowLogs = new logs.LogGroup(stack, 'BuildVpcFlowLogs', { retention: logs.RetentionDays.ONE_YEAR, removalPolicy: RemovalPolicy.RETAIN });
  vpc.addFlowLog('FlowLogs', { destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogs) });
  const s3Endpoint = vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3, subnets: [{ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }] });
  // The only S3 a build reaches: the artifact bucket (its upload; reads of its own uploads).
  s3Endpoint.addToPolicy(
    new iam.PolicyStatement({
      principals: [new iam.AnyPrincipal()],
      actions: ['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion'],
      resources: [artifacts.arnForObjects('*')],
    }),
  );
  const securityGroup = new ec2.SecurityGroup(stack, 'BuildSecurityGroup', {
    vpc,
    description: 'handsoff builds: HTTPS out only; the isolated subnets route nothing but the VPC endpoints',
    allowAllOutbound: false,
  });
  // Routable destinations are the endpoints only (no NAT, no internet gateway in the VPC).
  securityGroup.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'HTTPS to the VPC endpoints (S3 gateway, CodeCommit Git, CloudWatch Logs)');
  const endpoints = new ec2.SecurityGroup(stack, 'BuildEndpointsSecurityGroup', { vpc, description: 'handsoff build endpoints: HTTPS from the builds', allowAllOutbound: false });
  endpoints.addIngressRule(securityGroup, ec2.Port.tcp(443), 'HTTPS from the handsoff builds');
  acknowledge(endpoints, 'AwsSolutions-EC23', 'Ingress from the build security group only (a reference, which the rule cannot evaluate); no CIDR is open.');
  const services = [
    // The checkout of a CodeCommit source; a GitHub source's archive comes through the S3 endpoint.
    ...(codecommitGit ? ([['CodeCommitGit', ec2.InterfaceVpcEndpointAwsService.CODECOMMIT_GIT]] as const) : []),
    ['Logs', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS],
  ] as const;
  for (const [id, service] of services) {
    vpc.addInterfaceEndpoint(id, { service, subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED }, securityGroups: [endpoints], privateDnsEnabled: true });
  }
  return { vpc, securityGroup };
};

/** The pipeline's build project, allowed to upload under its own prefix of the artifact bucket only. */
export const buildProject = (stack: Stack, p: ResolvedPipeline, repository: ProjectRepository, artifacts: s3.IBucket, network: BuildNetwork): codebuild.Project => {
  const id = `${pascal(p.name)}Build`;
  const logGroup = new logs.LogGroup(stack, `${id}Logs`, { logGroupName: `/aws/codebuild/${buildProjectName(p.name)}`, retention: logs.RetentionDays.ONE_YEAR });
  const project = new codebuild.Project(stack, `${id}Project`, {
    projectName: buildProjectName(p.name),
    description: `handsoff ${p.name}: unit tests and the checksummed artifact of each change`,
    source: projectSource(stack, id, repository),
    environment: { buildImage: codebuild.LinuxBuildImage.STANDARD_7_0, computeType: codebuild.ComputeType.SMALL, privileged: false },
    buildSpec: codebuild.BuildSpec.fromObject(buildSpec()),
    vpc: network.vpc,
    subnetSelection: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    securityGroups: [network.securityGroup],
    timeout: BUILD_TIMEOUT,
    logging: { cloudWatch: { logGroup } },
  });
  grantProjectSource(project, repository);
  allowWithWildcardResources(
    project.role!,
    new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [artifacts.arnForObjects(`${p.name}/*`)] }),
    'The build uploads the artifact of the revision it builds, keyed at run time (naming.artifactKey); only under its own pipeline\'s prefix of the artifact bucket.',
  );
  // What CDK grants every project of this shape, each wildcard for a reason CodeBuild sets.
  const projectId = stack.getLogicalId(project.node.defaultChild as codebuild.CfnProject);
  const region = stack.region;
  for (const [finding, reason] of [
    [
      'AwsSolutions-IAM5[Resource::*]',
      'CodeBuild manages the network interfaces of a VPC build (ec2:CreateNetworkInterface, DescribeDhcpOptions, DescribeNetworkInterfaces, DescribeSubnets, DescribeSecurityGroups, DescribeVpcs, DeleteNetworkInterface), which have no resource-level permissions.',
    ],
    [
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:<AWS::AccountId>:network-interface/*]',
      'ec2:CreateNetworkInterfacePermission on the network interfaces CodeBuild creates at run time, conditioned by CDK on the build subnets and the CodeBuild service.',
    ],
    [`AwsSolutions-IAM5[Resource::arn:aws:logs:${region}:<AWS::AccountId>:log-group:/aws/codebuild/<${projectId}>:*]`, "The build's log streams, named per build at run time, in the project's own log group."],
    [`AwsSolutions-IAM5[Resource::arn:aws:codebuild:${region}:<AWS::AccountId>:report-group/<${projectId}>-*]`, "The project's own test report groups, named after it."],
    [
      'AwsSolutions-CB4',
      "The project has no CodeBuild artifacts: the bundle goes to the artifact bucket through put-object (SSE-S3, checksummed) and the log to its own log group; a customer key would only add kms:GenerateDataKey* and kms:ReEncrypt* (wildcard actions) to the build's role.",
    ],
  ] as const) {
    acknowledge(project, finding, reason);
  }
  return project;
};

/** The managed rule through which Step Functions hears that a `startBuild.sync` build ended. */
const START_BUILD_SYNC_RULE = 'StepFunctionsGetEventForCodeBuildStartBuildRule';

/**
 * `codebuild:startBuild.sync` on `project` (Step Functions developer guide, "IAM policies for
 * CodeBuild"): start, follow and stop its builds, and the
 * managed rule, granted once per role however many projects it runs.
 */
export const allowStartBuildSync = (stack: Stack, role: iam.IRole, project: codebuild.IProject): void => {
  // A statement per project (the Sid keeps CDK from merging the build's and the stage suites'
  // statements of one role into one that names both projects).
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: `StartBuildSync${project.node.id.replace(/[^A-Za-z0-9]/g, '')}`,
      actions: ['codebuild:StartBuild', 'codebuild:StopBuild', 'codebuild:BatchGetBuilds'],
      resources: [project.projectArn],
    }),
  );
  if (ruleGranted.has(role)) return;
  ruleGranted.add(role);
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: [stack.formatArn({ service: 'events', resource: 'rule', resourceName: START_BUILD_SYNC_RULE })],
    }),
  );
};
const ruleGranted = new WeakSet<iam.IRole>();

/**
 * What `codebuild:startBuild.sync` needs of the pipeline machine's role: start, follow and
 * stop builds of this project, and the managed rule through which Step Functions hears of
 * their end; and the artifact bucket's name, which the machine hands each build.
 */
export const grantBuild = (stack: Stack, machine: sfn.StateMachine, project: codebuild.Project, artifacts: s3.IBucket): void => {
  allowStartBuildSync(stack, machine.role, project);
  (machine.node.defaultChild as sfn.CfnStateMachine).addPropertyOverride(`DefinitionSubstitutions.${ARTIFACT_BUCKET_NAME_KEY}`, artifacts.bucketName);
};
