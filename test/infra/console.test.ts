/**
 * The console on AWS as its template says (synthesized offline, cdk-nag on: Template.fromStack
 * throws on any unacknowledged finding): the HTTP API, whose /api routes take the Cognito
 * pool's tokens and whose page routes are public; the user pool and its approvers group; the
 * audit table that handlers may only append to; the console's function with exactly the
 * operator's access and its reads.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_ENV, consolePipeline, encodeConsolePipelines, parseConsolePipelines } from '../../core/console.ts';
import { ENV } from '../../lambdas/shared/config.ts';
import { CALLBACK_URL_CONTEXT } from '../../infra/constructs/control-plane/console.ts';
import { CONSOLE_BUNDLE, bundleHandlers } from '../../infra/constructs/control-plane/bundle.ts';
import { buildHandsoffApp } from '../../infra/stacks/handsoff-app.ts';
import { HandlerName } from '../../statemachines/resources.ts';
import { buildStateMachines } from '../../statemachines/index.ts';
import { fixtureHandlerEntry, fixturePipelines, testApp } from './fixtures.ts';

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

const synth = (context: Record<string, unknown> = {}) => {
  const app = testApp(context);
  // No account: the app synthesizes without credentials or lookups.
  const built = buildHandsoffApp(app, { pipelines: fixturePipelines, buildStateMachines, handlerEntry: fixtureHandlerEntry, consoleEntry: fixtureHandlerEntry(), homeRegion: 'us-east-1' });
  const template = Template.fromStack(built.controlPlane);
  return { app, built, template, resources: template.toJSON().Resources as Record<string, Resource> };
};

let app: App;
let template: Template;
let resources: Record<string, Resource>;
beforeAll(() => {
  ({ app, template, resources } = synth());
});

const ofType = (type: string): Array<[string, Resource]> => Object.entries(resources).filter(([, r]) => r.Type === type);
const idOf = (type: string, prefix: string): string => ofType(type).find(([id]) => id.startsWith(prefix))![0];
const statementsOfRole = (prefix: string): Statement[] =>
  ofType('AWS::IAM::Policy')
    .filter(([, p]) => p.Properties.Roles.some((r: { Ref: string }) => r.Ref.startsWith(prefix)))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
const actionsOf = (statements: Statement[]): string[] => statements.flatMap((s) => [s.Action].flat());
const pascal = (s: string): string => s.split('-').map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');

describe('the console API', () => {
  it('routes /api/{proxy+} through the Cognito JWT authorizer, and the page routes without one, all to the console function', () => {
    const routes = Object.fromEntries(ofType('AWS::ApiGatewayV2::Route').map(([, r]) => [r.Properties.RouteKey, r.Properties]));
    expect(Object.keys(routes).sort()).toEqual(['ANY /api/{proxy+}', 'GET /', 'GET /assets/{proxy+}', 'GET /changes/{id}']);
    const authorizerId = idOf('AWS::ApiGatewayV2::Authorizer', 'ConsoleApi');
    expect(routes['ANY /api/{proxy+}']).toMatchObject({ AuthorizationType: 'JWT', AuthorizerId: { Ref: authorizerId } });
    for (const key of ['GET /', 'GET /assets/{proxy+}', 'GET /changes/{id}']) {
      expect(routes[key]!.AuthorizerId, key).toBeUndefined();
      expect(routes[key]!.AuthorizationType ?? 'NONE', key).toBe('NONE');
    }
    const integrations = ofType('AWS::ApiGatewayV2::Integration');
    expect(integrations.length).toBeGreaterThan(0);
    for (const [, i] of integrations) {
      expect(i.Properties).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0', IntegrationUri: { 'Fn::GetAtt': [expect.stringMatching(/^ConsoleFunction/), 'Arn'] } });
    }
  });

  it('takes ID tokens of the console client of the user pool only', () => {
    const authorizer = ofType('AWS::ApiGatewayV2::Authorizer')[0]![1].Properties;
    expect(authorizer).toMatchObject({ AuthorizerType: 'JWT', IdentitySource: ['$request.header.Authorization'] });
    expect(authorizer.JwtConfiguration.Audience).toEqual([{ Ref: idOf('AWS::Cognito::UserPoolClient', 'ConsoleUsersConsoleClient') }]);
    expect(JSON.stringify(authorizer.JwtConfiguration.Issuer)).toContain(idOf('AWS::Cognito::UserPool', 'ConsoleUsers'));
  });

  it('logs every request and throttles the stage', () => {
    const [, stage] = ofType('AWS::ApiGatewayV2::Stage')[0]!;
    expect(stage.Properties.StageName).toBe('$default');
    expect(stage.Properties.AccessLogSettings.DestinationArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ConsoleApiAccessLogs/), 'Arn'] });
    expect(JSON.parse(stage.Properties.AccessLogSettings.Format)).toMatchObject({ requestId: '$context.requestId', status: '$context.status' });
    expect(stage.Properties.DefaultRouteSettings).toMatchObject({ ThrottlingRateLimit: expect.any(Number), ThrottlingBurstLimit: expect.any(Number) });
  });

  it('says where the console is and which user pool signs people in', () => {
    const outputs = template.toJSON().Outputs;
    expect(JSON.stringify(outputs.ConsoleUrl.Value)).toContain(idOf('AWS::ApiGatewayV2::Api', 'ConsoleApi'));
    expect(outputs.ConsoleUserPoolId.Value).toEqual({ Ref: idOf('AWS::Cognito::UserPool', 'ConsoleUsers') });
  });
});

describe('the user pool', () => {
  it('lets nobody sign up, requires MFA and a strong password, and blocks risky sign-ins', () => {
    const [[, pool]] = ofType('AWS::Cognito::UserPool') as [[string, Resource]];
    expect(pool.Properties).toMatchObject({
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
      UserPoolTier: 'PLUS',
      UserPoolAddOns: { AdvancedSecurityMode: 'ENFORCED' },
      Policies: { PasswordPolicy: { MinimumLength: 14, RequireLowercase: true, RequireUppercase: true, RequireNumbers: true, RequireSymbols: true } },
      DeletionProtection: 'ACTIVE',
    });
  });

  it('has the approvers group', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolGroup', { GroupName: 'approvers', UserPoolId: { Ref: idOf('AWS::Cognito::UserPool', 'ConsoleUsers') } });
  });

  it('has one public client for the page: authorization code flow (PKCE), no secret, the console URL as callback by default', () => {
    const clients = ofType('AWS::Cognito::UserPoolClient');
    expect(clients).toHaveLength(1);
    const client = clients[0]![1].Properties;
    expect(client).toMatchObject({ GenerateSecret: false, AllowedOAuthFlows: ['code'], AllowedOAuthFlowsUserPoolClient: true, SupportedIdentityProviders: ['COGNITO'] });
    expect(client.AllowedOAuthScopes).toEqual(expect.arrayContaining(['openid']));
    expect(JSON.stringify(client.CallbackURLs)).toContain(idOf('AWS::ApiGatewayV2::Api', 'ConsoleApi'));
    const domain = ofType('AWS::Cognito::UserPoolDomain')[0]![1].Properties;
    expect(JSON.stringify(domain.Domain)).toContain('handsoff-controlplane-');
  });

  it("sends people back to the console's / signed in or out, the URL its page is told to use; an hour signed in, no long-lived refresh token", () => {
    const client = ofType('AWS::Cognito::UserPoolClient')[0]![1].Properties;
    const [, fn] = ofType('AWS::Lambda::Function').find(([id]) => id.startsWith('ConsoleFunction'))!;
    const vars = fn.Properties.Environment.Variables;
    expect(client.CallbackURLs).toEqual([vars[CONSOLE_ENV.REDIRECT_URI]]);
    expect(client.LogoutURLs).toEqual(client.CallbackURLs);
    // The stage's URL: https://{api}.execute-api.{region}.{suffix}/
    expect(vars[CONSOLE_ENV.REDIRECT_URI]).toEqual({ 'Fn::Join': ['', ['https://', { Ref: idOf('AWS::ApiGatewayV2::Api', 'ConsoleApi') }, '.execute-api.us-east-1.', { Ref: 'AWS::URLSuffix' }, '/']] });
    expect(JSON.stringify(vars[CONSOLE_ENV.SIGN_IN_DOMAIN])).toContain(idOf('AWS::Cognito::UserPoolDomain', 'ConsoleUsersConsoleSignIn'));
    expect(client).toMatchObject({ IdTokenValidity: 60, AccessTokenValidity: 60, RefreshTokenValidity: 60, TokenValidityUnits: { IdToken: 'minutes', AccessToken: 'minutes', RefreshToken: 'minutes' } });
  });

  it('takes the callback URL from the context when given, for the client and the page alike, and refuses one that is not https or not /', () => {
    const { resources: withUrl } = synth({ [CALLBACK_URL_CONTEXT]: 'https://console.example.com/' });
    const client = Object.values(withUrl).find((r) => r.Type === 'AWS::Cognito::UserPoolClient')!.Properties;
    expect(client.CallbackURLs).toEqual(['https://console.example.com/']);
    expect(client.LogoutURLs).toEqual(['https://console.example.com/']);
    const fn = Object.entries(withUrl).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('ConsoleFunction'))![1];
    expect(fn.Properties.Environment.Variables[CONSOLE_ENV.REDIRECT_URI]).toBe('https://console.example.com/');
    for (const bad of ['http://console.example.com/', 'https://console.example.com/console', 'https://console.example.com', 42]) {
      expect(() => synth({ [CALLBACK_URL_CONTEXT]: bad }), String(bad)).toThrow(/consoleCallbackUrl must be the console's https URL ending in '\/'/);
    }
  });
});

describe('the audit table', () => {
  it('is kept: deletion protection, RETAIN, point-in-time recovery', () => {
    const [, audit] = ofType('AWS::DynamoDB::Table').find(([id]) => id.startsWith('AuditTable'))!;
    expect(audit.DeletionPolicy).toBe('Retain');
    expect(audit.Properties).toMatchObject({ DeletionProtectionEnabled: true, PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } });
  });

  it('is append-only: no role may write it but with PutItem', () => {
    const auditId = idOf('AWS::DynamoDB::Table', 'AuditTable');
    const writes = ofType('AWS::IAM::Policy').flatMap(([id, p]) =>
      (p.Properties.PolicyDocument.Statement as Statement[])
        .filter((s) => JSON.stringify(s.Resource).includes(auditId))
        .flatMap((s) => [s.Action].flat().map((a) => `${id}: ${a}`)),
    );
    expect(writes.filter((w) => /PutItem$/.test(w)).length).toBeGreaterThan(0);
    expect(writes.filter((w) => /(UpdateItem|DeleteItem|BatchWriteItem|PartiQL|DeleteTable|UpdateTable)/.test(w))).toEqual([]);
  });
});

describe("the console function's bundle", () => {
  it('carries the page script, built for the browser at synth (the function cannot run esbuild)', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const dir = bundleHandlers(root, { [CONSOLE_BUNDLE]: path.join(root, 'console', 'lambda.ts') })[CONSOLE_BUNDLE]!;
    const bundle = readFileSync(path.join(dir, 'index.mjs'), 'utf8');
    // A string of console/client/main.ts, which only the browser script holds.
    expect(bundle).toContain('Not signed in');
  });
});

describe('the console function', () => {
  it('runs on arm64 Node.js 22 with its own role and log group, and the pipelines drawn at synth', () => {
    const [, fn] = ofType('AWS::Lambda::Function').find(([id]) => id.startsWith('ConsoleFunction'))!;
    expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Handler: 'index.handler' });
    expect(fn.Properties.Role).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ConsoleRole/), 'Arn'] });
    expect(fn.Properties.LoggingConfig.LogGroup).toEqual({ Ref: expect.stringMatching(/^ConsoleLogs/) });
    const vars = fn.Properties.Environment.Variables;
    expect(parseConsolePipelines(vars[CONSOLE_ENV.PIPELINES])).toEqual(fixturePipelines.map(consolePipeline));
    expect(vars[ENV.AUDIT_TABLE]).toEqual({ Ref: idOf('AWS::DynamoDB::Table', 'AuditTable') });
    expect(JSON.stringify(vars[ENV.OPERATOR_FUNCTION_ARN])).toContain(':function:Handsoff-ControlPlane-operator');
    expect(vars[CONSOLE_ENV.USER_POOL_CLIENT_ID]).toEqual({ Ref: idOf('AWS::Cognito::UserPoolClient', 'ConsoleUsersConsoleClient') });
  });

  it("has the operator's access (it runs operate() in its own process) and its reads, no wildcard action", () => {
    const consoleActions = actionsOf(statementsOfRole('ConsoleRole'));
    expect(consoleActions.filter((a) => a.includes('*'))).toEqual([]);
    const operatorActions = actionsOf(statementsOfRole(`${pascal(HandlerName.OPERATOR)}Role`)).filter(
      // logs: each function its own group; sqs: the operator's dead-letter queue (it is invoked asynchronously by its expiry schedules, the console is not).
      (a) => !a.startsWith('logs:') && !a.startsWith('sqs:'),
    );
    expect(consoleActions).toEqual(expect.arrayContaining(operatorActions));
    // What it shows: one change, the list of changes, a change's audit trail and all of it.
    const on = (tablePrefix: string) =>
      actionsOf(statementsOfRole('ConsoleRole').filter((s) => JSON.stringify(s.Resource).includes(idOf('AWS::DynamoDB::Table', tablePrefix)))).sort();
    expect(on('ChangesTable')).toEqual(['dynamodb:GetItem', 'dynamodb:Scan']);
    expect(on('AuditTable')).toEqual(['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:Scan']);
    // The blockers it shows: the team aggregates and company event alarms, by name.
    const describe = statementsOfRole('ConsoleRole').find((s) => s.Action === 'cloudwatch:DescribeAlarms')!;
    expect(JSON.stringify(describe.Resource)).toContain('alarm:handsoff-company-event-');
  });

  it('is the only function the API invokes, and from its routes only', () => {
    const permissions = ofType('AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal === 'apigateway.amazonaws.com');
    expect(permissions.length).toBe(4);
    for (const [, p] of permissions) {
      expect(p.Properties.FunctionName).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^ConsoleFunction/), 'Arn'] });
      expect(JSON.stringify(p.Properties.SourceArn)).toContain(idOf('AWS::ApiGatewayV2::Api', 'ConsoleApi'));
    }
  });
});

describe('the operator function', () => {
  it('schedules override expiries in the schedule group only, as itself: fixed name, CreateSchedule, PassRole', () => {
    const [, fn] = ofType('AWS::Lambda::Function').find(([id]) => id.startsWith('OperatorFunction'))!;
    expect(fn.Properties.FunctionName).toBe('Handsoff-ControlPlane-operator');
    expect(JSON.stringify(fn.Properties.Environment.Variables[ENV.OPERATOR_FUNCTION_ARN])).toContain(':function:Handsoff-ControlPlane-operator');
    const statements = statementsOfRole('OperatorRole');
    const create = statements.find((s) => s.Action === 'scheduler:CreateSchedule')!;
    expect(JSON.stringify(create.Resource)).toContain(':schedule/handsoff-bakes/*');
    expect(statements.find((s) => s.Action === 'iam:PassRole')!.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^BakeSchedulerRole/), 'Arn'] });
  });
});

describe('synth', () => {
  it('needs no lookup (offline) and is cdk-nag clean', () => {
    const assembly = app.synth();
    expect(assembly.manifest.missing ?? []).toEqual([]);
    // Template.fromStack above threw on any finding not acknowledged with a reason.
    expect(template).toBeDefined();
  });
});
