/**
 * The simulated CodeDeploy deploys the exact S3 object it is given: a revision that names
 * another version or checksum than the bucket's object is refused, as on AWS.
 */
import FakeTimers from '@sinonjs/fake-timers';
import { CreateDeploymentCommand, GetDeploymentCommand, GetDeploymentGroupCommand, InvalidRevisionException } from '@aws-sdk/client-codedeploy';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { artifactKey, unitGroupName } from '../../core/naming.ts';
import { World } from '../../sim/world/index.ts';
import { simulatedObject } from '../../sim/world/artifacts.ts';
import { catalog, pipeline } from './world-fixtures.ts';

const P = 'storefront-api';
const REGION = 'us-east-1';
let clock: ReturnType<typeof FakeTimers.install>;
let world: World;

beforeEach(() => {
  clock = FakeTimers.install({ now: Date.parse('2026-11-30T08:00:00Z'), toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  world = new World({ pipelines: [pipeline()], regions: catalog, emit: () => undefined, seed: 7 });
  world.start();
});

afterEach(() => {
  world.stop();
  clock.uninstall();
});

const create = (s3Location: Record<string, string>) =>
  world.codeDeploy(REGION).send(
    new CreateDeploymentCommand({
      applicationName: P,
      deploymentGroupName: unitGroupName(P, 'use1-az1'),
      revision: { revisionType: 'S3', s3Location: { bucket: 'handsoff-artifacts', bundleType: 'zip', key: artifactKey(P, 'r1'), ...s3Location } },
    }),
  );

describe('the simulated artifact bucket behind CodeDeploy', () => {
  it('deploys the exact object: its S3 version and ETag', async () => {
    const object = simulatedObject(artifactKey(P, 'r1'));
    const { deploymentId } = (await create({ version: object.versionId, eTag: object.eTag })) as { deploymentId: string };
    const info = (await world.codeDeploy(REGION).send(new GetDeploymentCommand({ deploymentId }))) as { deploymentInfo: { revision: { s3Location: Record<string, string> } } };
    expect(info.deploymentInfo.revision.s3Location).toMatchObject({ version: object.versionId, eTag: object.eTag });
  });

  it('refuses a revision whose version or checksum is not the object in the bucket', async () => {
    const object = simulatedObject(artifactKey(P, 'r1'));
    await expect(create({ version: 'another-version', eTag: object.eTag })).rejects.toBeInstanceOf(InvalidRevisionException);
    await expect(create({ version: object.versionId, eTag: 'another-etag' })).rejects.toThrow(/ETag/);
    expect(world.activeDeployments()).toBe(0);
  });

  it('pins the baseline by version and ETag too, so a rollback to it restores the exact object', async () => {
    const group = (await world.codeDeploy(REGION).send(new GetDeploymentGroupCommand({ applicationName: P, deploymentGroupName: unitGroupName(P, 'use1-az1') }))) as {
      deploymentGroupInfo: { targetRevision: { s3Location: Record<string, string> } };
    };
    const key = group.deploymentGroupInfo.targetRevision.s3Location.key!;
    expect(group.deploymentGroupInfo.targetRevision.s3Location).toMatchObject({ version: simulatedObject(key).versionId, eTag: simulatedObject(key).eTag });
  });
});
