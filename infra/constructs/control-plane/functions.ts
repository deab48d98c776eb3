/**
 * The handlers: one Lambda function per handler (Node.js 22, arm64), each with its own code
 * asset from the one shared esbuild build of all handlers (bundle.ts), its own role and log
 * group, granted exactly what lambdas/<name> calls (access.ts). Created in the stack's own
 * scope, so the construct ids (`<Handler>Function`, `<Handler>Role`) stay.
 */
import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { HANDLER_ARCHITECTURE, HANDLER_MEMORY_MB } from '../../../core/functions.ts';
import type { ResolvedPipeline } from '../../../core/model.ts';
import { ENV } from '../../../lambdas/shared/config.ts';
import { HandlerName } from '../../../statemachines/resources.ts';
import { regionArtifactBucketName } from '../../../core/naming.ts';
import { targetRegions } from '../../../core/alarms/plan.ts';
import { Reason, acknowledge, allowWithWildcardResources } from '../../nag.ts';
import {
  BAKE_SCHEDULE_GROUP,
  alarmArns,
  applicationArns,
  deploymentConfigArns,
  deploymentGroupArns,
  executionsArn,
  pipelineStateMachineName,
  regionStateMachineName,
  stateMachineArn,
} from '../../stacks/arns.ts';
import { ACCESS, type DynamoAction, type HandlerAccess, type TableName } from './access.ts';
import { BUNDLE_HANDLER } from './bundle.ts';
import { pascal } from './names.ts';
import { tableEnvironment } from './tables.ts';

/**
 * Handlers invoked asynchronously (EventBridge rules, Scheduler schedules): Lambda retries a
 * failed invocation twice, then the event goes to the dead-letter queue, so that no AWS event
 * a decision depends on is dropped without a trace (the reconciler still sweeps what it lost).
 */
export const ASYNC_HANDLERS: readonly HandlerName[] = [
  HandlerName.ON_DEPLOYMENT_EVENT,
  HandlerName.ON_ALARM_EVENT,
  HandlerName.BAKE_END,
  HandlerName.RECONCILE,
  HandlerName.START_CHANGE,
  // Its own schedules invoke it at an override's expiry (the console's calls are synchronous).
  HandlerName.OPERATOR,
];

export interface HandlerDeps {
  readonly tables: Record<TableName, dynamodb.Table>;
  readonly bus: events.EventBus;
  readonly artifacts: s3.Bucket;
  readonly scheduleGroup: scheduler.ScheduleGroup;
  readonly schedulerRole: iam.Role;
  /** The CodeCommit repositories whose pushes start the pipelines (the review gate reads them). */
  readonly repositoryArns: readonly string[];
  /** Where the asynchronous handlers' failed events end up. */
  readonly deadLetters: sqs.IQueue;
}

/** A function's ARN from its fixed name: what a function that schedules itself is told (a reference to itself would be circular). */
const fixedFunction = (stack: Stack, handler: HandlerName): { name: string; arn: string } => {
  const name = `${stack.stackName}-${handler}`;
  if (name.length > 64) throw new Error(`function name '${name}' is longer than Lambda's 64 characters: shorten the stack name`);
  return { name, arn: stack.formatArn({ service: 'lambda', resource: 'function', resourceName: name, arnFormat: ArnFormat.COLON_RESOURCE_NAME }) };
};

/**
 * What every handler's environment holds: the bus, the schedules, the artifact bucket, the
 * tables, bake-end's ARN (the target of bake schedules) and the reconciler's (the target of
 * a sweep's wake, core/sweeps.ts).
 */
export const handlerEnvironment = (deps: HandlerDeps, bakeEndArn: string): Record<string, string> => ({
  [ENV.EVENT_BUS_NAME]: deps.bus.eventBusName,
  [ENV.SCHEDULER_ROLE_ARN]: deps.schedulerRole.roleArn,
  [ENV.SCHEDULE_GROUP]: deps.scheduleGroup.scheduleGroupName,
  [ENV.ARTIFACT_BUCKET]: deps.artifacts.bucketName,
  [ENV.ACCOUNT_ID]: Stack.of(deps.bus).account,
  [ENV.BAKE_END_FUNCTION_ARN]: bakeEndArn,
  [ENV.RECONCILE_FUNCTION_ARN]: reconcileFunctionArn(Stack.of(deps.bus)),
  ...tableEnvironment(deps.tables),
});

