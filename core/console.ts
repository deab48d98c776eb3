/**
 * What the console's function on AWS is told at synth: the names of its environment
 * variables and the pipelines' picture (stages and waves, the regions of each), which the
 * CDK app resolves from the pipeline definitions and the console cannot read otherwise.
 * The simulator's console builds the same view from the same resolved pipelines.
 *
 * Pure: no AWS imports, no environment.
 */
import type { ResolvedPipeline } from './model.ts';

/** Environment variables of the console's function (beside the handlers' own, lambdas/shared/config.ts ENV). */
export const CONSOLE_ENV = {
  /** The pipelines' views as JSON (ConsolePipeline[]). */
  PIPELINES: 'HANDSOFF_CONSOLE_PIPELINES',
  /** The Cognito app client of the console (the page's sign-in; the authorizer's audience). */
  USER_POOL_CLIENT_ID: 'HANDSOFF_CONSOLE_USER_POOL_CLIENT_ID',
  /** The Cognito hosted UI's base URL (`https://<prefix>.auth.<region>.amazoncognito.com`). */
  SIGN_IN_DOMAIN: 'HANDSOFF_CONSOLE_SIGN_IN_DOMAIN',
} as const;

/** The Cognito group whose members may approve or deny an emergency request. */
export const APPROVERS_GROUP = 'approvers';

/** A pipeline as the console draws it: pre-production stages first, then the production waves. */
export interface ConsolePipeline {
  name: string;
  waves: Array<{ name: string; regions: string[] }>;
}

/** The console's view of a resolved pipeline: each pre-production stage in its region, then each wave. */
export const consolePipeline = (p: ResolvedPipeline): ConsolePipeline => ({
  name: p.name,
  waves: [
    ...p.preProd.map((stage) => ({ name: stage, regions: [p.preProdRegion] })),
    ...p.waves.map((w) => ({ name: w.name, regions: w.regions.map((r) => r.region) })),
  ],
});

/** Reads CONSOLE_ENV.PIPELINES' value; a value that is not the list written at synth is a deployment error. */
export const parseConsolePipelines = (json: string | undefined): ConsolePipeline[] => {
  if (!json) throw new Error(`environment variable ${CONSOLE_ENV.PIPELINES} is not set; the handsoff stack sets it on the console function`);
  const value: unknown = JSON.parse(json);
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
