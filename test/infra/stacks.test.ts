/**
 * The handsoff CDK app, synthesized once WITH cdk-nag (AwsSolutions): Template.fromStack
 * throws on any unacknowledged finding, so every test here also asserts the app is clean.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { App, Stack, Stage } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResolvedPipeline } from '../../core/model.ts';
import * as naming from '../../core/naming.ts';
import { ENV } from '../../lambdas/shared/config.ts';
import { HandlerName, TaskHandlers, REGION_STATE_MACHINE_ARN_KEY, functionArnKey } from '../../statemachines/resources.ts';
import { OPEN_WAITERS_INDEX } from '../../lambdas/shared/tables.ts';
import type { ControlPlaneStack } from '../../infra/stacks/control-plane-stack.ts';
import { MAX_ALARMS_PER_GROUP } from '../../infra/stacks/target-stack.ts';
import { bundleHandlers, handlerBuilds } from '../../infra/constructs/control-plane/bundle.ts';
import { fixturePipelines } from './fixtures.ts';
import { eventBusArn, pipelineStateMachineName, productionRegions, regionStateMachineName, targetRegions } from '../../infra/stacks/arns.ts';
import { buildHandsoffApp, targetStackName } from '../../infra/stacks/handsoff-app.ts';
import type { TargetStack } from '../../infra/stacks/target-stack.ts';
import { cdkContext, handlerEntry, loadBuildStateMachines, loadPipelines, testApp, validationFindings } from './fixtures.ts';
import { regionAlarmPlan, toAlarmEntry } from '../../core/alarms/index.ts';
import { byName, cfnFields, fromTemplate } from './alarm-templates.ts';

type Resources = Record<string, { Type: string; Properties: Record<string, any> }>;

let pipelines: ResolvedPipeline[];
let controlPlane: Template;
let controlPlaneStack: ControlPlaneStack;
let targets: Map<string, Template>;
let targetStacks: TargetStack[];
/** The app as infra/app.ts builds it for `cdk synth`: cdk-nag and CDK's CloudFormation validation on. */
let exampleApp: App;
const HOME = 'us-east-1';
/** The builds this worker ran before this file: the suite shares one module graph between the CDK tests. */
let buildsBefore: number;

beforeAll(async () => {
  buildsBefore = handlerBuilds();
  // Prepare: the example pipelines, the real ASL builders and the real handlers.
  ({ pipelines } = await loadPipelines());
  const { build } = await loadBuildStateMachines();
  exampleApp = new App({ context: cdkContext });
  // Act
  const built = buildHandsoffApp(exampleApp, { pipelines, buildStateMachines: build, handlerEntry, homeRegion: HOME });
  controlPlaneStack = built.controlPlane;
  controlPlane = Template.fromStack(built.controlPlane);
  targetStacks = built.targets;
  targets = new Map(built.targets.map((s) => [s.region, Template.fromStack(s)]));
});

const resourcesOf = (t: Template, type: string): Resources => t.findResources(type) as Resources;
const pascalCase = (s: string): string => s.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
/** Logical id of a handler's function. */
const functionId = (name: HandlerName): string =>
  Object.keys(resourcesOf(controlPlane, 'AWS::Lambda::Function')).find((id) => id.startsWith(`${pascalCase(name)}Function`))!;
/** Every IAM statement of a handler's role. */
const statementsOf = (name: HandlerName): Array<{ Action: string | string[]; Resource: unknown }> =>
  Object.values(resourcesOf(controlPlane, 'AWS::IAM::Policy'))
    .filter((p) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref.startsWith(`${pascalCase(name)}Role`)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement);
const allTemplates = (): Template[] => [controlPlane, ...targets.values()];
/** Names of the alarms a deployment group watches (CodeDeploy's alarm configuration). */
const groupAlarmNames = (t: Template, groupName: string): string[] => {
  const alarms = { ...resourcesOf(t, 'AWS::CloudWatch::Alarm'), ...resourcesOf(t, 'AWS::CloudWatch::CompositeAlarm') };
  const group = Object.values(resourcesOf(t, 'AWS::CodeDeploy::DeploymentGroup')).find((g) => g.Properties.DeploymentGroupName === groupName)!;
  expect(group, groupName).toBeDefined();
  return group.Properties.AlarmConfiguration.Alarms.map((a: { Name: { Ref: string } }) => alarms[a.Name.Ref]!.Properties.AlarmName);
};

describe('app', () => {
  it('has one target stack per region any pipeline deploys to, with its region set', () => {
    const regions = targetRegions(pipelines);
    expect(targetStacks.map((s) => s.stackName).sort()).toEqual(regions.map(targetStackName).sort());
    for (const s of targetStacks) expect(Stack.of(s).region).toBe(s.stackName.replace('Handsoff-Target-', ''));
  });

  it("passes CDK's CloudFormation validation with no finding in any stack", () => {
    // cdk synth runs it and downgrades its errors to warnings: here a finding fails.
    expect(validationFindings(exampleApp)).toEqual([]);
  });

  it('grants no wildcard action in any IAM policy', () => {
    const bad: string[] = [];
    for (const t of allTemplates()) {
      for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
        for (const [id, r] of Object.entries(resourcesOf(t, type))) {
          for (const st of r.Properties.PolicyDocument.Statement) {
            const actions: string[] = [st.Action].flat();
            for (const a of actions) if (a === '*' || a.endsWith(':*') || a.includes('*')) bad.push(`${id}: ${a}`);
          }
        }
      }
      for (const [id, r] of Object.entries(resourcesOf(t, 'AWS::IAM::Role'))) {
        expect(r.Properties.ManagedPolicyArns ?? [], `${id} uses a managed policy`).toEqual([]);
      }
    }
    expect(bad).toEqual([]);
  });
});