/** Handlers that schedule themselves, so their names are fixed (their ARN is in their own environment). */
const FIXED_NAMES: readonly HandlerName[] = [HandlerName.BAKE_END, HandlerName.OPERATOR, HandlerName.RECONCILE];

/**
 * Every handler's function, bake-end first: the others get its ARN in their environment.
 * bake-end schedules its own next end check, the operator the expiry of an override (a
 * schedule that invokes it) and the reconciler its own next sweep, so they need their own
 * ARN: from a fixed name, as a reference to itself would be circular (every handler gets the
 * reconciler's, from its fixed name too).
 */
export const createFunctions = (
  stack: Stack,
  deps: HandlerDeps,
  code: Readonly<Record<string, string>>,
): Record<HandlerName, lambda.Function> => {
  const functions = {} as Record<HandlerName, lambda.Function>;
  const order = [HandlerName.BAKE_END, ...Object.values(HandlerName).filter((h) => h !== HandlerName.BAKE_END)];
  for (const name of order) {
    const fixed = FIXED_NAMES.includes(name) ? fixedFunction(stack, name) : undefined;
    const environment = handlerEnvironment(deps, name === HandlerName.BAKE_END ? fixed!.arn : functions[HandlerName.BAKE_END]!.functionArn);
    functions[name] = controlPlaneFunction(stack, pascal(name), name, code[name]!, {
      functionName: fixed?.name,
      deadLetterQueue: ASYNC_HANDLERS.includes(name) ? deps.deadLetters : undefined,
      environment: name === HandlerName.OPERATOR ? { ...environment, [ENV.OPERATOR_FUNCTION_ARN]: fixed!.arn } : environment,
      timeout: ACCESS[name].timeout,
    });
  }
  return functions;
};

/** The operator function's ARN (from its fixed name), for a function that runs the operator's code. */
export const operatorFunctionArn = (stack: Stack): string => fixedFunction(stack, HandlerName.OPERATOR).arn;

/** The reconciler's ARN (from its fixed name): what a sweep's wake invokes. */
export const reconcileFunctionArn = (stack: Stack): string => fixedFunction(stack, HandlerName.RECONCILE).arn;

/**
 * One function of the control plane (Node.js 22, arm64) with its own role and log group:
 * construct ids `<id>Logs`, `<id>Role`, `<id>Function`.
 */
