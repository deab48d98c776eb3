/**
 * The handsoff control plane, in the home region: the handlers, their tables, the event
 * bus that AWS events of every target region are forwarded to, the bake-end schedules,
 * notifications, and per pipeline a pipeline state machine and a region child state machine.
 */
import { Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResolvedPipeline } from '../../core/model.ts';
import { EventType } from '../../core/events.ts';
import { ENV } from '../../lambdas/shared/config.ts';
import { TTL_ATTRIBUTE } from '../../lambdas/shared/tables.ts';
import {
  HandlerName,
  REGION_STATE_MACHINE_ARN_KEY,
  TaskHandlers,
  functionArnKey,
} from '../../statemachines/resources.ts';
import { TableSeed } from '../constructs/table-seed.ts';
import { holidayItems, windowItems } from '../constructs/seed-items.ts';
import { Reason, acknowledge, allowWithWildcardResources } from '../nag.ts';
import {
  BAKE_SCHEDULE_GROUP,
  HANDSOFF_BUS_NAME,
  alarmArns,
  applicationArns,
  deploymentConfigArns,
  deploymentGroupArns,
  executionsArn,
  pipelineStateMachineName,
  regionStateMachineName,
  stateMachineArn,
} from './arns.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** statemachines/index.ts `buildStateMachines`: one ASL source for AWS and the simulator. */
export type BuildStateMachines = (p: ResolvedPipeline) => {
  pipeline: Record<string, unknown>;
  region: Record<string, unknown>;
};

export interface ControlPlaneStackProps extends StackProps {
  readonly pipelines: readonly ResolvedPipeline[];
  readonly buildStateMachines: BuildStateMachines;
  /**
   * Entry file of a handler.
   * @default - `lambdas/<name>/index.ts`
   */
  readonly handlerEntry?: (name: HandlerName) => string;
  /**
   * CodeCommit repository whose pushes to main start a pipeline.
   * @default - the repository named like the pipeline
   */
  readonly repositoryName?: (p: ResolvedPipeline) => string;
}

type TableName = 'deployments' | 'waiters' | 'watches' | 'windows' | 'holidays' | 'lanes';

/** What each handler may touch: least privilege per function, not one shared role. */
interface HandlerAccess {
  readonly readWrite?: readonly TableName[];
  readonly read?: readonly TableName[];
  /** CreateDeployment / StopDeployment / GetDeployment ... on the pipelines' groups. */
  readonly deploy?: boolean;
  /** GetDeployment only. */
  readonly readDeployments?: boolean;
  readonly describeAlarms?: boolean;
  readonly metricData?: boolean;
  /** SendTaskSuccess / SendTaskFailure / SendTaskHeartbeat on the handsoff state machines. */
  readonly completeTasks?: boolean;
  readonly createSchedules?: boolean;
  readonly deleteSchedules?: boolean;
  readonly readArtifacts?: boolean;
}

const STATE_TABLES: readonly TableName[] = ['deployments', 'waiters', 'watches'];

const ACCESS: Record<HandlerName, HandlerAccess> = {
  [HandlerName.NOTIFY]: {},
  [HandlerName.CHECK_WINDOW]: { read: ['windows', 'holidays'] },
  [HandlerName.START_DEPLOYMENT]: {
    readWrite: STATE_TABLES,
    deploy: true,
    describeAlarms: true,
    completeTasks: true,
    readArtifacts: true,
  },
  [HandlerName.START_BAKE]: {
    readWrite: STATE_TABLES,
    describeAlarms: true,
    metricData: true,
    completeTasks: true,
    createSchedules: true,
    deleteSchedules: true,
  },
  [HandlerName.BAKE_END]: {
    readWrite: STATE_TABLES,
    describeAlarms: true,
    metricData: true,
    completeTasks: true,
    deleteSchedules: true,
  },
  [HandlerName.ROLLBACK]: {
    readWrite: STATE_TABLES,
    deploy: true,
    describeAlarms: true,
    completeTasks: true,
    readArtifacts: true,
  },
  [HandlerName.LANE]: { readWrite: ['lanes'], completeTasks: true },
  [HandlerName.ON_DEPLOYMENT_EVENT]: { readWrite: STATE_TABLES, readDeployments: true, completeTasks: true },
  [HandlerName.ON_ALARM_EVENT]: {
    readWrite: STATE_TABLES,
    deploy: true,
    describeAlarms: true,
    completeTasks: true,
    deleteSchedules: true,
  },
};

