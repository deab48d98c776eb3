/**
 * The console on AWS (docs/console.md, docs/design.md): a Cognito user pool (no self sign-up,
 * MFA required, the `approvers` group, one public app client for the page's authorization
 * code flow with PKCE, the hosted UI), an API Gateway HTTP API whose `/api` routes take the
 * pool's ID tokens (JWT authorizer) and whose page routes are public, and the console's
 * function (console/lambda.ts, from the handlers' one build) that runs the operator's code in
 * its own process, with the operator's access and the reads of what it shows
 * (access.ts CONSOLE_ACCESS). Created in the stack's own scope: construct ids `Console*`.
 */
import { Aws, CfnOutput, Duration, RemovalPolicy, Token, type Stack } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as cognito from 'aws-cdk-lib/aws-cognito';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { APPROVERS_GROUP, CONSOLE_ENV, consolePipeline, encodeConsolePipelines } from '../../../core/console.ts';
import type { ResolvedPipeline } from '../../../core/model.ts';
import { ENV } from '../../../lambdas/shared/config.ts';
import { acknowledge } from '../../nag.ts';
import { CONSOLE_ACCESS } from './access.ts';
import { controlPlaneFunction, grantAccess, handlerEnvironment, operatorFunctionArn, type HandlerDeps } from './functions.ts';

/** Context key of the page's sign-in callback URL (`cdk synth -c consoleCallbackUrl=https://...`). */
export const CALLBACK_URL_CONTEXT = 'consoleCallbackUrl';

/** Requests per second the console's API takes (steady, burst): a page and a few people, not a fleet. */
export const CONSOLE_THROTTLE = { rateLimit: 25, burstLimit: 50 } as const;

/** Lambda's limit on a function's environment (keys and values together). */
const LAMBDA_ENV_BYTES = 4096;
/** What a value resolved at deploy time is counted as: a table name is some 60 bytes, a role or function ARN some 100. */
const TOKEN_ESTIMATE = 100;

export interface ConsoleProps {
  readonly pipelines: readonly ResolvedPipeline[];
  readonly deps: HandlerDeps;
  /** The console's bundle (console/lambda.ts) from the one build. */
  readonly codeDir: string;
  /** bake-end's function: the console's environment is the handlers' (bake schedules). */
  readonly bakeEnd: lambda.IFunction;
}

export interface ConsoleResources {
  readonly api: apigw.HttpApi;
  readonly userPool: cognito.UserPool;
  readonly client: cognito.UserPoolClient;
  readonly fn: lambda.Function;
  readonly url: string;
}

/** The hosted UI's domain prefix: the stack's name, lowercase, and the account (prefixes are unique per region). */
const domainPrefix = (stack: Stack): string => {
  const name = stack.stackName.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/(aws|amazon|cognito)/g, 'x');
  return `${name}-${Aws.ACCOUNT_ID}`;
};

/** The environment's size as Lambda counts it, with each deploy-time value at TOKEN_ESTIMATE bytes. */
const environmentBytes = (environment: Record<string, string>): number =>
  Object.entries(environment).reduce((n, [k, v]) => n + k.length + (Token.isUnresolved(v) ? TOKEN_ESTIMATE : Buffer.byteLength(v)), 0);

/** The callback URL given in the context (a custom domain in front of the API), checked: https, the console's `/`. */
const contextCallbackUrl = (stack: Stack): string | undefined => {
  const raw = stack.node.tryGetContext(CALLBACK_URL_CONTEXT) as unknown;
  if (raw === undefined) return undefined;
  let u: URL | undefined;
  try {
    u = typeof raw === 'string' ? new URL(raw) : undefined;
  } catch {
    u = undefined;
  }
  if (!u || u.protocol !== 'https:' || u.pathname !== '/' || u.search || u.hash || u.href !== raw) {
    throw new Error(`context ${CALLBACK_URL_CONTEXT} must be the console's https URL ending in '/' (e.g. https://console.example.com/), got ${JSON.stringify(raw)}`);
  }
  return raw;
};