export const controlPlaneFunction = (
  stack: Stack,
  id: string,
  name: string,
  codeDir: string,
  options: { functionName?: string; deadLetterQueue?: sqs.IQueue; environment: Record<string, string>; timeout?: Duration },
): lambda.Function => {
  const logGroup = new logs.LogGroup(stack, `${id}Logs`, { retention: logs.RetentionDays.THREE_MONTHS });
  // An own role per function: no AWSLambdaBasicExecutionRole, logs only to its own group.
  const role = new iam.Role(stack, `${id}Role`, {
    assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    description: `handsoff ${name} handler`,
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  const fn = new lambda.Function(stack, `${id}Function`, {
    code: lambda.Code.fromAsset(codeDir),
    handler: BUNDLE_HANDLER,
    functionName: options.functionName,
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: HANDLER_ARCHITECTURE === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
    memorySize: HANDLER_MEMORY_MB,
    timeout: options.timeout ?? Duration.seconds(30),
    role,
    logGroup,
    description: `handsoff ${name}`,
    environment: options.environment,
    ...(options.deadLetterQueue ? { deadLetterQueue: options.deadLetterQueue, retryAttempts: 2 } : {}),
  });
  acknowledge(fn, 'AwsSolutions-L1', Reason.NODE_22);
  return fn;
};

/** Actions on a table that write items, and so encrypt with the table's key. */
const WRITES: ReadonlySet<DynamoAction> = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

/**
 * Use of the key of each customer-key table the handler touches: decrypt to read, and
 * encrypt to write, only through DynamoDB in this region (kms:ViaService), so the grant
 * cannot be used to decrypt anything outside those tables' requests.
 */
const grantTableKeys = (stack: Stack, role: iam.IRole, access: HandlerAccess, deps: HandlerDeps): void => {
  const uses = new Map<kms.IKey, Set<string>>();
  const use = (t: TableName, actions: readonly DynamoAction[]) => {
    const key = deps.tables[t].encryptionKey;
    if (!key) return;
    const set = uses.get(key) ?? new Set<string>();
    set.add('kms:Decrypt').add('kms:DescribeKey');
    if (actions.some((a) => WRITES.has(a))) set.add('kms:Encrypt').add('kms:GenerateDataKey');
    uses.set(key, set);
  };
  for (const [t, actions] of Object.entries(access.tables ?? {}) as Array<[TableName, readonly DynamoAction[]]>) use(t, actions);
  for (const { table, actions } of access.indexes ?? []) use(table, actions);
  for (const [key, actions] of uses) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [...actions].sort(),
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${stack.region}.amazonaws.com` } },
      }),
    );
  }
};

/** Grants one handler what access.ts says it may touch. */
export const grantHandler = (
  stack: Stack,
  fn: lambda.Function,
  name: HandlerName,
  pipelines: readonly ResolvedPipeline[],
  deps: HandlerDeps,
): void => grantAccess(stack, fn, ACCESS[name], pipelines, deps);

/** Grants a function of the control plane exactly `access` (access.ts). */
export const grantAccess = (
  stack: Stack,
  fn: lambda.Function,
  access: HandlerAccess,
  pipelines: readonly ResolvedPipeline[],
  deps: HandlerDeps,
): void => {
  const role = fn.role!;
  if (access.publishes !== false) deps.bus.grantPutEventsTo(fn);
  for (const [t, actions] of Object.entries(access.tables ?? {}) as Array<[TableName, readonly DynamoAction[]]>) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: actions.map((a) => `dynamodb:${a}`), resources: [deps.tables[t].tableArn] }),
    );
  }
  for (const { table, index, actions } of access.indexes ?? []) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: actions.map((a) => `dynamodb:${a}`),
        resources: [`${deps.tables[table].tableArn}/index/${index}`],
      }),
    );
  }
  grantTableKeys(stack, role, access, deps);
  const forPipelines = (f: (p: ResolvedPipeline) => string[]): string[] => pipelines.flatMap(f);

  if (access.deploy || access.readDeployments) {
    allowWithWildcardResources(
      role,
      new iam.PolicyStatement({
        actions: access.deploy
          ? [
              'codedeploy:CreateDeployment',
              'codedeploy:GetDeployment',
              'codedeploy:StopDeployment',
              'codedeploy:ListDeployments',
              'codedeploy:GetDeploymentGroup',
            ]
          : ['codedeploy:GetDeployment'],
        resources: forPipelines((p) => deploymentGroupArns(stack, p)),
      }),
      'Deployment groups of the handsoff CodeDeploy applications only (<application>/<group>); any region, as a pipeline with automatic waves deploys to every catalog region.',
    );
  }
  if (access.overrideGroupAlarms) {
    allowWithWildcardResources(
      role,
      new iam.PolicyStatement({ actions: ['codedeploy:UpdateDeploymentGroup'], resources: forPipelines((p) => deploymentGroupArns(stack, p)) }),
      'CodeDeploy requires UpdateDeploymentGroup to create a deployment with its own alarm configuration (a team-alarm override leaves the alarming team aggregate out); on the handsoff deployment groups only.',
    );
  }
  if (access.deploy) {
    allowWithWildcardResources(
      role,
      new iam.PolicyStatement({
        actions: ['codedeploy:GetApplication', 'codedeploy:GetApplicationRevision', 'codedeploy:RegisterApplicationRevision'],
        resources: forPipelines((p) => applicationArns(stack, p)),
      }),
      'The handsoff CodeDeploy applications by exact name, in any region (a pipeline with automatic waves deploys to every catalog region).',
    );
    allowWithWildcardResources(
      role,
      new iam.PolicyStatement({ actions: ['codedeploy:GetDeploymentConfig'], resources: deploymentConfigArns(stack) }),
      'The shared handsoff deployment configurations (and CodeDeployDefault.OneAtATime) by exact name, in any region.',
    );
  }
  if (access.describeAlarms) {
    allowWithWildcardResources(
      role,
      new iam.PolicyStatement({
        actions: ['cloudwatch:DescribeAlarms'],
        resources: [...new Set(forPipelines((p) => alarmArns(stack, p)))],
      }),
      'Alarms whose names start with a handsoff pipeline name (its one-box, fleet and pre-production alarms), its team aggregate and the company event alarms (region-shaped names); any region.',
    );
  }
  if (access.metricData) {
    allowWithWildcardResources(
      role,
      new iam.PolicyStatement({ actions: ['cloudwatch:GetMetricData'], resources: ['*'] }),
      Reason.METRIC_DATA,
    );
  }
  if (access.completeTasks) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: access.completeTasks.map((a) => `states:${a}`),
        // By name, not by reference: the state machines reference these functions.
        resources: forPipelines((p) => [
          stateMachineArn(stack, pipelineStateMachineName(p.name)),
          stateMachineArn(stack, regionStateMachineName(p.name)),
        ]),
      }),
    );
  }
  if (access.describeExecutions) {
    allowWithWildcardResources(
      role,
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution'],
        resources: forPipelines((p) => [
          executionsArn(stack, pipelineStateMachineName(p.name)),
          executionsArn(stack, regionStateMachineName(p.name)),
        ]),
      }),
      'Executions are named per change at run time; the pattern covers only the executions of the handsoff state machines.',
    );
  }
  if (access.schedules) {
    allowWithWildcardResources(
      role,
      new iam.PolicyStatement({
        actions: access.schedules.map((a) => `scheduler:${a}`),
        resources: [
          stack.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${BAKE_SCHEDULE_GROUP}/*` }),
        ],
      }),
      'One-time bake-end, override-expiry and sweep schedules are named per bake, override or sweep slot at run time; the pattern covers only the handsoff schedule group.',
    );
    if (access.schedules.includes('CreateSchedule')) deps.schedulerRole.grantPassRole(role);
  }
  // No repositories: the source is not CodeCommit (a GitHub source grants its own reads).
  if (access.readReviews && deps.repositoryArns.length > 0) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'codecommit:GetCommit',
          'codecommit:ListPullRequests',
          'codecommit:GetPullRequest',
          'codecommit:GetPullRequestApprovalStates',
          'codecommit:EvaluatePullRequestApprovalRules',
        ],
        resources: [...new Set(deps.repositoryArns)],
      }),
    );
  }
  if (access.startPipelines) {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        // By name: the pipeline machines reference the task handlers, not this one, but the
        // rule that invokes this function references both.
        resources: forPipelines((p) => [stateMachineArn(stack, pipelineStateMachineName(p.name))]),
      }),
    );
  }
  // No target region (no pipeline deploys anywhere yet): no region bucket to grant on, and a
  // statement without resources fails synthesis.
  if (access.regionArtifacts && targetRegions(pipelines).length > 0) {
    // One pattern for every region (naming.regionArtifactBucketName): a bucket per target region
    // by name would outgrow the role's inline policy limit with automatic waves.
    const buckets = [`arn:${stack.partition}:s3:::${regionArtifactBucketName(stack.account, '*')}`];
    // S3 ARNs name no account: the pattern alone would match a bucket of that name another
    // account owns. Only this account's buckets.
    const ownBuckets = { StringEquals: { 's3:ResourceAccount': stack.account } };
    allowWithWildcardResources(
      role,
      new iam.PolicyStatement({
        actions: access.regionArtifacts === 'copy' ? ['s3:PutObject', 's3:GetObject', 's3:GetObjectVersion'] : ['s3:GetObject', 's3:GetObjectVersion'],
        resources: buckets.map((b) => `${b}/*`),
        conditions: ownBuckets,
      }),
      'Region copies are keyed per pipeline and revision at run time (naming.artifactKey), in the artifact buckets of the target regions (handsoff-artifacts-<account>-<region>) of this account only.',
    );
    // Without ListBucket, S3 answers 403 rather than 404 for a copy not there yet.
    allowWithWildcardResources(
      role,
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: buckets, conditions: ownBuckets }),
      'The artifact buckets of the target regions (handsoff-artifacts-<account>-<region>) of this account only: HeadObject of a copy not made yet answers 404, not 403.',
    );
  }
  if (access.readArtifacts) {
    allowWithWildcardResources(
      role,
      new iam.PolicyStatement({
        actions: ['s3:GetObject', 's3:GetObjectVersion'],
        resources: [deps.artifacts.arnForObjects('*')],
      }),
      'Artifacts are keyed per pipeline and revision at run time (naming.artifactKey); read-only, and only in the handsoff artifact bucket.',
    );
  }
};