describe('handler code', () => {
  const ROOT = path.resolve(import.meta.dirname, '../..');
  /** The staged code asset of a handler's function: `asset.<hash>` in the cloud assembly, uploaded as `<hash>.zip`. */
  const assetDir = (name: HandlerName): string => {
    const key: string = resourcesOf(controlPlane, 'AWS::Lambda::Function')[functionId(name)]!.Properties.Code.S3Key;
    return path.join(Stage.of(controlPlaneStack)!.outdir, `asset.${key.replace(/\.zip$/, '')}`);
  };
  const sourcesOf = (dir: string): string[] => JSON.parse(readFileSync(path.join(dir, 'index.mjs.map'), 'utf8')).sources;

  it('comes from one esbuild build of every handler, each function with its own asset holding its own handler', () => {
    // Every synthesis of this file (the app and the fixture app) shares one build of the same
    // entries: at most one more build, none when an earlier file of this worker built them.
    expect(handlerBuilds() - buildsBefore).toBeLessThanOrEqual(1);
    expect(handlerBuilds()).toBeGreaterThan(0);
    const names = Object.values(HandlerName);
    const keys = names.map((name) => resourcesOf(controlPlane, 'AWS::Lambda::Function')[functionId(name)]!.Properties.Code.S3Key);
    expect(new Set(keys).size).toBe(names.length);
    for (const name of names) {
      const fn = resourcesOf(controlPlane, 'AWS::Lambda::Function')[functionId(name)]!;
      expect(fn.Properties.Handler).toBe('index.handler');
      const dir = assetDir(name);
      expect(existsSync(path.join(dir, 'index.mjs')), name).toBe(true);
      expect(readFileSync(path.join(dir, 'index.mjs'), 'utf8')).toMatch(/\/\/# sourceMappingURL=index\.mjs\.map\s*$/);
      // The bundle holds its own handler's entry and no other handler's; the AWS SDK stays outside.
      const entries = sourcesOf(dir).filter((s) => /^\.\.\/\.\.\/lambdas\/[^/]+\/index\.ts$/.test(s));
      expect(entries, name).toEqual([`../../lambdas/${name}/index.ts`]);
      expect(sourcesOf(dir).some((s) => s.includes('@aws-sdk/')), name).toBe(false);
    }
  });

  it('is what a build of one handler alone gives, byte for byte (same sources, same asset)', () => {
    const name = HandlerName.START_DEPLOYMENT;
    const alone = bundleHandlers(ROOT, { [name]: handlerEntry(name) })[name]!;
    for (const file of ['index.mjs', 'index.mjs.map']) {
      expect(readFileSync(path.join(alone, file)).equals(readFileSync(path.join(assetDir(name), file))), file).toBe(true);
    }
  });
});

describe('control plane', () => {
  it('sends what the event handlers could not take after every retry to one encrypted dead-letter queue', () => {
    const queues = Object.entries(resourcesOf(controlPlane, 'AWS::SQS::Queue'));
    expect(queues).toHaveLength(1);
    const [queueId, queue] = queues[0]!;
    expect(queue.Properties).toMatchObject({ QueueName: 'handsoff-dead-letters', SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    const functions = resourcesOf(controlPlane, 'AWS::Lambda::Function');
    const withDlq = Object.values(functions)
      .filter((f) => JSON.stringify(f.Properties.DeadLetterConfig ?? {}).includes(queueId))
      .map((f) => f.Properties.Description)
      .sort();
    // operator: its override-expiry schedules invoke it asynchronously.
    expect(withDlq).toEqual(['handsoff bake-end', 'handsoff on-alarm-event', 'handsoff on-deployment-event', 'handsoff operator', 'handsoff reconcile', 'handsoff start-change']);
    const invokeConfigs = Object.values(resourcesOf(controlPlane, 'AWS::Lambda::EventInvokeConfig'));
    expect(invokeConfigs.length).toBe(withDlq.length);
    for (const c of invokeConfigs) expect(c.Properties.MaximumRetryAttempts).toBe(2);
    // Every rule that invokes an event handler or start-change dead-letters what it cannot deliver.
    const rules = Object.values(resourcesOf(controlPlane, 'AWS::Events::Rule'));
    const lambdaTargets = rules.flatMap((r) => r.Properties.Targets ?? []).filter((t: any) => JSON.stringify(t.Arn).includes('Function'));
    const reconcile = lambdaTargets.filter((t: any) => JSON.stringify(t.Arn).includes('Reconcile'));
    for (const t of lambdaTargets.filter((x: any) => !reconcile.includes(x))) expect(JSON.stringify(t.DeadLetterConfig)).toContain(queueId);
    // EventBridge may send to it only for this account's rules.
    const policy = Object.values(resourcesOf(controlPlane, 'AWS::SQS::QueuePolicy'))[0]!;
    const statements = policy.Properties.PolicyDocument.Statement as Array<Record<string, any>>;
    const fromEvents = statements.filter((st) => st.Principal?.Service === 'events.amazonaws.com');
    expect(fromEvents.length).toBeGreaterThan(0);
    for (const st of fromEvents) expect(JSON.stringify(st.Condition)).toContain('aws:SourceArn');
  });

  it('has a pipeline and a region state machine per pipeline, STANDARD, logged and traced', () => {
    const machines = Object.values(resourcesOf(controlPlane, 'AWS::StepFunctions::StateMachine'));
    expect(machines.map((m) => m.Properties.StateMachineName).sort()).toEqual(
      pipelines.flatMap((p) => [pipelineStateMachineName(p.name), regionStateMachineName(p.name)]).sort(),
    );
    for (const m of machines) {
      expect(m.Properties.StateMachineType).toBe('STANDARD');
      expect(m.Properties.TracingConfiguration).toEqual({ Enabled: true });
      expect(m.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
    }
  });

  it('keeps each definition out of the template: an S3 file asset whose every placeholder has a substitution', () => {
    const machines = resourcesOf(controlPlane, 'AWS::StepFunctions::StateMachine');
    for (const p of pipelines) {
      const [regionId, region] = Object.entries(machines).find(([, m]) => m.Properties.StateMachineName === regionStateMachineName(p.name))!;
      const pipeline = Object.values(machines).find((m) => m.Properties.StateMachineName === pipelineStateMachineName(p.name))!;
      for (const m of [region, pipeline]) {
        expect(m.Properties.DefinitionString).toBeUndefined();
        expect(m.Properties.Definition).toBeUndefined();
        expect(m.Properties.DefinitionS3Location).toEqual({
          Bucket: { 'Fn::Sub': expect.stringContaining('cdk-') },
          Key: expect.stringMatching(/^[0-9a-f]{64}\.json$/),
        });
        const definition = readFileSync(controlPlaneStack.definitionFiles[m.Properties.StateMachineName]!, 'utf8');
        JSON.parse(definition);
        const placeholders = new Set([...definition.matchAll(/\$\{([A-Za-z0-9_]+)\}/g)].map((x) => x[1]!));
        expect(placeholders.size).toBeGreaterThan(0);
        for (const key of placeholders) expect(m.Properties.DefinitionSubstitutions, key).toHaveProperty(key);
        for (const h of TaskHandlers) {
          if (placeholders.has(functionArnKey(h))) {
            expect(m.Properties.DefinitionSubstitutions[functionArnKey(h)]).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/Function/), 'Arn'] });
          }
        }
      }
      const regionDefinition = readFileSync(controlPlaneStack.definitionFiles[regionStateMachineName(p.name)]!, 'utf8');
      const pipelineDefinition = readFileSync(controlPlaneStack.definitionFiles[pipelineStateMachineName(p.name)]!, 'utf8');
      expect(regionDefinition).toContain('arn:aws:states:::lambda:invoke.waitForTaskToken');
      expect(regionDefinition).toContain(`\${${functionArnKey('start-deployment')}}`);
      expect(pipelineDefinition).toContain('arn:aws:states:::states:startExecution.sync:2');
      expect(pipeline.Properties.DefinitionSubstitutions[REGION_STATE_MACHINE_ARN_KEY]).toEqual({ Ref: regionId });
    }
  });

  it('stays far from the 1 MB template limit: under 200 KB with the example pipelines', () => {
    const size = JSON.stringify(controlPlane.toJSON()).length;
    expect(size).toBeLessThan(200 * 1024);
  });

  it('lets a pipeline machine run its region machine as a child (.sync:2 permissions)', () => {
    const policies = resourcesOf(controlPlane, 'AWS::IAM::Policy');
    for (const p of pipelines) {
      const statements = Object.entries(policies)
        .filter(([id]) => id.startsWith(`${p.name.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}PipelineRole`))
        .flatMap(([, r]) => r.Properties.PolicyDocument.Statement);
      const actions = statements.flatMap((st) => [st.Action].flat());
      expect(actions).toEqual(expect.arrayContaining(['states:StartExecution', 'states:DescribeExecution', 'states:StopExecution', 'events:PutTargets', 'events:PutRule', 'events:DescribeRule', 'lambda:InvokeFunction']));
      const json = JSON.stringify(statements);
      expect(json).toContain('rule/StepFunctionsGetEventsForStepFunctionsExecutionRule');
      expect(json).toContain(`:execution:${regionStateMachineName(p.name)}:*`);
    }
  });

  it('runs every handler on arm64 Node.js 22, with the tables and bus in its environment', () => {
    const functions = Object.values(resourcesOf(controlPlane, 'AWS::Lambda::Function')).filter((f) =>
      String(f.Properties.Description ?? '').startsWith('handsoff '),
    );
    // Every handler, and the console's function (which runs the operator's code).
    expect(functions).toHaveLength(Object.values(HandlerName).length + 1);
    for (const f of functions) {
      expect(f.Properties.Architectures).toEqual(['arm64']);
      expect(f.Properties.Runtime).toBe('nodejs22.x');
      const vars = Object.keys(f.Properties.Environment.Variables);
      for (const v of [ENV.DEPLOYMENTS_TABLE, ENV.WAITERS_TABLE, ENV.WINDOWS_TABLE, ENV.HOLIDAYS_TABLE, ENV.LANES_TABLE, ENV.EVENT_BUS_NAME, ENV.SCHEDULE_GROUP, ENV.SCHEDULER_ROLE_ARN, ENV.ARTIFACT_BUCKET, ENV.BAKE_END_FUNCTION_ARN, ENV.RECONCILE_FUNCTION_ARN]) {
        expect(vars).toContain(v);
      }
    }
  });

  it('lets every handler that opens a wait or touches the lanes wake a sweep: the reconciler ARN from its fixed name, CreateSchedule and PassRole', () => {
    const name = `${controlPlaneStack.stackName}-reconcile`;
    const fns = resourcesOf(controlPlane, 'AWS::Lambda::Function');
    expect(fns[functionId(HandlerName.RECONCILE)]!.Properties.FunctionName).toBe(name);
    for (const h of [HandlerName.START_DEPLOYMENT, HandlerName.START_BAKE, HandlerName.BAKE_END, HandlerName.ROLLBACK, HandlerName.LANE, HandlerName.OPERATOR, HandlerName.RECONCILE]) {
      expect(JSON.stringify(fns[functionId(h)]!.Properties.Environment.Variables[ENV.RECONCILE_FUNCTION_ARN])).toContain(`:function:${name}`);
      const statements = statementsOf(h);
      expect(statements.flatMap((st) => [st.Action].flat())).toEqual(expect.arrayContaining(['scheduler:CreateSchedule', 'iam:PassRole']));
      const create = statements.find((st) => [st.Action].flat().includes('scheduler:CreateSchedule'))!;
      expect(JSON.stringify(create.Resource)).toContain('schedule/handsoff-bakes/*');
    }
  });

  it('lets bake-end schedule its own next end check: its ARN from its fixed name, CreateSchedule and PassRole', () => {
    const fn = resourcesOf(controlPlane, 'AWS::Lambda::Function')[functionId(HandlerName.BAKE_END)]!;
    const name = `${controlPlaneStack.stackName}-bake-end`;
    expect(fn.Properties.FunctionName).toBe(name);
    const arn = JSON.stringify(fn.Properties.Environment.Variables[ENV.BAKE_END_FUNCTION_ARN]);
    expect(arn).toContain(`:function:${name}`);
    expect(arn).not.toContain(functionId(HandlerName.BAKE_END));
    const statements = statementsOf(HandlerName.BAKE_END);
    expect(statements.flatMap((st) => [st.Action].flat())).toEqual(expect.arrayContaining(['scheduler:CreateSchedule', 'scheduler:DeleteSchedule', 'iam:PassRole']));
    const passRole = statements.find((st) => st.Action === 'iam:PassRole')!;
    expect(passRole.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^BakeSchedulerRole/), 'Arn'] });
  });

  it('gives on-alarm-event exactly the access it uses: no CodeDeploy, alarms or schedules', () => {
    const statements = statementsOf(HandlerName.ON_ALARM_EVENT);
    const actions = statements.flatMap((st) => [st.Action].flat());
    const query = statements.find((st) => [st.Action].flat().includes('dynamodb:Query'))!;
    expect(JSON.stringify(query.Resource)).toContain(`/index/${OPEN_WAITERS_INDEX}`);
    expect(actions.filter((a) => a.startsWith('codedeploy:'))).toEqual([]);
    expect(actions.sort()).toEqual(
      [
        // No watch items to delete: the open-waiters index (Query), filtered on `watching`, finds the waiters.
        'dynamodb:GetItem',
        // Query: the index, and (one statement with it) the operators partition when a team
        // aggregate goes to ALARM (a team-alarm override spares it).
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        // PutItem: its decisions (alarm.triggered) appended to the audit trail.
        'dynamodb:PutItem',
        'events:PutEvents',
        // The waiters table holds task tokens: it is encrypted with the control plane's key.
        'kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey',
        'logs:CreateLogStream', 'logs:PutLogEvents',
        // An event it could not take after Lambda's retries goes to the dead-letter queue.
        'sqs:SendMessage',
        'states:SendTaskFailure', 'states:SendTaskSuccess',
      ].sort(),
    );
  });

  it('has on-demand tables with point-in-time recovery and pk/sk keys', () => {
    const tables = Object.values(resourcesOf(controlPlane, 'AWS::DynamoDB::Table'));
    // No watches table: each waiter is its own watch record (the open-waiters index, filtered on `watching`).
    expect(tables).toHaveLength(8); // deployments, waiters, windows, holidays, lanes, changes, operators, audit
    for (const t of tables) {
      expect(t.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(t.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(t.Properties.KeySchema[0]).toEqual({ AttributeName: 'pk', KeyType: 'HASH' });
    }
    expect(tables.filter((t) => t.Properties.KeySchema.length === 1)).toHaveLength(1); // waiters
  });

  it('indexes the open waiters (sparse GSI open-waiters: openShard, pk; projection ALL)', () => {
    controlPlane.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [
        {
          IndexName: OPEN_WAITERS_INDEX,
          KeySchema: [
            { AttributeName: 'openShard', KeyType: 'HASH' },
            { AttributeName: 'pk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'ALL' },
        },
      ],
      AttributeDefinitions: Match.arrayWith([{ AttributeName: 'openShard', AttributeType: 'S' }]),
    });
  });

  it('runs reconcile every hour (its heartbeat; its other sweeps are woken) with exactly the access it needs', () => {
    const fnId = functionId(HandlerName.RECONCILE);
    controlPlane.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [fnId, 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 300 } })],
    });
    const statements = statementsOf(HandlerName.RECONCILE);
    const actions = statements.flatMap((st) => [st.Action].flat()).sort();
    expect(actions).toEqual(
      [
        'codedeploy:GetDeployment',
        'cloudwatch:DescribeAlarms',
        'cloudwatch:GetMetricData',
        'dynamodb:DeleteItem', 'dynamodb:DeleteItem',
        // One more GetItem and Query (one statement on the windows and holidays tables): an
        // overdue blocker wait's re-check reads its gate's window and holidays; and a GetItem
        // on the changes table: that re-check asks whether an emergency's change is over.
        'dynamodb:GetItem', 'dynamodb:GetItem', 'dynamodb:GetItem',
        // PutItem: the lanes, and the audit trail (append only).
        'dynamodb:PutItem', 'dynamodb:PutItem',
        // Also the operators partition (a team-alarm override may spare a team aggregate in ALARM), in a statement with another table's.
        'dynamodb:Query', 'dynamodb:Query', 'dynamodb:Query', 'dynamodb:Query', 'dynamodb:Query',
        'dynamodb:Scan',
        'dynamodb:UpdateItem', 'dynamodb:UpdateItem',
        'events:PutEvents',
        'iam:PassRole',
        'kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey',
        'logs:CreateLogStream', 'logs:PutLogEvents',
        'sqs:SendMessage',
        'scheduler:CreateSchedule', 'scheduler:DeleteSchedule',
        'states:DescribeExecution',
        // SendTaskHeartbeat: a blocker wait that still holds is re-armed, its task told it still waits.
        'states:SendTaskFailure', 'states:SendTaskHeartbeat', 'states:SendTaskSuccess',
      ].sort(),
    );
    // The lane sweep scans the lanes table only, and describes only the handsoff executions.
    const scan = statements.find((st) => [st.Action].flat().includes('dynamodb:Scan'))!;
    expect(JSON.stringify(scan.Resource)).toContain('LanesTable');
    const describe = statements.find((st) => [st.Action].flat().includes('states:DescribeExecution'))!;
    expect(JSON.stringify(describe.Resource)).toMatch(/execution:handsoff-[^"]*:\*/);
    const json = JSON.stringify(statements);
    expect(json).toContain(`/index/${OPEN_WAITERS_INDEX}`);
    expect(json).not.toContain('/index/*');
    expect(json).toContain('handsoff-bakes/*');
    const passRole = statements.find((st) => st.Action === 'iam:PassRole')!;
    expect(passRole.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^BakeSchedulerRole/), 'Arn'] });
  });

  it('lets check-window read the blocker alarms, and lane its lanes table', () => {
    expect(statementsOf(HandlerName.CHECK_WINDOW).flatMap((st) => [st.Action].flat())).toContain('cloudwatch:DescribeAlarms');
    const lane = statementsOf(HandlerName.LANE);
    expect(JSON.stringify(lane)).toContain('LanesTable');
    expect(lane.flatMap((st) => [st.Action].flat())).toEqual(expect.arrayContaining(['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:Query', 'states:SendTaskSuccess']));
    const laneFn = resourcesOf(controlPlane, 'AWS::Lambda::Function')[functionId(HandlerName.LANE)]!;
    expect(laneFn.Properties.Environment.Variables[ENV.LANES_TABLE]).toEqual({ Ref: expect.stringMatching(/^LanesTable/) });
  });

  it('routes forwarded CodeDeploy and alarm events on the handsoff bus to their handlers', () => {
    controlPlane.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: Match.anyValue(),
      EventPattern: { source: ['aws.codedeploy'], 'detail-type': ['CodeDeploy Deployment State-change Notification'] },
    });
    controlPlane.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'] },
    });
    controlPlane.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['handsoff'], 'detail-type': ['change.failed'] },
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('Notifications') } })],
    });
    controlPlane.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
  });

  it('routes a push to main through start-change, which names the execution; no rule starts a state machine itself', () => {
    const rules = Object.values(resourcesOf(controlPlane, 'AWS::Events::Rule'));
    const machines = resourcesOf(controlPlane, 'AWS::StepFunctions::StateMachine');
    for (const p of pipelines) {
      const [machineId] = Object.entries(machines).find(([, m]) => m.Properties.StateMachineName === pipelineStateMachineName(p.name))!;
      const rule = rules.find((r) => JSON.stringify(r.Properties.Description ?? '').includes(`pipeline ${p.name}.`))!;
      expect(rule.Properties.EventPattern).toEqual({
        source: ['aws.codecommit'],
        'detail-type': ['CodeCommit Repository State Change'],
        resources: [expect.objectContaining({ 'Fn::Join': expect.anything() })],
        detail: { event: ['referenceCreated', 'referenceUpdated'], referenceType: ['branch'], referenceName: ['main'] },
      });
      expect(rule.Properties.Targets).toHaveLength(1);
      const target = rule.Properties.Targets[0];
      expect(target.Arn).toEqual({ 'Fn::GetAtt': [functionId(HandlerName.START_CHANGE), 'Arn'] });
      expect(target.RetryPolicy.MaximumRetryAttempts).toBeGreaterThan(0);
      // StartChangeInput: the pipeline, its machine, and the push event (its id tells a duplicate).
      expect(target.InputTransformer.InputPathsMap).toMatchObject({ id: '$.id', time: '$.time', detail: '$.detail' });
      const template = JSON.stringify(target.InputTransformer.InputTemplate);
      expect(template).toContain(`\\"pipeline\\":\\"${p.name}\\"`);
      expect(template).toMatch(/\\"event\\":\{\\"id\\":<id>,\\"time\\":<time>,.*\\"detail\\":<detail>\}/);
      expect(JSON.stringify(target.InputTransformer)).toContain(machineId);
    }
    // Nothing starts a pipeline execution unnamed: no rule targets a state machine.
    for (const r of rules) {
      for (const t of r.Properties.Targets ?? []) expect(JSON.stringify(t.Arn)).not.toMatch(/StateMachine/);
    }
  });

  it('lets start-change start the pipeline machines only, and claim changes in the changes table only', () => {
    const statements = statementsOf(HandlerName.START_CHANGE);
    const start = statements.filter((st) => [st.Action].flat().includes('states:StartExecution'));
    expect(start).toHaveLength(1);
    const resources = JSON.stringify(start[0]!.Resource);
    for (const p of pipelines) expect(resources).toContain(`:stateMachine:${pipelineStateMachineName(p.name)}`);
    expect(resources).not.toContain('-region');
    const dynamo = statements.filter((st) => [st.Action].flat().some((a) => a.startsWith('dynamodb:')));
    expect(dynamo.map((st) => [st.Action].flat().sort())).toEqual([['dynamodb:GetItem', 'dynamodb:PutItem']]);
    expect(JSON.stringify(dynamo[0]!.Resource)).toMatch(/ChangesTable/);
    const actions = statements.flatMap((st) => [st.Action].flat());
    // A push it could not take after Lambda's retries goes to the dead-letter queue.
    expect(actions.filter((a) => !/^(logs:|dynamodb:|states:StartExecution)/.test(a))).toEqual(['sqs:SendMessage']);
  });

  it("lets the build stage read the artifact bucket's objects (their version and checksum), and nothing more", () => {
    const statements = statementsOf(HandlerName.RESOLVE_ARTIFACT);
    const actions = statements.flatMap((st) => [st.Action].flat());
    expect(actions.filter((a) => !a.startsWith('logs:')).sort()).toEqual(['s3:GetObject', 's3:GetObjectVersion']);
    const s3 = statements.find((st) => [st.Action].flat().includes('s3:GetObject'))!;
    expect(JSON.stringify(s3.Resource)).toMatch(/Artifacts.*\/\*/);
    for (const p of pipelines) {
      const definition = readFileSync(controlPlaneStack.definitionFiles[pipelineStateMachineName(p.name)]!, 'utf8');
      expect(definition).toContain(`\${${functionArnKey(HandlerName.RESOLVE_ARTIFACT)}}`);
    }
  });

  it('lets the review gate read pull requests, approvals and commits of the pipelines\' repositories, and nothing more', () => {
    const statements = statementsOf(HandlerName.REVIEW_GATE);
    const codeCommit = statements.filter((st) => [st.Action].flat().some((a) => a.startsWith('codecommit:')));
    expect(codeCommit).toHaveLength(1);
    expect([codeCommit[0]!.Action].flat().sort()).toEqual([
      'codecommit:EvaluatePullRequestApprovalRules',
      'codecommit:GetCommit',
      'codecommit:GetPullRequest',
      'codecommit:GetPullRequestApprovalStates',
      'codecommit:ListPullRequests',
    ]);
    const resources = [codeCommit[0]!.Resource].flat().map((r) => JSON.stringify(r));
    expect(resources).toHaveLength(new Set(pipelines.map((p) => p.name)).size);
    for (const p of pipelines) expect(resources.some((r) => r.includes(`:codecommit:`) && r.includes(`:${p.name}"`))).toBe(true);
    expect(resources.join()).not.toContain('*');
    const actions = statements.flatMap((st) => [st.Action].flat());
    expect(actions.filter((a) => !/^(logs:|codecommit:)/.test(a))).toEqual([]);
    // The pipeline machines run it as their first step.
    for (const p of pipelines) {
      const definition = readFileSync(controlPlaneStack.definitionFiles[pipelineStateMachineName(p.name)]!, 'utf8');
      expect(definition).toContain(`\${${functionArnKey(HandlerName.REVIEW_GATE)}}`);
    }
  });

  it('lets the bake scheduler invoke bake-end, operator (an override expiry) and reconcile (a woken sweep) only', () => {
    controlPlane.hasResourceProperties('AWS::Scheduler::ScheduleGroup', { Name: 'handsoff-bakes' });
    const policies = Object.values(resourcesOf(controlPlane, 'AWS::IAM::Policy')).filter((p) =>
      JSON.stringify(p.Properties.Roles).includes('BakeSchedulerRole'),
    );
    expect(policies.flatMap((p) => p.Properties.PolicyDocument.Statement)).toEqual([
      {
        Action: 'lambda:InvokeFunction',
        Effect: 'Allow',
        Resource: [
          { 'Fn::GetAtt': [expect.stringMatching(/^BakeEndFunction/), 'Arn'] },
          { 'Fn::GetAtt': [expect.stringMatching(/^OperatorFunction/), 'Arn'] },
          { 'Fn::GetAtt': [expect.stringMatching(/^ReconcileFunction/), 'Arn'] },
        ],
      },
    ]);
  });

  it('lets every publishing handler append to the audit table, and nothing more there', () => {
    const auditTable = Object.entries(resourcesOf(controlPlane, 'AWS::DynamoDB::Table')).find(([id]) => id.startsWith('AuditTable'))![0];
    for (const handler of Object.values(HandlerName)) {
      const onAudit = statementsOf(handler).filter((st) => JSON.stringify(st.Resource).includes(auditTable));
      const publishes = statementsOf(handler).some((st) => [st.Action].flat().includes('events:PutEvents'));
      expect({ handler, actions: onAudit.flatMap((st) => [st.Action].flat()) }).toEqual({ handler, actions: publishes ? ['dynamodb:PutItem'] : [] });
    }
  });

  it('seeds a window item per (pipeline, production region) with its resolved time zone', () => {
    const seeds = JSON.stringify(resourcesOf(controlPlane, 'Custom::AWS'));
    for (const p of pipelines) {
      const r = p.waves[0]!.regions[0]!;
      expect(seeds).toContain(`\\"pk\\":{\\"S\\":\\"${p.name}\\"},\\"sk\\":{\\"S\\":\\"${r.region}\\"},\\"timeZone\\":{\\"S\\":\\"${r.windowTimeZone}\\"}`);
    }
  });
});

