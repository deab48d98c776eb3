/**
 * Inputs of the infra tests: the example pipelines as `cdk synth` resolves them, the real ASL
 * builders and handler entries, two small hand-written pipelines for the cases the examples
 * do not cover, two of the defaults for what holds per pipeline and per region (smallPipelines),
 * and a one-line handler to bundle where a test reads IAM and not code (so that
 * it does not bundle every real handler again).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import type { ResolvedPipeline } from '../../core/model.ts';
import type { HandlerName } from '../../statemachines/resources.ts';
import { buildStateMachines } from '../../statemachines/index.ts';
import type { BuildStateMachines } from '../../infra/stacks/control-plane-stack.ts';
import { resolvePipelines, type ValidatePipeline } from '../../infra/stacks/pipelines.ts';
import { examplePipelines } from '../../infra/pipelines/index.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { formatProblem, validatePipeline } from '../../core/pipeline/resolve.ts';
import cdkJson from '../../cdk.json' with { type: 'json' };

/** The context of cdk.json (feature flags), so tests synthesize what `cdk synth` does. */
export const cdkContext = cdkJson.context as Record<string, unknown>;

/**
 * An app as a test synthesizes it: cdk.json's context (and the test's own), cdk-nag on (added
 * by buildHandsoffApp), and CDK's built-in CloudFormation validation off unless `validate`.
 * That validation (CDK's CloudFormation rules, in WebAssembly) reads only the written templates and is ~40% of
 * a synthesis: `cdk synth` runs it on every stack, and the tests run it where they synthesize
 * what a team deploys (the example app, the GitHub source) and require no finding
 * (`validationFindings`), not again for every variant of a fixture.
 */
export const testApp = (context: Record<string, unknown> = {}, { validate = false } = {}): App =>
  new App({ context: { ...cdkContext, ...context }, builtinCloudFormationValidation: validate });

/**
 * What CDK's CloudFormation validation reported for a synthesized app: each plugin's report
 * that failed or found anything (none when every template passed). Throws when the
 * validation did not run, so no test reads "no finding" from a validation that was off.
 */
export const validationFindings = (app: App): unknown[] => {
  const file = path.join(app.outdir, 'validation-report.json');
  if (!existsSync(file)) throw new Error(`no validation report in ${app.outdir}: CDK's validation did not run`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { pluginReports: unknown[] }).pluginReports;
};

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const bake = {
  oneBoxSeconds: 3600,
  firstWaveSeconds: 12 * 3600,
  laterWavesSeconds: 2 * 3600,
  waveSeconds: [],
  unitSeconds: 1800,
  preProdSeconds: 1800,
  minRequests: 100,
  emergencyFloorSeconds: 600,
};

const window = { timeZone: 'region', days: ['MON', 'TUE', 'WED', 'THU'], start: '09:00', end: '15:00' } as const;

export const fixturePipelines: ResolvedPipeline[] = [
  {
    name: 'orders',
    service: 'orders',
    team: 'payments',
    kind: 'app',
    batching: true,
    tests: { runner: 'codebuild' },
    unit: 'az',
    cellsPerRegion: 0,
    hostsPerUnit: 3,
    preProd: ['beta', 'gamma'],
    preProdRegion: 'us-west-2',
    oneBox: true,
    waves: [
      {
        name: 'wave-1',
        bakeSeconds: 12 * 3600,
        regions: [{ region: 'eu-west-1', units: ['euw1-az1', 'euw1-az2'], windowTimeZone: 'Europe/Dublin' }],
      },
      {
        name: 'wave-2',
        bakeSeconds: 2 * 3600,
        regions: [
          { region: 'us-east-1', units: ['use1-az1', 'use1-az2', 'use1-az4'], windowTimeZone: 'America/New_York' },
        ],
      },
    ],
    bake,
    rolling: { maxBatchPercent: 33, minHealthyPercent: 66 },
    window,
    holidays: ['2026-12-25', '2027-01-01'],
    holidaysByRegion: { 'eu-west-1': ['2026-12-26'] },
  },
  {
    name: 'ledger',
    service: 'ledger',
    team: 'payments',
    kind: 'app',
    batching: true,
    tests: { runner: 'codebuild' },
    unit: 'cell',
    cellsPerRegion: 2,
    hostsPerUnit: 3,
    preProd: ['beta'],
    preProdRegion: 'us-west-2',
    oneBox: true,
    waves: [
      {
        name: 'wave-1',
        bakeSeconds: 12 * 3600,
        regions: [{ region: 'us-east-1', units: ['use1-cell1', 'use1-cell2'], windowTimeZone: 'America/New_York' }],
      },
    ],
    bake,
    rolling: { maxBatchPercent: 33, minHealthyPercent: 66 },
    window,
    holidays: [],
    holidaysByRegion: {},
  },
];

/** Each pipeline validated against the region catalog, as `cdk synth` does (infra/app.ts). */
const validate: ValidatePipeline = (input, source) => validatePipeline(input, source, { catalog: REGION_CATALOG });

/**
 * Two pipelines of the defaults over three target regions (two production, one of them shared,
 * and the pre-production region): for what holds per pipeline and per region whatever their
 * number, synthesized in a fraction of the examples' time.
 */
export const smallPipelines = (): ResolvedPipeline[] =>
  resolvePipelines(
    [
      { name: 'storefront-api', service: 'StorefrontApi', team: 'storefront', regions: ['sa-east-1', 'us-east-1'] },
      { name: 'checkout-svc', service: 'CheckoutService', team: 'storefront', regions: ['sa-east-1'] },
    ],
    validate,
    formatProblem,
    'test/infra/fixtures.ts',
  );

/** A one-line handler: bundled where a test reads the template's IAM, not the handlers' code. */
export const fixtureHandlerEntry = (): string => path.join(root, 'test/infra/fixtures/handler.ts');

/** The handlers' real entries. */
export const handlerEntry = (name: HandlerName): string => path.join(root, 'lambdas', name, 'index.ts');

/** The real ASL builder. */
export const loadBuildStateMachines = async (): Promise<{ build: BuildStateMachines; real: boolean }> => ({ build: buildStateMachines, real: true });

/** The example pipelines (infra/pipelines), resolved against the region catalog as `cdk synth` does. */
export const loadPipelines = async (): Promise<{ pipelines: ResolvedPipeline[]; real: boolean }> => {
  const pipelines = resolvePipelines(examplePipelines as unknown[], validate, formatProblem, 'infra/pipelines/index.ts');
  return { pipelines, real: true };
};
