/**
 * How the pipeline machine names the change's commit to its CodeBuild projects (the build and
 * the stage suites), by the control plane's source: the CodeCommit repository at the commit,
 * or, with GitHub, the commit's archive that start-change keeps in the artifact bucket. The
 * Format string is evaluated as Step Functions evaluates it, after the bucket's substitution.
 */
import { StateMachine } from '../../sim/asl-runtime.ts';
import { describe, expect, it } from 'vitest';
import { validatePipeline } from '../../core/pipeline/resolve.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { sourceArchiveKey } from '../../core/naming.ts';
import { REGION_CATALOG } from '../../infra/catalog/regions.ts';
import { buildStateMachines } from '../../statemachines/index.ts';
import { ARTIFACT_BUCKET_NAME_KEY } from '../../statemachines/resources.ts';
import { substitute } from '../../sim/stepfunctions.ts';

const pipeline = (): ResolvedPipeline => {
  const v = validatePipeline({ name: 'storefront-api', service: 'StorefrontApi', team: 'storefront', regions: ['us-east-1'] }, 'test', { catalog: REGION_CATALOG });
  if (!v.ok) throw new Error(JSON.stringify(v.problems));
  return v.pipeline;
};

type Task = { Resource?: string; Parameters?: Record<string, unknown> };
const startBuilds = (def: Record<string, unknown>): Array<[string, Task]> =>
  Object.entries((def as { States: Record<string, Task> }).States).filter(([, s]) => s.Resource === 'arn:aws:states:::codebuild:startBuild.sync');

const COMMIT = '4c1e2f0a9b8d7c6e5f4a3b2c1d0e9f8a7b6c5d4e';

describe('the CodeCommit source (the default, and the simulator)', () => {
  it('builds and tests the repository at the commit', () => {
    const builds = startBuilds(buildStateMachines(pipeline()).pipeline);
    expect(builds.map(([id]) => id)).toEqual(expect.arrayContaining(['Build.Run', 'Alpha.Tests', 'Beta.Tests', 'Gamma.Tests']));
    for (const [id, task] of builds) {
      expect(task.Parameters!['SourceVersion.$'], id).toBe('$.revision');
      expect(task.Parameters!.SourceTypeOverride, id).toBeUndefined();
    }
  });
});

describe('the GitHub source', () => {
  const def = buildStateMachines(pipeline(), { source: 'github' }).pipeline;

  it("builds and tests the commit's archive in the artifact bucket, with no SourceVersion", () => {
    const builds = startBuilds(def);
    expect(builds.length).toBe(4);
    for (const [id, task] of builds) {
      expect(task.Parameters!.SourceTypeOverride, id).toBe('S3');
      expect(task.Parameters!['SourceVersion.$'], id).toBeUndefined();
    }
  });

  it('names bucket/sources/<pipeline>/<commit>.zip, once the bucket is substituted, as start-change keeps it', async () => {
    const [, task] = startBuilds(def).find(([id]) => id === 'Build.Run')!;
    const format = task.Parameters!['SourceLocationOverride.$'] as string;
    const probe = substitute(
      { StartAt: 'P', States: { P: { Type: 'Pass', Parameters: { 'location.$': format }, End: true } } },
      { [ARTIFACT_BUCKET_NAME_KEY]: 'handsoff-artifacts-111122223333' },
    );
    const out = (await new StateMachine(probe).run({ revision: COMMIT }).result) as { location: string };
    expect(out.location).toBe(`handsoff-artifacts-111122223333/${sourceArchiveKey('storefront-api', COMMIT)}`);
  });

  it('changes nothing else of the machines', () => {
    const strip = (d: Record<string, unknown>) =>
      JSON.stringify(d, (k, v) => (k === 'SourceVersion.$' || k === 'SourceTypeOverride' || k === 'SourceLocationOverride.$' ? undefined : v));
    const both = [buildStateMachines(pipeline()), buildStateMachines(pipeline(), { source: 'github' })];
    expect(strip(both[1]!.pipeline)).toBe(strip(both[0]!.pipeline));
    expect(JSON.stringify(both[1]!.region)).toBe(JSON.stringify(both[0]!.region));
  });
});
