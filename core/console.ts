/**
 * What the console's function on AWS is told at synth: the names of its environment
 * variables and the pipelines' picture (stages and waves, the regions of each), which the
 * CDK app resolves from the pipeline definitions and the console cannot read otherwise.
 * The simulator's console builds the same view from the same resolved pipelines.
 *
 * Pure: no AWS imports, no environment.
 */
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import type { ResolvedPipeline } from './model.ts';
import { FIRST_PRODUCTION_STAGE } from './operators.ts';

/** Environment variables of the console's function (beside the handlers' own, lambdas/shared/config.ts ENV). */
export const CONSOLE_ENV = {
  /**
   * The pipelines' views (ConsolePipeline[]): JSON, deflated and in base64, as a Lambda
   * function's whole environment is at most 4 KB and region lists repeat (a pipeline of every
   * region is some 800 bytes of JSON, about 150 deflated).
   */
  PIPELINES: 'HANDSOFF_CONSOLE_PIPELINES',
  /** The Cognito app client of the console (the page's sign-in; the authorizer's audience). */
  USER_POOL_CLIENT_ID: 'HANDSOFF_CONSOLE_USER_POOL_CLIENT_ID',
  /** The Cognito hosted UI's base URL (`https://<prefix>.auth.<region>.amazoncognito.com`). */
  SIGN_IN_DOMAIN: 'HANDSOFF_CONSOLE_SIGN_IN_DOMAIN',
  /** The console's `/` as the app client knows it: its one callback and sign-out URL. */
  REDIRECT_URI: 'HANDSOFF_CONSOLE_REDIRECT_URI',
} as const;

/** The Cognito group whose members may approve or deny an emergency request. */
export const APPROVERS_GROUP = 'approvers';

/** A pipeline as the console draws it: pre-production stages first, then the production waves. */
export interface ConsolePipeline {
  name: string;
  /** The team whose aggregate alarm blocks it (a blocker the console shows). */
  team?: string;
  waves: Array<{ name: string; regions: string[] }>;
}

/** The console's view of a resolved pipeline: each pre-production stage in its region, then each wave. */
export const consolePipeline = (p: ResolvedPipeline): ConsolePipeline => ({
  name: p.name,
  team: p.team,
  waves: [
    ...p.preProd.map((stage) => ({ name: stage, regions: [p.preProdRegion] })),
    ...p.waves.map((w) => ({ name: w.name, regions: w.regions.map((r) => r.region) })),
  ],
});

/**
 * The production regions of pipelines as the console draws them (consolePipeline: the
 * pre-production stages first, then the waves from FIRST_PRODUCTION_STAGE on): where a gate
 * has blockers, so where an override may be for. The scenario validator and the console's
 * `POST /api/overrides` both accept these regions.
 */
export const productionRegions = (pipelines: ReadonlyArray<{ waves: ReadonlyArray<{ name: string; regions: readonly string[] }> }>): string[] => {
  const regions = new Set<string>();
  for (const p of pipelines) {
    const first = p.waves.findIndex((w) => w.name === FIRST_PRODUCTION_STAGE);
    if (first >= 0) for (const w of p.waves.slice(first)) for (const r of w.regions) regions.add(r);
  }
  return [...regions];
};

/** CONSOLE_ENV.PIPELINES' value for these pipelines. */
export const encodeConsolePipelines = (pipelines: readonly ConsolePipeline[]): string =>
  deflateRawSync(Buffer.from(JSON.stringify(pipelines)), { level: 9 }).toString('base64');

/** Reads CONSOLE_ENV.PIPELINES' value; a value that is not the list written at synth is a deployment error. */
export const parseConsolePipelines = (encoded: string | undefined): ConsolePipeline[] => {
  if (!encoded) throw new Error(`environment variable ${CONSOLE_ENV.PIPELINES} is not set; the handsoff stack sets it on the console function`);
  let value: unknown;
  try {
    value = JSON.parse(inflateRawSync(Buffer.from(encoded, 'base64')).toString('utf8'));
  } catch (err) {
    throw new Error(`${CONSOLE_ENV.PIPELINES} is not the pipelines' list the stack writes (${(err as Error).message}); redeploy the handsoff control plane`);
  }
  const ok =
    Array.isArray(value) &&
    value.every(
      (p) =>
        typeof p?.name === 'string' &&
        Array.isArray(p.waves) &&
        p.waves.every((w: unknown) => typeof (w as ConsolePipeline['waves'][number])?.name === 'string' && Array.isArray((w as ConsolePipeline['waves'][number]).regions)),
    );
  if (!ok) throw new Error(`${CONSOLE_ENV.PIPELINES} is not a list of {name, waves: [{name, regions}]}; redeploy the handsoff control plane`);
  return value as ConsolePipeline[];
};
