/**
 * The control plane as an auditor reads its template (synthesized once, cdk-nag on):
 * service principals are bound to this account's own resources, task tokens are encrypted
 * with the control plane's key and readable only by the handlers that use them, and a
 * region machine can be started by its pipeline machine only.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { ACCESS, CONSOLE_ACCESS } from '../../infra/constructs/control-plane/access.ts';
import { buildHandsoffApp } from '../../infra/stacks/handsoff-app.ts';
import { HandlerName } from '../../statemachines/resources.ts';
import { buildStateMachines } from '../../statemachines/index.ts';
import { fixtureHandlerEntry, smallPipelines, testApp } from './fixtures.ts';

type Resource = { Type: string; Properties: Record<string, any> };
type Statement = { Effect: string; Principal?: any; Action: string | string[]; Resource?: unknown; Condition?: Record<string, Record<string, unknown>> };

const pipelines = smallPipelines();

let template: Template;
let resources: Record<string, Resource>;
let targetResources: Array<Record<string, Resource>>;
beforeAll(() => {
  const app = testApp();
  const built = buildHandsoffApp(app, { pipelines, buildStateMachines, handlerEntry: fixtureHandlerEntry, homeRegion: 'us-east-1' });
  template = Template.fromStack(built.controlPlane);
  resources = template.toJSON().Resources;
  targetResources = built.targets.map((t) => Template.fromStack(t).toJSON().Resources);
});

const ofType = (type: string): Array<[string, Resource]> => Object.entries(resources).filter(([, r]) => r.Type === type);
const actionsOf = (s: Statement): string[] => [s.Action].flat();
const servicePrincipal = (s: Statement): string | undefined => {
  const service = s.Principal?.Service;
  return typeof service === 'string' ? service : Array.isArray(service) ? service.join(',') : undefined;
};
const conditionKeys = (s: Statement): string[] => Object.values(s.Condition ?? {}).flatMap((c) => Object.keys(c));
const pascal = (s: string): string => s.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
/** The IAM statements attached to roles whose logical id starts with `prefix`. */
const roleStatements = (prefix: string): Statement[] =>
  ofType('AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref.startsWith(prefix)))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
const refersTo = (value: unknown, logicalId: string): boolean => JSON.stringify(value).includes(`"${logicalId}"`);

describe('service principals in resource policies', () => {
  it('bind every topic and key policy for a service to this account and the one resource that uses it', () => {
    const policies: Array<[string, Statement]> = [
      ...ofType('AWS::SNS::TopicPolicy').flatMap(([id, r]) => r.Properties.PolicyDocument.Statement.map((s: Statement) => [id, s] as [string, Statement])),
      ...ofType('AWS::KMS::Key').flatMap(([id, r]) => r.Properties.KeyPolicy.Statement.map((s: Statement) => [id, s] as [string, Statement])),
    ];
    const forServices = policies.filter(([, s]) => servicePrincipal(s) !== undefined);
    expect(forServices.length).toBeGreaterThan(0);
    for (const [id, s] of forServices) {
      expect(conditionKeys(s), `${id}: ${servicePrincipal(s)} ${actionsOf(s).join(',')}`).toEqual(expect.arrayContaining(['aws:SourceArn', 'aws:SourceAccount']));
    }
  });

  it('lets EventBridge publish failed changes to the topic only from the change-failed rule', () => {
    const [, policy] = ofType('AWS::SNS::TopicPolicy')[0]!;
    const publish = (policy.Properties.PolicyDocument.Statement as Statement[]).find((s) => s.Effect === 'Allow' && actionsOf(s).includes('sns:Publish'))!;
    expect(servicePrincipal(publish)).toBe('events.amazonaws.com');
    expect(JSON.stringify(publish.Condition!.ArnEquals!['aws:SourceArn'])).toContain('rule/handsoff/handsoff-change-failed');
    const [ruleId] = ofType('AWS::Events::Rule').find(([, r]) => r.Properties.Name === 'handsoff-change-failed')!;
    expect(ruleId).toMatch(/^ChangeFailed/);
  });

  it('lets only this account assume the roles of state machines, rules, schedules and CodeDeploy', () => {
    const services = ['states.amazonaws.com', 'events.amazonaws.com', 'scheduler.amazonaws.com', 'codedeploy.amazonaws.com'];
    const roles = [resources, ...targetResources].flatMap((r) =>
      Object.entries(r).filter(
        ([, x]) =>
          x.Type === 'AWS::IAM::Role' &&
          (x.Properties.AssumeRolePolicyDocument.Statement as Statement[]).some((st) => services.includes(servicePrincipal(st) ?? '')),
      ),
    );
    // Per pipeline two machine roles (the push rule invokes start-change, with no role); the
    // bake scheduler; per target region a forwarder and CodeDeploy.
    expect(roles.length).toBe(2 * pipelines.length + 1 + 2 * targetResources.length);
    for (const [id, r] of roles) {
      for (const st of r.Properties.AssumeRolePolicyDocument.Statement as Statement[]) {
        expect(conditionKeys(st), id).toContain('aws:SourceAccount');
        if (servicePrincipal(st) === 'states.amazonaws.com') expect(conditionKeys(st), id).toContain('aws:SourceArn');
      }
    }
  });
});

describe('Lambda resource policies', () => {
  it('bind every permission for an AWS service to this account and to its source (the rule, the API)', () => {
    const permissions = [resources, ...targetResources].flatMap((r) => Object.entries(r).filter(([, x]) => x.Type === 'AWS::Lambda::Permission'));
    // The push rules, the reconciler's heartbeat, the deployment and alarm routes, the console's API.
    expect(permissions.length).toBeGreaterThan(pipelines.length + 3);
    for (const [id, p] of permissions) {
      expect(p.Properties.Principal, id).toMatch(/\.amazonaws\.com$/);
      expect(p.Properties.SourceArn, id).toBeDefined();
      expect(p.Properties.SourceAccount, id).toEqual({ Ref: 'AWS::AccountId' });
    }
  });
});

describe('the push rules', () => {
  it('are the only ones EventBridge may invoke start-change for (its resource policy names each rule)', () => {
    const startChange = ofType('AWS::Lambda::Function').find(([id]) => id.startsWith('StartChange'));
    expect(startChange).toBeDefined();
    const permissions = ofType('AWS::Lambda::Permission').filter(([, r]) => JSON.stringify(r.Properties.FunctionName).includes(startChange![0]));
    expect(permissions.length).toBe(pipelines.length);
    for (const [id, r] of permissions) {
      expect(r.Properties.Principal, id).toBe('events.amazonaws.com');
      const rule = JSON.stringify(r.Properties.SourceArn);
      expect(pipelines.some((p) => rule.includes(`${pascal(p.name)}Source`)), `${id}: ${rule}`).toBe(true);
    }
  });
});

describe('tables that hold task tokens', () => {
  const tokenTables = ['Waiters', 'Lanes'];
  const tableKey = (prefix: string): string => {
    const [, table] = ofType('AWS::DynamoDB::Table').find(([id]) => id.startsWith(`${prefix}Table`))!;
    expect(table.Properties.SSESpecification, prefix).toMatchObject({ SSEEnabled: true, SSEType: 'KMS' });
    return table.Properties.SSESpecification.KMSMasterKeyId['Fn::GetAtt'][0];
  };

  it('are encrypted with a customer-managed key that rotates', () => {
    for (const t of tokenTables) {
      const keyId = tableKey(t);
      expect(resources[keyId]).toMatchObject({ Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true } });
    }
  });

  it('grant their key only to the handlers that use those tables, through DynamoDB only', () => {
    const keyId = tableKey('Waiters');
    expect(tableKey('Lanes')).toBe(keyId);
    for (const name of Object.values(HandlerName)) {
      const tables = Object.keys(ACCESS[name].tables ?? {});
      const needsKey = tables.includes('waiters') || tables.includes('lanes');
      const keyStatements = roleStatements(`${pascal(name)}Role`).filter((s) => refersTo(s.Resource, keyId));
      if (!needsKey) {
        expect(keyStatements, name).toEqual([]);
        continue;
      }
      expect(keyStatements.length, name).toBeGreaterThan(0);
      for (const s of keyStatements) {
        expect(actionsOf(s).every((a) => ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'].includes(a)), name).toBe(true);
        expect(conditionKeys(s), name).toContain('kms:ViaService');
      }
    }
    // The console function runs the operator's actions in its own process: it may use the key
    // exactly when that access names a token table, through DynamoDB only.
    const consoleTables = Object.keys(CONSOLE_ACCESS.tables ?? {});
    const consoleKey = roleStatements('ConsoleRole').filter((s) => refersTo(s.Resource, keyId));
    if (consoleTables.includes('waiters') || consoleTables.includes('lanes')) {
      expect(consoleKey.length).toBeGreaterThan(0);
      for (const s of consoleKey) expect(conditionKeys(s)).toContain('kms:ViaService');
    } else expect(consoleKey).toEqual([]);
    // No other principal of the stack may use the key.
    const others = ofType('AWS::IAM::Policy')
      .filter(([, p]) => !['Console', ...Object.values(HandlerName).map(pascal)].some((n) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref.startsWith(`${n}Role`))))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[])
      .filter((s) => refersTo(s.Resource, keyId));
    expect(others).toEqual([]);
  });
});

