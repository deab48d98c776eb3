/**
 * The handsoff CDK app (`cdk synth`, `cdk deploy`). Home region from context `homeRegion`,
 * else CDK_DEFAULT_REGION, else us-east-1; account from CDK_DEFAULT_ACCOUNT when known
 * (the app is environment-agnostic in account otherwise, so it synthesizes offline).
 */
// First: the handlers' build runs beside the loading of everything below.
import { handlersBuilt } from './handlers-build.ts';
import { App } from 'aws-cdk-lib';
import { examplePipelines } from './pipelines/index.ts';
import { formatProblem, validatePipeline } from '../core/pipeline/resolve.ts';
import { REGION_CATALOG } from './catalog/regions.ts';
import { buildStateMachines } from '../statemachines/index.ts';
import { buildHandsoffApp } from './stacks/handsoff-app.ts';
import { resolvePipelines, type ValidatePipeline } from './stacks/pipelines.ts';

const app = new App();
const homeRegion = (app.node.tryGetContext('homeRegion') as string | undefined) ?? process.env.CDK_DEFAULT_REGION ?? 'us-east-1';

const pipelines = resolvePipelines(
  examplePipelines as unknown as readonly unknown[],
  ((input, source) => validatePipeline(input, source, { catalog: REGION_CATALOG })) satisfies ValidatePipeline,
  formatProblem,
  'infra/pipelines/index.ts',
);

await handlersBuilt;
buildHandsoffApp(app, {
  pipelines,
  buildStateMachines,
  homeRegion,
  account: process.env.CDK_DEFAULT_ACCOUNT,
});
app.synth();
