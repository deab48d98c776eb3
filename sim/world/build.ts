/**
 * Each pipeline's build project on the simulated CodeBuild (codebuild.ts): what the
 * buildspec of the CDK's project does (infra/constructs/control-plane/build-project.ts), in
 * virtual time. The build of a `build-failure` change fails in its BUILD phase (the unit
 * tests) after a few minutes and uploads nothing; any other build runs its unit tests, then
 * uploads the bundle in one part with its SHA-256 to the bucket and key the machine named
 * (the object exists from then on, not before) and exports the object's version id and
 * SHA-256, as `exported-variables` does.
 */
import { BuildEnv, BuildExport } from '../../core/build.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { buildProjectName } from '../../core/naming.ts';
import type { BuildOutcome, SimulatedCodeBuild } from './codebuild.ts';
import { MINUTE_MS } from './metrics.ts';
import type { World } from './world.ts';

/** A build that succeeds: install, unit tests, package and upload. */
const BUILD_MS = 4 * MINUTE_MS;
/** A build whose unit tests fail stops there. */
const FAILED_BUILD_MS = 3 * MINUTE_MS;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Registers the build project of every pipeline; `homeBucket` is the control plane's artifact bucket. */
export const registerBuilds = (codebuild: SimulatedCodeBuild, world: World, pipelines: readonly ResolvedPipeline[], homeBucket: string): void => {
  world.artifacts.declare(homeBucket);
  for (const p of pipelines) {
    codebuild.register(buildProjectName(p.name), async (request, env): Promise<BuildOutcome> => {
      const revision = env[BuildEnv.REVISION] ?? request.SourceVersion;
      const bucket = env[BuildEnv.ARTIFACT_BUCKET];
      const key = env[BuildEnv.ARTIFACT_KEY];
      if (!revision || !bucket || !key) {
        return { status: 'FAILED', durationMs: 0, message: `the build was not told ${[!revision && BuildEnv.REVISION, !bucket && BuildEnv.ARTIFACT_BUCKET, !key && BuildEnv.ARTIFACT_KEY].filter(Boolean).join(', ')}` };
      }
      if (world.behaviorOf(p.name, revision)?.kind === 'build-failure') {
        await sleep(FAILED_BUILD_MS);
        return { status: 'FAILED', durationMs: 0, message: `Error while executing command: npm test. Reason: exit status 1 (unit tests of ${revision} failed)` };
      }
      await sleep(BUILD_MS);
      const object = world.artifacts.upload(bucket, key);
      return { status: 'SUCCEEDED', durationMs: 0, exported: { [BuildExport.SHA256]: object.sha256, [BuildExport.VERSION_ID]: object.versionId } };
    });
  }
};