describe('who may start a region machine', () => {
  it("is its own pipeline machine's role, and nothing else in the stack", () => {
    const machines = ofType('AWS::StepFunctions::StateMachine');
    for (const p of pipelines) {
      const [regionId] = machines.find(([, m]) => m.Properties.StateMachineName === `handsoff-${p.name}-region`)!;
      const starters = ofType('AWS::IAM::Policy').filter(([, policy]) =>
        (policy.Properties.PolicyDocument.Statement as Statement[]).some(
          (s) => actionsOf(s).some((a) => /^states:(StartExecution|StartSyncExecution|\*)$/.test(a) || a === '*') && refersTo(s.Resource, regionId),
        ),
      );
      const roles = starters.flatMap(([, policy]) => policy.Properties.Roles.map((r: { Ref: string }) => r.Ref));
      expect(roles, p.name).toEqual([expect.stringMatching(new RegExp(`^${pascal(p.name)}PipelineRole`))]);
    }
  });

  it('grants no states:StartExecution on a wildcard', () => {
    for (const [id, policy] of ofType('AWS::IAM::Policy')) {
      for (const s of policy.Properties.PolicyDocument.Statement as Statement[]) {
        if (!actionsOf(s).some((a) => a.startsWith('states:Start'))) continue;
        expect(JSON.stringify(s.Resource), id).not.toMatch(/\*/);
      }
    }
  });
});
