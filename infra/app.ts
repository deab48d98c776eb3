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
import { SourceConfigError, SourceContext, sourceFromContext } from '../core/source.ts';

const app = new App();
const homeRegion = (app.node.tryGetContext('homeRegion') as string | undefined) ?? process.env.CDK_DEFAULT_REGION ?? 'us-east-1';
// Bad source context fails synth here, before anything is built, with the key and the fix.
const source = (() => {
  try {
    return sourceFromContext({
      source: app.node.tryGetContext(SourceContext.SOURCE),
      repository: app.node.tryGetContext(SourceContext.REPOSITORY),
    });
  } catch (err) {
    if (!(err instanceof SourceConfigError)) throw err;
    console.error(`handsoff: ${err.message}`);
    process.exit(1);
  }
})();

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
  source,
});
app.synth();
