/**
 * The handsoff CDK app (`cdk synth`, `cdk deploy`). Home region from context `homeRegion`,
 * else CDK_DEFAULT_REGION, else us-east-1; account from CDK_DEFAULT_ACCOUNT when known
 * (the app is environment-agnostic in account otherwise, so it synthesizes offline).
 *
 * In this order: the source context and the home region are read (bad context fails synth at
 * once, before anything is built), then the one esbuild build of the handlers and the console starts (a
 * process of its own, infra/handlers-build.ts), and Node loads the rest of the app while it
 * works; the stacks are built once both are done.
 */
import { App } from 'aws-cdk-lib';
import { SourceConfigError, SourceContext, sourceFromContext } from '../core/source.ts';
import type { ValidatePipeline } from './stacks/pipelines.ts';

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

const { REGION_CATALOG } = await import('./catalog/regions.ts');
// The control plane's region must be one handsoff knows (the catalog): an unknown one would
// fail later, in CDK's own checks, with messages that do not name it.
if (!REGION_CATALOG.some((r) => r.code === homeRegion)) {
  const from = app.node.tryGetContext('homeRegion') !== undefined ? 'context homeRegion (-c homeRegion=... or cdk.json)' : 'CDK_DEFAULT_REGION';
  console.error(
    `handsoff: ${from} is '${homeRegion}', which is not a region of the catalog (infra/catalog/regions.ts); use one of: ${REGION_CATALOG.map((r) => r.code).join(', ')}`,
  );
  process.exit(1);
}

const { handlersBuilt } = await import('./handlers-build.ts');
const [{ examplePipelines }, { formatProblem, validatePipeline }, { buildStateMachines }, { buildHandsoffApp }, { PipelineValidationError, resolvePipelines }] =
  await Promise.all([
    import('./pipelines/index.ts'),
    import('../core/pipeline/resolve.ts'),
    import('../statemachines/index.ts'),
    import('./stacks/handsoff-app.ts'),
    import('./stacks/pipelines.ts'),
  ]);

// Every problem of the pipelines at once, as the CLI's validate prints them, then exit 1
// (not a stack trace: the problems are the user's to fix, not a crash of the app).
const pipelines = (() => {
  try {
    return resolvePipelines(
      examplePipelines as unknown as readonly unknown[],
      ((input, source) => validatePipeline(input, source, { catalog: REGION_CATALOG })) satisfies ValidatePipeline,
      formatProblem,
      'infra/pipelines/index.ts',
    );
  } catch (err) {
    if (!(err instanceof PipelineValidationError)) throw err;
    console.error(`handsoff: ${err.message}`);
    process.exit(1);
  }
})();

await handlersBuilt;
buildHandsoffApp(app, {
  pipelines,
  buildStateMachines,
  homeRegion,
  account: process.env.CDK_DEFAULT_ACCOUNT,
  source,
});
app.synth();
