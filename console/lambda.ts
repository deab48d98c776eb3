/**
 * The console's function on AWS: the console's one app (console/app.ts) behind API Gateway's
 * HTTP API (payload 2.0, hono/aws-lambda), over the AWS backend (console/aws-backend.ts) and
 * the same pure fold as locally (console/state.ts). Who calls is what the Cognito JWT
 * authorizer checked (console/identity.ts awsIdentity: the ID token's `cognito:username`,
 * and `cognito:groups` containing `approvers`). The pipelines' stages and waves come from the
 * environment the stack wrote at synth (core/console.ts); without them the function fails
 * at its first request's cold start, loudly.
 */
import { handle } from 'hono/aws-lambda';
import { CONSOLE_ENV, parseConsolePipelines } from '../core/console.ts';
import { createApp } from './app.ts';
import { createAwsBackend } from './aws-backend.ts';
import { awsIdentity } from './identity.ts';
import { foldChange, foldState } from './state.ts';

const backend = createAwsBackend({
  pipelines: parseConsolePipelines(process.env[CONSOLE_ENV.PIPELINES]),
  fold: { state: foldState, change: foldChange },
});

export const handler = handle(createApp({ backend, identify: awsIdentity }));
