/**
 * The handsoff control plane, in the home region: the handlers, their tables, the event
 * bus that AWS events of every target region are forwarded to, the bake-end schedules,
 * notifications, and per pipeline a pipeline state machine and a region child state machine.
 */
import { ArnFormat, Duration, RemovalPolicy, Stack, Stage, type StackProps } from 'aws-cdk-lib';
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
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ResolvedPipeline } from '../../core/model.ts';
import { EventType } from '../../core/events.ts';
import { ENV } from '../../lambdas/shared/config.ts';
import { OPEN_SHARD_ATTRIBUTE, OPEN_WAITERS_INDEX, TTL_ATTRIBUTE } from '../../lambdas/shared/tables.ts';
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

type DynamoAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'ConditionCheckItem' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'BatchWriteItem';

/** Item reads (no Scan: no handler lists a whole table). */
const READ: readonly DynamoAction[] = ['GetItem', 'BatchGetItem', 'Query', 'ConditionCheckItem'];
/** Item reads and writes (conditional writes and batch writes included). */
const READ_WRITE: readonly DynamoAction[] = [...READ, 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'];

/** What each handler may touch: least privilege per function, not one shared role. */
interface HandlerAccess {
  /** DynamoDB actions per table, on the table only. */
  readonly tables?: Partial<Record<TableName, readonly DynamoAction[]>>;
  /** DynamoDB actions on a table's index (`<table>/<index>`). */
  readonly indexes?: ReadonlyArray<{ table: TableName; index: string; actions: readonly DynamoAction[] }>;
  /** CreateDeployment / StopDeployment / GetDeployment ... on the pipelines' groups. */
  readonly deploy?: boolean;
  /** GetDeployment only. */
  readonly readDeployments?: boolean;
  readonly describeAlarms?: boolean;
  readonly metricData?: boolean;
  /** Step Functions task completion on the handsoff state machines. */
  readonly completeTasks?: readonly ('SendTaskSuccess' | 'SendTaskFailure' | 'SendTaskHeartbeat')[];
  /** EventBridge Scheduler actions in the bake schedule group. */
  readonly schedules?: readonly ('CreateSchedule' | 'GetSchedule' | 'DeleteSchedule')[];
  readonly readArtifacts?: boolean;
  /** @default 30 seconds */
  readonly timeout?: Duration;
}

const STATE_TABLES = { deployments: READ_WRITE, waiters: READ_WRITE, watches: READ_WRITE } as const;
const COMPLETE_TASKS = ['SendTaskSuccess', 'SendTaskFailure', 'SendTaskHeartbeat'] as const;

const ACCESS: Record<HandlerName, HandlerAccess> = {
  [HandlerName.NOTIFY]: {},
  // Also reads the team aggregate and company event alarms: a blocker closes the window.
  [HandlerName.CHECK_WINDOW]: { tables: { windows: READ, holidays: READ }, describeAlarms: true },
  [HandlerName.START_DEPLOYMENT]: {
    tables: STATE_TABLES,
    deploy: true,
    describeAlarms: true,
    completeTasks: COMPLETE_TASKS,
    readArtifacts: true,
  },
  [HandlerName.START_BAKE]: {
    tables: STATE_TABLES,
    describeAlarms: true,
    metricData: true,
    completeTasks: COMPLETE_TASKS,
    schedules: ['CreateSchedule', 'GetSchedule', 'DeleteSchedule'],
  },
  [HandlerName.BAKE_END]: {
    tables: STATE_TABLES,
    describeAlarms: true,
    metricData: true,
    completeTasks: COMPLETE_TASKS,
    // CreateSchedule: a bake that is not over yet schedules its next end check.
    schedules: ['CreateSchedule', 'DeleteSchedule'],
  },
  [HandlerName.ROLLBACK]: {
    tables: STATE_TABLES,
    deploy: true,
    describeAlarms: true,
    completeTasks: COMPLETE_TASKS,
    readArtifacts: true,
  },
  [HandlerName.LANE]: { tables: { lanes: READ_WRITE }, completeTasks: COMPLETE_TASKS },
  [HandlerName.ON_DEPLOYMENT_EVENT]: { tables: STATE_TABLES, readDeployments: true, completeTasks: COMPLETE_TASKS },
  // Fails or clears the waiters watching the alarm (lambdas/on-alarm-event): reads its watches,
  // finishes the waiters and drops their watches; no deployment, alarm or schedule API.
  [HandlerName.ON_ALARM_EVENT]: {
    tables: {
      // GetItem: the waiter a conditional finish collided with (dynamo.ts conflictingItem).
      waiters: ['GetItem', 'UpdateItem'],
      // BatchWriteItem: finishing a waiter drops its watches in batches (waiters.ts unwatch).
      watches: ['Query', 'DeleteItem', 'BatchWriteItem'],
    },
    completeTasks: ['SendTaskSuccess', 'SendTaskFailure'],
  },
  // The sweep for lost events: lists the open waiters, re-reads their deployments, alarms and
  // bake metrics, and completes, extends or re-schedules them as the event handlers would have.
  [HandlerName.RECONCILE]: {
    tables: {
      waiters: ['Query', 'GetItem', 'UpdateItem', 'DeleteItem'],
      // BatchWriteItem: finishing a waiter drops its watches in batches (waiters.ts unwatch).
      watches: ['GetItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'],
      deployments: ['Query', 'UpdateItem'],
    },
    indexes: [{ table: 'waiters', index: OPEN_WAITERS_INDEX, actions: ['Query'] }],
    readDeployments: true,
    describeAlarms: true,
    metricData: true,
    completeTasks: ['SendTaskSuccess', 'SendTaskFailure'],
    schedules: ['CreateSchedule', 'DeleteSchedule'],
    // A sweep of every open waiter; well within the five minutes between two sweeps.
    timeout: Duration.minutes(2),
  },
};

/** How often the reconciler sweeps the open waiters. */
export const RECONCILE_RATE = Duration.minutes(5);

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
  /** The definition file of each state machine (by state machine name), as uploaded. */
  readonly definitionFiles: Record<string, string> = {};

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
    // Sparse: only open waiters carry `openShard`, so the reconciler reads exactly those.
    this.tables.waiters.addGlobalSecondaryIndex({
      indexName: OPEN_WAITERS_INDEX,
      partitionKey: { name: OPEN_SHARD_ATTRIBUTE, type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.ALL,
    });

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
    // bake-end schedules its own next end check, so it needs its own ARN: from a fixed name,
    // as a reference to itself would be circular.
    const bakeEndName = `${this.stackName}-bake-end`;
    if (bakeEndName.length > 64) throw new Error(`function name '${bakeEndName}' is longer than Lambda's 64 characters: shorten the stack name`);
    const bakeEndArn = this.formatArn({
      service: 'lambda',
      resource: 'function',
      resourceName: bakeEndName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    // bake-end first: other functions get its ARN in their environment.
    const order = [HandlerName.BAKE_END, ...Object.values(HandlerName).filter((h) => h !== HandlerName.BAKE_END)];
    for (const name of order) {
      this.functions[name] = this.handler(name, props, name === HandlerName.BAKE_END ? bakeEndName : undefined, {
        [ENV.EVENT_BUS_NAME]: this.bus.eventBusName,
        [ENV.SCHEDULER_ROLE_ARN]: schedulerRole.roleArn,
        [ENV.SCHEDULE_GROUP]: scheduleGroup.scheduleGroupName,
        [ENV.ARTIFACT_BUCKET]: artifacts.bucketName,
        [ENV.BAKE_END_FUNCTION_ARN]: name === HandlerName.BAKE_END ? bakeEndArn : this.functions[HandlerName.BAKE_END]!.functionArn,
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

  private handler(
    name: HandlerName,
    props: ControlPlaneStackProps,
    functionName: string | undefined,
    environment: Record<string, string>,
  ): NodejsFunction {
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
      functionName,
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: ACCESS[name].timeout ?? Duration.seconds(30),
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
        definitionBody: this.definitionFile(name, definition),
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

  /**
   * The definition as a file asset (`DefinitionS3Location`) instead of an inline string: a
   * pipeline's definitions are ~160 KB, and inline they would hit CloudFormation's 1 MB
   * template limit at about five pipelines. CloudFormation applies `DefinitionSubstitutions`
   * to the fetched S3 definition as it does to an inline one. The file is written into the
   * cloud assembly directory, next to the assets staged from it.
   */
  private definitionFile(machineName: string, definition: Record<string, unknown>): sfn.DefinitionBody {
    const dir = path.join(Stage.of(this)!.outdir, 'handsoff-definitions', this.stackName);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${machineName}.asl.json`);
    writeFileSync(file, JSON.stringify(definition));
    this.definitionFiles[machineName] = file;
    return sfn.DefinitionBody.fromFile(file);
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
    for (const [t, actions] of Object.entries(access.tables ?? {}) as Array<[TableName, readonly DynamoAction[]]>) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({ actions: actions.map((a) => `dynamodb:${a}`), resources: [this.tables[t].tableArn] }),
      );
    }
    for (const { table, index, actions } of access.indexes ?? []) {
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: actions.map((a) => `dynamodb:${a}`),
          resources: [`${this.tables[table].tableArn}/index/${index}`],
        }),
      );
    }
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
          actions: access.completeTasks.map((a) => `states:${a}`),
          // By name, not by reference: the state machines reference these functions.
          resources: forPipelines((p) => [
            stateMachineArn(this, pipelineStateMachineName(p.name)),
            stateMachineArn(this, regionStateMachineName(p.name)),
          ]),
        }),
      );
    }
    if (access.schedules) {
      allowWithWildcardResources(
        role,
        new iam.PolicyStatement({
          actions: access.schedules.map((a) => `scheduler:${a}`),
          resources: [
            this.formatArn({ service: 'scheduler', resource: 'schedule', resourceName: `${BAKE_SCHEDULE_GROUP}/*` }),
          ],
        }),
        'One-time bake-end schedules are named per bake at run time; the pattern covers only the handsoff bake schedule group.',
      );
      if (access.schedules.includes('CreateSchedule')) deps.schedulerRole.grantPassRole(role);
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

    // An EventBridge rule rather than a Scheduler schedule: it needs no role to pass (Lambda's
    // resource policy lets events.amazonaws.com invoke this function only), and a recurring
    // schedule in the bake group would be in reach of the handlers' DeleteSchedule there.
    new events.Rule(this, 'ReconcileSchedule', {
      description: `Every ${RECONCILE_RATE.toMinutes()} minutes: re-check the open waiters, in case an event was lost.`,
      schedule: events.Schedule.rate(RECONCILE_RATE),
      targets: [
        new targets.LambdaFunction(this.functions[HandlerName.RECONCILE], {
          // The next sweep does the same work: no point retrying a stale one.
          retryAttempts: 0,
          maxEventAge: Duration.minutes(5),
        }),
      ],
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
          // referenceCreated: the first push, which creates main.
          detail: { event: ['referenceCreated', 'referenceUpdated'], referenceType: ['branch'], referenceName: ['main'] },
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