const userPool = (stack: Stack): cognito.UserPool => {
  const pool = new cognito.UserPool(stack, 'ConsoleUsers', {
    userPoolName: `${stack.stackName}-console`,
    // People are invited by an administrator; nobody signs up.
    selfSignUpEnabled: false,
    signInAliases: { username: true, email: true },
    signInCaseSensitive: false,
    passwordPolicy: {
      minLength: 14,
      requireLowercase: true,
      requireUppercase: true,
      requireDigits: true,
      requireSymbols: true,
      tempPasswordValidity: Duration.days(3),
    },
    // Required, app-based (TOTP): an approval fast-tracks a change to production, so a
    // stolen password alone must not be enough. No SMS (no SNS role, no SIM swap).
    mfa: cognito.Mfa.REQUIRED,
    mfaSecondFactor: { otp: true, sms: false },
    accountRecovery: cognito.AccountRecovery.EMAIL_ONLY,
    // Threat protection: compromised credentials and risky sign-ins are blocked.
    featurePlan: cognito.FeaturePlan.PLUS,
    standardThreatProtectionMode: cognito.StandardThreatProtectionMode.FULL_FUNCTION,
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  new cognito.UserPoolGroup(stack, 'ConsoleApprovers', {
    userPool: pool,
    groupName: APPROVERS_GROUP,
    description: 'Principal engineers: may approve or deny an emergency fast-track (never their own request or change).',
  });
  return pool;
};

export const createConsole = (stack: Stack, props: ConsoleProps): ConsoleResources => {
  const pool = userPool(stack);
  const api = new apigw.HttpApi(stack, 'ConsoleApi', {
    apiName: `${stack.stackName}-console`,
    description: 'handsoff console: the page (public) and its API (Cognito ID token).',
    createDefaultStage: false,
  });
  const accessLogs = new logs.LogGroup(stack, 'ConsoleApiAccessLogs', { retention: logs.RetentionDays.ONE_YEAR });
  const stage = new apigw.HttpStage(stack, 'ConsoleApiStage', {
    httpApi: api,
    stageName: '$default',
    autoDeploy: true,
    throttle: CONSOLE_THROTTLE,
    accessLogSettings: {
      destination: new apigw.LogGroupLogDestination(accessLogs),
      format: apigateway.AccessLogFormat.custom(
        JSON.stringify({
          requestId: '$context.requestId',
          time: '$context.requestTime',
          ip: '$context.identity.sourceIp',
          route: '$context.routeKey',
          status: '$context.status',
          user: '$context.authorizer.claims.sub',
          authorizerError: '$context.authorizer.error',
          integrationError: '$context.integrationErrorMessage',
          latencyMs: '$context.responseLatency',
        }),
      ),
    },
  });
  const url = stage.url;
  // The page's `/` is where the hosted UI sends people back (signed in or out): the app
  // client's only callback and sign-out URL, and what the page is told to ask for.
  const callbackUrl = contextCallbackUrl(stack) ?? url;
  const client = pool.addClient('ConsoleClient', {
    userPoolClientName: 'handsoff-console',
    // A page in a browser keeps no secret: authorization code flow with PKCE.
    generateSecret: false,
    authFlows: {},
    oAuth: {
      flows: { authorizationCodeGrant: true, implicitCodeGrant: false, clientCredentials: false },
      scopes: [cognito.OAuthScope.OPENID, cognito.OAuthScope.EMAIL, cognito.OAuthScope.PROFILE],
      callbackUrls: [callbackUrl],
      logoutUrls: [callbackUrl],
    },
    supportedIdentityProviders: [cognito.UserPoolClientIdentityProvider.COGNITO],
    preventUserExistenceErrors: true,
    enableTokenRevocation: true,
    // An hour signed in, then the hosted UI again. The page keeps the ID token only (in the
    // tab's sessionStorage) and never refreshes it, so the refresh token lives as short as
    // Cognito allows.
    idTokenValidity: Duration.hours(1),
    accessTokenValidity: Duration.hours(1),
    refreshTokenValidity: Duration.hours(1),
  });
  const domain = pool.addDomain('ConsoleSignIn', { cognitoDomain: { domainPrefix: domainPrefix(stack) } });

  const environment = {
    ...handlerEnvironment(props.deps, props.bakeEnd.functionArn),
    // Overrides applied from the console expire through the operator function, as the operator's own.
    [ENV.OPERATOR_FUNCTION_ARN]: operatorFunctionArn(stack),
    [CONSOLE_ENV.PIPELINES]: encodeConsolePipelines(props.pipelines.map(consolePipeline)),
    [CONSOLE_ENV.USER_POOL_CLIENT_ID]: client.userPoolClientId,
    [CONSOLE_ENV.SIGN_IN_DOMAIN]: domain.baseUrl(),
    [CONSOLE_ENV.REDIRECT_URI]: callbackUrl,
  };
  const bytes = environmentBytes(environment);
  if (bytes > LAMBDA_ENV_BYTES) {
    throw new Error(
      `the console function's environment would take about ${bytes} bytes (Lambda allows ${LAMBDA_ENV_BYTES}); ` +
        `${CONSOLE_ENV.PIPELINES} lists ${props.pipelines.length} pipelines: split the pipelines over two control planes or shorten their names`,
    );
  }
  const fn = controlPlaneFunction(stack, 'Console', 'console', props.codeDir, { environment, timeout: Duration.seconds(29) });
  grantAccess(stack, fn, CONSOLE_ACCESS, props.pipelines, props.deps);

  const integration = new HttpLambdaIntegration('ConsoleIntegration', fn, { payloadFormatVersion: apigw.PayloadFormatVersion.VERSION_2_0 });
  const authorizer = new HttpUserPoolAuthorizer('ConsoleAuthorizer', pool, {
    userPoolClients: [client],
    identitySource: ['$request.header.Authorization'],
  });
  api.addRoutes({ path: '/api/{proxy+}', methods: [apigw.HttpMethod.ANY], integration, authorizer });
  const page = [
    ...api.addRoutes({ path: '/', methods: [apigw.HttpMethod.GET], integration }),
    ...api.addRoutes({ path: '/changes/{id}', methods: [apigw.HttpMethod.GET], integration }),
    ...api.addRoutes({ path: '/assets/{proxy+}', methods: [apigw.HttpMethod.GET], integration }),
  ];
  const PUBLIC_PAGE =
    'The page (HTML, script, styles, pictures) is public by design: it holds no data and signs people in through Cognito; every API call it makes goes to /api/{proxy+}, which requires a Cognito ID token.';
  for (const route of page) {
    acknowledge(route, 'AwsSolutions-APIG4', PUBLIC_PAGE);
    acknowledge(route, 'AwsSolutions-COG4', PUBLIC_PAGE);
  }

  new CfnOutput(stack, 'ConsoleUrl', { value: url, description: 'The handsoff console (sign in with the Cognito user pool).' });
  new CfnOutput(stack, 'ConsoleUserPoolId', { value: pool.userPoolId, description: 'Cognito user pool of the console: add people, and principal engineers to the approvers group.' });
  return { api, userPool: pool, client, fn, url };
};