describe('target stacks', () => {
  it('guard every deployment group with alarms and automatic rollback', () => {
    let groups = 0;
    for (const t of targets.values()) {
      for (const g of Object.values(resourcesOf(t, 'AWS::CodeDeploy::DeploymentGroup'))) {
        groups++;
        expect(g.Properties.AlarmConfiguration.Enabled).toBe(true);
        expect(g.Properties.AlarmConfiguration.Alarms.length).toBeGreaterThan(0);
        expect(g.Properties.AlarmConfiguration.Alarms.length).toBeLessThanOrEqual(10);
        expect(g.Properties.AutoRollbackConfiguration).toEqual({
          Enabled: true,
          Events: ['DEPLOYMENT_FAILURE', 'DEPLOYMENT_STOP_ON_REQUEST', 'DEPLOYMENT_STOP_ON_ALARM'],
        });
      }
    }
    expect(groups).toBeGreaterThan(0);
  });

  it('have a one-box group and a group per unit of each production region, pre-production groups in the pre-prod region', () => {
    for (const p of pipelines) {
      for (const region of productionRegions(p)) {
        const t = targets.get(region)!;
        const units = p.waves.flatMap((w) => w.regions).find((r) => r.region === region)!.units;
        t.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
          DeploymentGroupName: naming.oneBoxGroupName(p.name),
          Ec2TagSet: { Ec2TagSetList: [{ Ec2TagGroup: [{ Key: 'Service', Value: p.service, Type: 'KEY_AND_VALUE' }] }, { Ec2TagGroup: [{ Key: 'OneBox', Value: 'true', Type: 'KEY_AND_VALUE' }] }] },
        });
        for (const unit of units) {
          t.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
            DeploymentGroupName: naming.unitGroupName(p.name, unit),
            DeploymentConfigName: Match.anyValue(),
          });
        }
      }
      for (const stage of p.preProd) {
        targets.get(p.preProdRegion)!.hasResourceProperties('AWS::CodeDeploy::DeploymentGroup', {
          DeploymentGroupName: naming.preProdGroupName(p.name, stage),
        });
      }
    }
  });

  it('share the rolling and fast-rollback (both 66% healthy: a third at a time) deployment configs once per region', () => {
    for (const t of targets.values()) {
      t.resourceCountIs('AWS::CodeDeploy::DeploymentConfig', 2);
      t.hasResourceProperties('AWS::CodeDeploy::DeploymentConfig', {
        DeploymentConfigName: naming.DeploymentConfig.ROLLING,
        MinimumHealthyHosts: { Type: 'FLEET_PERCENT', Value: 66 },
      });
      t.hasResourceProperties('AWS::CodeDeploy::DeploymentConfig', {
        DeploymentConfigName: naming.DeploymentConfig.FAST_ROLLBACK,
        MinimumHealthyHosts: { Type: 'FLEET_PERCENT', Value: 66 },
      });
    }
  });

  it('alarm on the fleet fault rate above 1% in 2 of 3 minutes', () => {
    const p = pipelines[0]!;
    const region = productionRegions(p)[0]!;
    targets.get(region)!.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: naming.serviceAlarmName(p.name, region, naming.StandardAlarm.FAULTS),
      Threshold: 1,
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: '100 * faults / requests' }),
        Match.objectLike({
          Id: 'faults',
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ Namespace: naming.METRICS_NAMESPACE, MetricName: 'Faults', Dimensions: Match.arrayWith([{ Name: 'Scope', Value: 'fleet' }]) }),
            Period: 60,
          }),
        }),
      ]),
    });
    targets.get(region)!.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: naming.oneBoxAlarmName(p.name, region, naming.StandardAlarm.LATENCY_P99),
      ExtendedStatistic: 'p99',
      Threshold: 1000,
      Dimensions: Match.arrayWith([{ Name: 'Scope', Value: 'onebox' }]),
    });
  });

  it('alarm on every standard kind of every scope: one-box, fleet, pre-production stage', () => {
    const expected: Record<naming.StandardAlarm, { Threshold: number; ComparisonOperator: string; TreatMissingData: string; stat: string }> = {
      faults: { Threshold: 1, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching', stat: 'math:Faults' },
      'latency-p50': { Threshold: 400, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching', stat: 'p50' },
      'latency-p90': { Threshold: 700, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching', stat: 'p90' },
      'latency-p99': { Threshold: 1000, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching', stat: 'p99' },
      cpu: { Threshold: 90, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching', stat: 'Average' },
      memory: { Threshold: 90, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching', stat: 'Average' },
      disk: { Threshold: 90, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching', stat: 'Average' },
      'log-errors': { Threshold: 2, ComparisonOperator: 'GreaterThanThreshold', TreatMissingData: 'notBreaching', stat: 'math:LogErrors' },
      health: { Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', TreatMissingData: 'missing', stat: 'Maximum' },
    };
    const metricNames: Record<naming.StandardAlarm, string> = {
      faults: 'Faults', 'latency-p50': 'Latency', 'latency-p90': 'Latency', 'latency-p99': 'Latency', cpu: 'CPUUtilization',
      memory: 'MemoryUtilization', disk: 'DiskUtilization', 'log-errors': 'LogErrors', health: 'UnhealthyHosts',
    };
    for (const p of pipelines) {
      const region = productionRegions(p)[0]!;
      const scopes: Array<[Template, string, (kind: naming.StandardAlarm) => string]> = [
        [targets.get(region)!, 'fleet', (kind) => naming.serviceAlarmName(p.name, region, kind)],
        ...(p.oneBox ? [[targets.get(region)!, 'onebox', (kind: naming.StandardAlarm) => naming.oneBoxAlarmName(p.name, region, kind)] as [Template, string, (kind: naming.StandardAlarm) => string]] : []),
        ...p.preProd.map((stage) => [targets.get(p.preProdRegion)!, stage, (kind: naming.StandardAlarm) => naming.serviceAlarmName(p.name, stage, kind)] as [Template, string, (kind: naming.StandardAlarm) => string]),
      ];
      for (const [t, scope, name] of scopes) {
        for (const kind of Object.values(naming.StandardAlarm)) {
          const { stat, ...props } = expected[kind];
          const dimensions = [{ Name: 'Scope', Value: scope }, { Name: 'Service', Value: p.service }];
          const metric = stat.startsWith('math:')
            ? {
                Metrics: Match.arrayWith([
                  Match.objectLike({ Expression: Match.stringLikeRegexp('^100 \\* \\w+ / requests$'), ReturnData: true }),
                  Match.objectLike({ MetricStat: Match.objectLike({ Metric: { Namespace: naming.METRICS_NAMESPACE, MetricName: stat.slice(5), Dimensions: dimensions }, Period: 60, Stat: 'Sum' }) }),
                  Match.objectLike({ MetricStat: Match.objectLike({ Metric: { Namespace: naming.METRICS_NAMESPACE, MetricName: 'RequestCount', Dimensions: dimensions }, Period: 60, Stat: 'Sum' }) }),
                ]),
              }
            : {
                Namespace: naming.METRICS_NAMESPACE,
                MetricName: metricNames[kind],
                Dimensions: dimensions,
                Period: 60,
                ...(stat.startsWith('p') ? { ExtendedStatistic: stat } : { Statistic: stat }),
              };
          t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: name(kind), EvaluationPeriods: 3, DatapointsToAlarm: 2, ...props, ...metric });
        }
      }
    }
  });

  it('check the one-box against its fleet, and the fleet requests against their anomaly band', () => {
    for (const p of pipelines) {
      for (const region of productionRegions(p)) {
        const t = targets.get(region)!;
        const units = p.waves.flatMap((w) => w.regions).find((r) => r.region === region)!.units;
        const name = (scope: 'onebox' | 'fleet', m: naming.AnomalyMetric) => naming.anomalyAlarmName(p.name, region, scope, m);
        const expressions = (alarmName: string): string[] => {
          const alarm = Object.values(resourcesOf(t, 'AWS::CloudWatch::Alarm')).find((a) => a.Properties.AlarmName === alarmName)!;
          return alarm.Properties.Metrics.filter((m: { Expression?: string }) => m.Expression).map((m: { Expression: string }) => m.Expression);
        };
        if (p.oneBox) {
          t.hasResourceProperties('AWS::CloudWatch::Alarm', {
            AlarmName: name('onebox', 'requests'),
            ComparisonOperator: 'LessThanThreshold',
            Threshold: 20,
            EvaluationPeriods: 3,
            DatapointsToAlarm: 3,
          });
          // Against its expected share of the region: 1 in N + 1 hosts, at most 10% (docs/design.md).
          expect(expressions(name('onebox', 'requests'))).toEqual([`IF(fleet >= 30, 100 * FILL(onebox, 0) * ${Math.max(units.length * p.hostsPerUnit + 1, 10)} / fleet)`]);
          t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: name('onebox', 'latency'), ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, EvaluationPeriods: 5, DatapointsToAlarm: 3 });
          expect(expressions(name('onebox', 'latency'))).toEqual(['IF(onebox > 2 * fleet AND onebox > fleet + 150, 1, 0)']);
          t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: name('onebox', 'faults'), ComparisonOperator: 'GreaterThanThreshold', Threshold: 0, EvaluationPeriods: 5, DatapointsToAlarm: 3 });
          expect(expressions(name('onebox', 'faults'))).toEqual(
            expect.arrayContaining(['IF(oneboxRate > 5 * fleetRate AND oneboxRate > 0.5, 1, 0)', '100 * oneboxFaults / oneboxRequests', '100 * fleetFaults / fleetRequests']),
          );
        }
        t.hasResourceProperties('AWS::CloudWatch::Alarm', {
          AlarmName: name('fleet', 'requests'),
          ComparisonOperator: 'LessThanLowerThreshold',
          ThresholdMetricId: 'expr_1',
          EvaluationPeriods: 3,
          DatapointsToAlarm: 3,
          Metrics: Match.arrayWith([
            Match.objectLike({ Id: 'expr_1', Expression: 'ANOMALY_DETECTION_BAND(m0, 3)' }),
            Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ MetricName: 'RequestCount', Dimensions: [{ Name: 'Scope', Value: 'fleet' }, { Name: 'Service', Value: p.service }] }), Stat: 'Sum' }) }),
          ]),
        });
      }
    }
  });

  it('check each unit against its region fleet (per host, 3 of 3), watched by neither CodeDeploy nor the team aggregate', () => {
    let checked = 0;
    for (const p of pipelines) {
      for (const region of productionRegions(p)) {
        const t = targets.get(region)!;
        const units = p.waves.flatMap((w) => w.regions).find((r) => r.region === region)!.units;
        const alarms = resourcesOf(t, 'AWS::CloudWatch::Alarm');
        for (const unit of units) {
          const name = naming.unitAnomalyAlarmName(p.name, region, unit);
          const entry = Object.entries(alarms).find(([, a]) => a.Properties.AlarmName === name);
          expect(entry, name).toBeDefined();
          const [id, alarm] = entry!;
          expect(alarm.Properties).toMatchObject({
            ComparisonOperator: 'LessThanThreshold',
            Threshold: 20,
            EvaluationPeriods: 3,
            DatapointsToAlarm: 3,
            TreatMissingData: 'notBreaching',
          });
          const metrics = alarm.Properties.Metrics as Array<{ Id: string; Expression?: string; ReturnData?: boolean; MetricStat?: { Metric: { MetricName: string; Dimensions: unknown[] }; Period: number; Stat: string } }>;
          expect(metrics.filter((m) => m.Expression)).toEqual([
            expect.objectContaining({ Expression: `IF(fleet >= 30, 100 * (FILL(unit, 0) / ${p.hostsPerUnit}) / (fleet / ${units.length * p.hostsPerUnit}))`, ReturnData: true }),
          ]);
          const stat = (metricId: string) => metrics.find((m) => m.Id === metricId)!.MetricStat!;
          expect(stat('unit')).toMatchObject({ Metric: { MetricName: 'RequestCount', Dimensions: [{ Name: 'Scope', Value: unit }, { Name: 'Service', Value: p.service }] }, Period: 60, Stat: 'Sum' });
          expect(stat('fleet')).toMatchObject({ Metric: { MetricName: 'RequestCount', Dimensions: [{ Name: 'Scope', Value: 'fleet' }, { Name: 'Service', Value: p.service }] }, Period: 60, Stat: 'Sum' });
          // Not in any deployment group (CodeDeploy's 10), nor in the team aggregate.
          for (const g of Object.values(resourcesOf(t, 'AWS::CodeDeploy::DeploymentGroup'))) {
            expect(JSON.stringify(g.Properties.AlarmConfiguration.Alarms)).not.toContain(`"${id}"`);
          }
          for (const c of Object.values(resourcesOf(t, 'AWS::CloudWatch::CompositeAlarm'))) {
            expect(JSON.stringify(c.Properties.AlarmRule)).not.toContain(`"${id}"`);
          }
          // Its state changes reach the home bus: by name, or by the pipeline's prefix.
          const forward = Object.values(resourcesOf(t, 'AWS::Events::Rule')).find((r) => r.Properties.EventPattern.source[0] === 'aws.cloudwatch')!;
          const pattern = forward.Properties.EventPattern.detail.alarmName as Array<string | { prefix: string }>;
          expect(pattern.some((x) => x === name || (typeof x === 'object' && name.startsWith(x.prefix)))).toBe(true);
          checked++;
        }
        // No unit alarm of another region or pipeline here.
        const unitAlarms = Object.values(alarms).filter((a) => units.some((u) => a.Properties.AlarmName === naming.unitAnomalyAlarmName(p.name, region, u)));
        expect(unitAlarms).toHaveLength(units.length);
      }
    }
    expect(checked).toBeGreaterThan(0);
  });

  it('give each deployment group its most telling alarms, never more than CodeDeploy takes', () => {
    for (const p of pipelines) {
      for (const region of productionRegions(p)) {
        const t = targets.get(region)!;
        const aggregate = naming.teamAggregateAlarmName(p.team, region);
        if (p.oneBox) {
          expect(groupAlarmNames(t, naming.oneBoxGroupName(p.name)).sort()).toEqual(
            [
              naming.oneBoxAlarmName(p.name, region, 'faults'),
              naming.oneBoxAlarmName(p.name, region, 'latency-p99'),
              naming.oneBoxAlarmName(p.name, region, 'health'),
              naming.oneBoxAlarmName(p.name, region, 'log-errors'),
              naming.anomalyAlarmName(p.name, region, 'onebox', 'latency'),
              naming.anomalyAlarmName(p.name, region, 'onebox', 'faults'),
              aggregate,
            ].sort(),
          );
        }
        for (const unit of p.waves.flatMap((w) => w.regions).find((r) => r.region === region)!.units) {
          expect(groupAlarmNames(t, naming.unitGroupName(p.name, unit)).sort()).toEqual(
            [...Object.values(naming.StandardAlarm).map((kind) => naming.serviceAlarmName(p.name, region, kind)), aggregate].sort(),
          );
        }
      }
      for (const stage of p.preProd) {
        expect(groupAlarmNames(targets.get(p.preProdRegion)!, naming.preProdGroupName(p.name, stage)).sort()).toEqual(
          Object.values(naming.StandardAlarm).map((kind) => naming.serviceAlarmName(p.name, stage, kind)).sort(),
        );
      }
    }
    for (const t of targets.values()) {
      for (const g of Object.values(resourcesOf(t, 'AWS::CodeDeploy::DeploymentGroup'))) {
        expect(g.Properties.AlarmConfiguration.Alarms.length).toBeLessThanOrEqual(MAX_ALARMS_PER_GROUP);
      }
    }
  });

  it('hold every alarm of the alarm plan, field for field, and no alarm that is not in it', () => {
    // The plan (core/alarms) is what the simulator's world and `handsoff alarms` read.
    expect(targets.size).toBeGreaterThan(1);
    let count = 0;
    for (const [region, t] of targets) {
      const synthesized = fromTemplate(region, t);
      const planned = regionAlarmPlan(pipelines, region).map(toAlarmEntry).map(cfnFields).sort(byName);
      // Both ways, with the names first for a readable failure.
      expect(synthesized.map((a) => a.name).filter((n) => !planned.some((p) => p.name === n)), `${region}: in the template, not in the plan`).toEqual([]);
      expect(planned.map((a) => a.name).filter((n) => !synthesized.some((s) => s.name === n)), `${region}: in the plan, not in the template`).toEqual([]);
      expect(synthesized, region).toEqual(planned);
      count += planned.length;
    }
    // Every kind is covered: metric, math, anomaly band and composite.
    const kinds = new Set([...targets.keys()].flatMap((r) => regionAlarmPlan(pipelines, r).map((a) => a.kind)));
    expect([...kinds].sort()).toEqual(['anomaly', 'composite', 'math', 'metric']);
    expect(count).toBeGreaterThan(100);
  });

  it('fail synth when a deployment group would watch more alarms than CodeDeploy takes', () => {
    // Prepare: the fixture pipelines, then one alarm too many on a unit group (10 already).
    const app = testApp();
    const built = buildHandsoffApp(app, { pipelines: fixturePipelines, buildStateMachines: () => ({ pipeline: {}, region: {} }), handlerEntry, homeRegion: HOME, nag: false });
    const stack = built.targets.find((s) => s.region === 'eu-west-1')!;
    const unit = stack.deploymentGroups.find((g) => (g.node.defaultChild as { deploymentGroupName?: string }).deploymentGroupName === naming.unitGroupName('orders', 'euw1-az1'))!;
    unit.addAlarm(stack.node.findChild('CompanyEvent') as cloudwatch.Alarm);
    // Act / Assess
    expect(() => app.synth()).toThrow(/'orders-euw1-az1' in eu-west-1 has 11 alarms; CodeDeploy takes at most 10/);
  });

  it('aggregate every fleet alarm of a team in a region into its composite alarm', () => {
    const p = pipelines[0]!;
    for (const region of productionRegions(p)) {
      const t = targets.get(region)!;
      const alarms = resourcesOf(t, 'AWS::CloudWatch::Alarm');
      const fleetIds = pipelines
        .filter((q) => q.team === p.team && productionRegions(q).includes(region))
        .flatMap((q) => Object.values(naming.StandardAlarm).map((kind) => naming.serviceAlarmName(q.name, region, kind)))
        .map((name) => Object.entries(alarms).find(([, a]) => a.Properties.AlarmName === name)![0]);
      const composite = Object.values(resourcesOf(t, 'AWS::CloudWatch::CompositeAlarm')).find(
        (c) => c.Properties.AlarmName === naming.teamAggregateAlarmName(p.team, region),
      )!;
      const rule = JSON.stringify(composite.Properties.AlarmRule);
      for (const id of fleetIds) expect(rule).toContain(`"${id}","Arn"`);
      expect(rule.match(/ALARM\(/g)).toHaveLength(fleetIds.length);
      expect(rule).toContain(' OR ');
      t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: naming.companyEventAlarmName(region) });
    }
  });

  it('forward deployment and alarm state changes to the handsoff bus of the home region', () => {
    for (const [region, t] of targets) {
      const rules = Object.values(resourcesOf(t, 'AWS::Events::Rule'));
      expect(rules.map((r) => r.Properties.EventPattern.source[0]).sort()).toEqual(['aws.cloudwatch', 'aws.codedeploy']);
      for (const r of rules) {
        expect(JSON.stringify(r.Properties.Targets[0].Arn)).toContain(`:events:${HOME}:`);
        expect(JSON.stringify(r.Properties.Targets[0].Arn)).toContain(':event-bus/handsoff');
        expect(r.Properties.Targets[0].RoleArn).toBeDefined();
      }
      const alarmRule = rules.find((r) => r.Properties.EventPattern.source[0] === 'aws.cloudwatch')!;
      expect(JSON.stringify(alarmRule.Properties.EventPattern.detail.alarmName)).toContain(naming.companyEventAlarmName(region));
    }
    expect(eventBusArn).toBeTypeOf('function');
  });
});