/** Key layouts and TTLs: lambdas/shared/tables.ts. */
const TABLES: Record<TableName, { sortKey: boolean; env: string; ttl?: string }> = {
  deployments: { sortKey: true, env: ENV.DEPLOYMENTS_TABLE },
  waiters: { sortKey: false, env: ENV.WAITERS_TABLE, ttl: TTL_ATTRIBUTE },
  watches: { sortKey: true, env: ENV.WATCHES_TABLE, ttl: TTL_ATTRIBUTE },
  windows: { sortKey: true, env: ENV.WINDOWS_TABLE },
  holidays: { sortKey: true, env: ENV.HOLIDAYS_TABLE },
  lanes: { sortKey: true, env: ENV.LANES_TABLE },
};

const pascal = (s: string): string =>
  s
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w[0]!.toUpperCase() + w.slice(1))
    .join('');

export class ControlPlaneStack extends Stack {
  readonly tables: Record<TableName, dynamodb.Table>;
  readonly functions: Record<HandlerName, NodejsFunction>;
  readonly bus: events.EventBus;
  readonly pipelineMachines: Record<string, sfn.StateMachine> = {};
  readonly regionMachines: Record<string, sfn.StateMachine> = {};

  constructor(scope: Construct, id: string, props: ControlPlaneStackProps) {
    super(scope, id, { suppressTemplateIndentation: true, ...props });
    const { pipelines } = props;

    this.tables = Object.fromEntries(
      Object.entries(TABLES).map(([name, spec]) => [
        name,
        new dynamodb.Table(this, `${pascal(name)}Table`, {
          partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
          ...(spec.sortKey ? { sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING } } : {}),
          ...(spec.ttl ? { timeToLiveAttribute: spec.ttl } : {}),
          billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
          pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
          // The deployment history and the audit of waits outlive a stack replacement.
          removalPolicy: RemovalPolicy.RETAIN,
        }),
      ]),
    ) as Record<TableName, dynamodb.Table>;

    this.bus = new events.EventBus(this, 'Bus', { eventBusName: HANDSOFF_BUS_NAME });
    this.bus.archive('Archive', {
      archiveName: 'handsoff-events',
      description: 'Every event on the handsoff bus, for replay after a handler fix.',
      eventPattern: { account: [this.account] },
      retention: Duration.days(90),
    });

    const artifacts = this.artifactBucket();

