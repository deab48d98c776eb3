/**
 * Inputs of the infra tests. The real pipeline definitions (infra/pipelines), ASL builders
 * (statemachines/index.ts) and handlers (lambdas/<name>/index.ts) are written in parallel;
 * while one of them is missing the tests use the hand-written stand-in below, so the CDK
 * stacks can be tested on their own. Once they exist, the tests run against the real ones.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { ResolvedPipeline } from '../../core/model.ts';
import { HandlerName, placeholder, functionArnKey, REGION_STATE_MACHINE_ARN_KEY } from '../../statemachines/resources.ts';
import type { BuildStateMachines } from '../../infra/stacks/control-plane-stack.ts';
import { resolvePipelines, type ValidatePipeline } from '../../infra/stacks/pipelines.ts';
import { examplePipelines } from '../../infra/pipelines/index.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { formatProblem, validatePipeline } from '../../core/pipeline/resolve.ts';
import cdkJson from '../../cdk.json' with { type: 'json' };

/** The context of cdk.json (feature flags), so tests synthesize what `cdk synth` does. */
export const cdkContext = cdkJson.context as Record<string, unknown>;

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

const lambdaTask = (handler: HandlerName, waitForToken: boolean, next?: string) => ({
  Type: 'Task',
  Resource: waitForToken ? 'arn:aws:states:::lambda:invoke.waitForTaskToken' : 'arn:aws:states:::lambda:invoke',
  Parameters: {
    FunctionName: placeholder(functionArnKey(handler)),
    Payload: waitForToken ? { 'taskToken.$': '$$.Task.Token', 'input.$': '$' } : { 'input.$': '$' },
  },
  TimeoutSeconds: 86_400,
  ...(next ? { Next: next } : { End: true }),
});

/** A minimal stand-in of statemachines/index.ts: the same placeholders and resources. */
export const fixtureBuildStateMachines: BuildStateMachines = () => ({
  region: {
    StartAt: 'CheckWindow',
    States: {
      CheckWindow: lambdaTask(HandlerName.CHECK_WINDOW, false, 'Deploy'),
      Deploy: lambdaTask(HandlerName.START_DEPLOYMENT, true, 'Bake'),
      Bake: lambdaTask(HandlerName.START_BAKE, true, 'Rollback'),
      Rollback: lambdaTask(HandlerName.ROLLBACK, true),
    },
  },
  pipeline: {
    StartAt: 'Notify',
    States: {
      Notify: lambdaTask(HandlerName.NOTIFY, false, 'Region'),
      Region: {
        Type: 'Task',
        Resource: 'arn:aws:states:::states:startExecution.sync:2',
        Parameters: { StateMachineArn: placeholder(REGION_STATE_MACHINE_ARN_KEY), 'Input.$': '$' },
        End: true,
      },
    },
  },
});

export const fixtureHandlerEntry = (): string => path.join(root, 'test/infra/fixtures/handler.ts');

const exists = (relative: string): boolean => existsSync(path.join(root, relative));

/** Handler entries: the real one where it exists, else the stand-in. */
export const handlerEntry = (name: HandlerName): string =>
  exists(`lambdas/${name}/index.ts`) ? path.join(root, 'lambdas', name, 'index.ts') : fixtureHandlerEntry();

/** Handlers not written yet (bundled from the stand-in). */
export const missingHandlers = (): HandlerName[] =>
  Object.values(HandlerName).filter((name) => !exists(`lambdas/${name}/index.ts`));

/** The real ASL builder once statemachines/index.ts exists, else the stand-in. */
export const loadBuildStateMachines = async (): Promise<{ build: BuildStateMachines; real: boolean }> => {
  if (!exists('statemachines/index.ts')) return { build: fixtureBuildStateMachines, real: false };
  const mod = (await import('../../statemachines/index.ts' as string)) as { buildStateMachines: BuildStateMachines };
  return { build: mod.buildStateMachines, real: true };
};

/** The example pipelines (infra/pipelines), resolved against the region catalog as `cdk synth` does. */
export const loadPipelines = async (): Promise<{ pipelines: ResolvedPipeline[]; real: boolean }> => {
  const validate: ValidatePipeline = (input, source) => validatePipeline(input, source, { catalog: REGION_CATALOG });
  const pipelines = resolvePipelines(examplePipelines as unknown[], validate, formatProblem, 'infra/pipelines/index.ts');
  return { pipelines, real: true };
};