    const scheduleGroup = new scheduler.ScheduleGroup(this, 'BakeSchedules', {
      scheduleGroupName: BAKE_SCHEDULE_GROUP,
    });
    // Bake ends are one-time schedules; the role they run as may invoke bake-end and nothing else.
    const schedulerRole = new iam.Role(this, 'BakeSchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
      description: 'EventBridge Scheduler: invokes the handsoff bake-end function when a bake time has passed.',
    });

    this.functions = {} as Record<HandlerName, NodejsFunction>;
    // bake-end first: other functions get its ARN in their environment.
    const order = [HandlerName.BAKE_END, ...Object.values(HandlerName).filter((h) => h !== HandlerName.BAKE_END)];
    for (const name of order) {
      this.functions[name] = this.handler(name, props, {
        [ENV.EVENT_BUS_NAME]: this.bus.eventBusName,
        [ENV.SCHEDULER_ROLE_ARN]: schedulerRole.roleArn,
        [ENV.SCHEDULE_GROUP]: scheduleGroup.scheduleGroupName,
        [ENV.ARTIFACT_BUCKET]: artifacts.bucketName,
        ...(name === HandlerName.BAKE_END ? {} : { [ENV.BAKE_END_FUNCTION_ARN]: this.functions[HandlerName.BAKE_END]!.functionArn }),
        ...Object.fromEntries(Object.entries(TABLES).map(([t, spec]) => [spec.env, this.tables[t as TableName].tableName])),
      });
    }
    schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.functions[HandlerName.BAKE_END].functionArn],
      }),
    );

    for (const p of pipelines) this.stateMachines(p, props);

    for (const name of Object.values(HandlerName)) {
      this.grantHandler(name, pipelines, { artifacts, scheduleGroup, schedulerRole });
    }

    this.eventRules(pipelines, props);
    this.seedTables(pipelines);
  }

  private artifactBucket(): s3.Bucket {
    const accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [{ expiration: Duration.days(365) }],
    });
    acknowledge(
      accessLogs,
      'AwsSolutions-S1',
      'This bucket receives the server access logs of the artifact bucket; logging it into itself would loop.',
    );
    return new s3.Bucket(this, 'Artifacts', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // Rollback restores the exact previous artifact: objects are immutable and versioned.
      versioned: true,
      serverAccessLogsBucket: accessLogs,
      serverAccessLogsPrefix: 'artifacts/',
    });
  }

  private handler(name: HandlerName, props: ControlPlaneStackProps, environment: Record<string, string>): NodejsFunction {
    const id = pascal(name);
    const logGroup = new logs.LogGroup(this, `${id}Logs`, { retention: logs.RetentionDays.THREE_MONTHS });
    // An own role per function: no AWSLambdaBasicExecutionRole, logs only to its own group.
    const role = new iam.Role(this, `${id}Role`, {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `handsoff ${name} handler`,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );
    const fn = new NodejsFunction(this, `${id}Function`, {
      entry: props.handlerEntry?.(name) ?? path.join(ROOT, 'lambdas', name, 'index.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(30),
      role,
      logGroup,
      description: `handsoff ${name}`,
      environment,
      projectRoot: ROOT,
      depsLockFilePath: path.join(ROOT, 'package-lock.json'),
      bundling: {
        format: OutputFormat.ESM,
        minify: true,
        sourceMap: true,
        target: 'node22',
        mainFields: ['module', 'main'],
        // Some CommonJS dependencies call require(); give the ESM bundle one.
        banner: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
      },
    });
    acknowledge(fn, 'AwsSolutions-L1', Reason.NODE_22);
    return fn;
  }

  private stateMachines(p: ResolvedPipeline, props: ControlPlaneStackProps): void {
    const definitions = props.buildStateMachines(p);
    const functionArns = Object.fromEntries(
      TaskHandlers.map((h) => [functionArnKey(h), this.functions[h].functionArn]),
    );
    const invokeHandlers = new iam.PolicyStatement({
      actions: ['lambda:InvokeFunction'],
      resources: TaskHandlers.map((h) => this.functions[h].functionArn),
    });

    const machine = (kind: 'Region' | 'Pipeline', name: string, definition: Record<string, unknown>, substitutions: Record<string, string>) => {
      const id = `${pascal(p.name)}${kind}`;
      const role = new iam.Role(this, `${id}Role`, {
        assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
        description: `handsoff state machine ${name}`,
      });
      role.addToPrincipalPolicy(invokeHandlers);
      const sm = new sfn.StateMachine(this, `${id}StateMachine`, {
        stateMachineName: name,
        stateMachineType: sfn.StateMachineType.STANDARD,
        definitionBody: sfn.DefinitionBody.fromString(JSON.stringify(definition)),
        definitionSubstitutions: substitutions,
        role,
        tracingEnabled: true,
        logs: {
          destination: new logs.LogGroup(this, `${id}Logs`, {
            // The vendedlogs prefix keeps the account's log resource policy small.
            logGroupName: `/aws/vendedlogs/states/${name}`,
            retention: logs.RetentionDays.ONE_YEAR,
          }),
          level: sfn.LogLevel.ALL,
          includeExecutionData: false,
        },
      });
      acknowledge(role, 'AwsSolutions-IAM5[Resource::*]', Reason.SFN_LOGS_XRAY);
      return { sm, role };
    };

    const region = machine('Region', regionStateMachineName(p.name), definitions.region, functionArns);
    const pipeline = machine('Pipeline', pipelineStateMachineName(p.name), definitions.pipeline, {
      ...functionArns,
      [REGION_STATE_MACHINE_ARN_KEY]: region.sm.stateMachineArn,
    });
    // Permissions of startExecution.sync:2 (Step Functions developer guide, "IAM policies for
    // Step Functions"): start the child, follow and stop its executions, and the managed rule
    // Step Functions uses to hear of their completion.
    pipeline.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [region.sm.stateMachineArn] }),
    );
    allowWithWildcardResources(
      pipeline.role,
      new iam.PolicyStatement({
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [executionsArn(this, regionStateMachineName(p.name))],
      }),
      'Child executions are named at run time; the pattern covers only executions of this pipeline\'s region state machine.',
    );
    pipeline.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        resources: [
          this.formatArn({
            service: 'events',
            resource: 'rule',
            resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule',
          }),
        ],
      }),
    );
    this.regionMachines[p.name] = region.sm;
    this.pipelineMachines[p.name] = pipeline.sm;
  }

  private grantHandler(
    name: HandlerName,
    pipelines: readonly ResolvedPipeline[],
    deps: { artifacts: s3.Bucket; scheduleGroup: scheduler.ScheduleGroup; schedulerRole: iam.Role },
  ): void {
    const fn = this.functions[name];
    const role = fn.role!;
    const access = ACCESS[name];
    this.bus.grantPutEventsTo(fn);
    for (const t of access.readWrite ?? []) this.tables[t].grantReadWriteData(fn);
    for (const t of access.read ?? []) this.tables[t].grantReadData(fn);
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
          resources: forPipelines((p) => deploymentGroupArns(this, p)),
        }),
        'Deployment groups of the handsoff CodeDeploy applications only (<application>/<group>); any region, as a pipeline with automatic waves deploys to every catalog region.',
      );
    }
    if (access.deploy) {
      allowWithWildcardResources(
        role,
        new iam.PolicyStatement({
          actions: ['codedeploy:GetApplication', 'codedeploy:GetApplicationRevision', 'codedeploy:RegisterApplicationRevision'],
          resources: forPipelines((p) => applicationArns(this, p)),
        }),
        'The handsoff CodeDeploy applications by exact name, in any region (a pipeline with automatic waves deploys to every catalog region).',
      );
      allowWithWildcardResources(
        role,
        new iam.PolicyStatement({ actions: ['codedeploy:GetDeploymentConfig'], resources: deploymentConfigArns(this) }),
        'The shared handsoff deployment configurations (and CodeDeployDefault.OneAtATime) by exact name, in any region.',
      );
    }
    if (access.describeAlarms) {
      allowWithWildcardResources(
        role,
        new iam.PolicyStatement({
          actions: ['cloudwatch:DescribeAlarms'],
          resources: [...new Set(forPipelines((p) => alarmArns(this, p)))],
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
          actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
          // By name, not by reference: the state machines reference these functions.
          resources: forPipelines((p) => [
            stateMachineArn(this, pipelineStateMachineName(p.name)),
            stateMachineArn(this, regionStateMachineName(p.name)),
          ]),
        }),
      );
    }
    if (access.createSchedules || access.deleteSchedules) {
      allowWithWildcardResources(
        role,
        new iam.PolicyStatement({
          actions: [
            ...(access.createSchedules ? ['scheduler:CreateSchedule', 'scheduler:GetSchedule'] : []),
            'scheduler:DeleteSchedule',
          ],
          resources: [
            this.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${BAKE_SCHEDULE_GROUP}/*` }),
          ],
        }),
        'One-time bake-end schedules are named per bake at run time; the pattern covers only the handsoff bake schedule group.',
      );
    }
    if (access.createSchedules) deps.schedulerRole.grantPassRole(role);
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
  }

  private eventRules(pipelines: readonly ResolvedPipeline[], props: ControlPlaneStackProps): void {
    // AWS events of every target region arrive on the handsoff bus (the target stacks forward them).
    new events.Rule(this, 'DeploymentStateChanges', {
      eventBus: this.bus,
      description: 'CodeDeploy deployment state changes of every target region: complete the waiting step.',
      eventPattern: { source: ['aws.codedeploy'], detailType: ['CodeDeploy Deployment State-change Notification'] },
      targets: [new targets.LambdaFunction(this.functions[HandlerName.ON_DEPLOYMENT_EVENT], { retryAttempts: 8 })],
    });
    new events.Rule(this, 'AlarmStateChanges', {
      eventBus: this.bus,
      description: 'CloudWatch alarm state changes of every target region: fail steps and roll back in seconds.',
      eventPattern: { source: ['aws.cloudwatch'], detailType: ['CloudWatch Alarm State Change'] },
      targets: [new targets.LambdaFunction(this.functions[HandlerName.ON_ALARM_EVENT], { retryAttempts: 8 })],
    });

    const key = new kms.Key(this, 'NotificationsKey', {
      enableKeyRotation: true,
      description: 'handsoff notifications topic',
    });
    // EventBridge publishes to the encrypted topic, so it must use the key.
    key.grant(new iam.ServicePrincipal('events.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey');
    const topic = new sns.Topic(this, 'Notifications', {
      topicName: 'handsoff-notifications',
      masterKey: key,
      enforceSSL: true,
    });
    new events.Rule(this, 'ChangeFailed', {
      eventBus: this.bus,
      description: 'A change failed: tell the humans, with the reason.',
      eventPattern: { source: ['handsoff'], detailType: [EventType.CHANGE_FAILED] },
      targets: [new targets.SnsTopic(topic)],
    });

    for (const p of pipelines) {
      const repository = props.repositoryName?.(p) ?? p.name;
      // A push to main starts a change. The review gate (only commits merged through an
      // approved review) is a later issue: it becomes the first state of the pipeline.
      new events.Rule(this, `${pascal(p.name)}Source`, {
        description: `Push to main of ${repository}: start a change of pipeline ${p.name}.`,
        eventPattern: {
          source: ['aws.codecommit'],
          detailType: ['CodeCommit Repository State Change'],
          resources: [this.formatArn({ service: 'codecommit', resource: repository, resourceName: undefined })],
          detail: { event: ['referenceUpdated'], referenceType: ['branch'], referenceName: ['main'] },
        },
        targets: [
          new targets.SfnStateMachine(this.pipelineMachines[p.name]!, {
            retryAttempts: 8,
            input: events.RuleTargetInput.fromObject({
              pipeline: p.name,
              change: events.EventField.fromPath('$.detail.commitId'),
              revision: events.EventField.fromPath('$.detail.commitId'),
              author: events.EventField.fromPath('$.detail.callerUserArn'),
              mergedAt: events.EventField.time,
            }),
          }),
        ],
      });
    }
  }

  private seedTables(pipelines: readonly ResolvedPipeline[]): void {
    const logGroup = new logs.LogGroup(this, 'SeedLogs', { retention: logs.RetentionDays.ONE_MONTH });
    const role = new iam.Role(this, 'SeedRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Writes the pipelines\' windows and holidays into their tables at deploy time.',
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [logGroup.logGroupArn] }),
    );
    for (const p of pipelines) {
      new TableSeed(this, `${pascal(p.name)}Windows`, { table: this.tables.windows, items: windowItems(p), role, logGroup });
      new TableSeed(this, `${pascal(p.name)}Holidays`, { table: this.tables.holidays, items: holidayItems(p), role, logGroup });
    }
  }
}
