/**
 * The simulated CodeDeploy deploys the exact S3 object it is given, from the region's own
 * artifact bucket: a revision in another bucket, or naming another version or checksum than
 * the region copy, is refused, as on AWS. Objects exist only once uploaded or copied.
 */
import FakeTimers from '@sinonjs/fake-timers';
import { CreateDeploymentCommand, GetDeploymentCommand, GetDeploymentGroupCommand, InvalidRevisionException } from '@aws-sdk/client-codedeploy';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { artifactKey, unitGroupName } from '../../core/naming.ts';
import { World } from '../../sim/world/index.ts';
import { CopyObjectCommand, HeadObjectCommand, NotFound } from '@aws-sdk/client-s3';
import { artifactKey as keyOf, regionArtifactBucketName } from '../../core/naming.ts';
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

const BUCKET = regionArtifactBucketName('000000000000', REGION);
const HOME_BUCKET = 'handsoff-artifacts-local';
/** The build's upload of r1 to the home bucket, then handsoff's copy of it to the region. */
const copied = async () => {
  world.artifacts.declare(HOME_BUCKET);
  const uploaded = world.artifacts.upload(HOME_BUCKET, keyOf(P, 'r1'));
  const out = (await world.artifacts.client().send(
    new CopyObjectCommand({ Bucket: BUCKET, Key: keyOf(P, 'r1'), CopySource: `${HOME_BUCKET}/${keyOf(P, 'r1')}?versionId=${uploaded.versionId}`, ChecksumAlgorithm: 'SHA256' }),
  )) as { VersionId: string; CopyObjectResult: { ETag: string; ChecksumSHA256: string } };
  return { uploaded, versionId: out.VersionId, eTag: out.CopyObjectResult.ETag.replace(/"/g, ''), sha256: Buffer.from(out.CopyObjectResult.ChecksumSHA256, 'base64').toString('hex') };
};

const create = (s3Location: Record<string, string>) =>
  world.codeDeploy(REGION).send(
    new CreateDeploymentCommand({
      applicationName: P,
      deploymentGroupName: unitGroupName(P, 'use1-az1'),
      revision: { revisionType: 'S3', s3Location: { bucket: BUCKET, bundleType: 'zip', key: artifactKey(P, 'r1'), ...s3Location } },
    }),
  );

describe('the simulated artifact buckets behind CodeDeploy', () => {
  it('holds no object of a change before its build uploads it, then one version with its checksum; a copy keeps it', async () => {
    world.artifacts.declare(HOME_BUCKET);
    const head = () => world.artifacts.client().send(new HeadObjectCommand({ Bucket: HOME_BUCKET, Key: keyOf(P, 'r1'), ChecksumMode: 'ENABLED' }));
    await expect(head()).rejects.toBeInstanceOf(NotFound);
    const { uploaded, versionId, sha256 } = await copied();
    expect(await head()).toMatchObject({ VersionId: uploaded.versionId, ChecksumSHA256: Buffer.from(uploaded.sha256, 'hex').toString('base64') });
    expect(sha256).toBe(uploaded.sha256);
    expect(versionId).not.toBe(uploaded.versionId);
  });

  it("refuses a request that expects another owner than the simulated account's, as S3 does (403)", async () => {
    await copied();
    const head = (owner: string) => world.artifacts.client().send(new HeadObjectCommand({ Bucket: BUCKET, Key: keyOf(P, 'r1'), ExpectedBucketOwner: owner }));
    await expect(head('000000000000')).resolves.toMatchObject({ VersionId: expect.any(String) });
    await expect(head('999999999999')).rejects.toMatchObject({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    const copy = (source: string) =>
      world.artifacts.client().send(new CopyObjectCommand({ Bucket: BUCKET, Key: keyOf(P, 'r1'), CopySource: `${HOME_BUCKET}/${keyOf(P, 'r1')}`, ExpectedSourceBucketOwner: source }));
    await expect(copy('999999999999')).rejects.toMatchObject({ name: 'AccessDenied' });
  });

  it('deploys the exact object of the region copy: its S3 version and ETag', async () => {
    const copy = await copied();
    const { deploymentId } = (await create({ version: copy.versionId, eTag: copy.eTag })) as { deploymentId: string };
    const info = (await world.codeDeploy(REGION).send(new GetDeploymentCommand({ deploymentId }))) as { deploymentInfo: { revision: { s3Location: Record<string, string> } } };
    expect(info.deploymentInfo.revision.s3Location).toMatchObject({ bucket: BUCKET, version: copy.versionId, eTag: copy.eTag });
  });

  it('refuses a revision outside the region bucket, or whose version or checksum is not the copy there', async () => {
    const copy = await copied();
    await expect(
      world.codeDeploy(REGION).send(
        new CreateDeploymentCommand({
          applicationName: P,
          deploymentGroupName: unitGroupName(P, 'use1-az1'),
          revision: { revisionType: 'S3', s3Location: { bucket: HOME_BUCKET, bundleType: 'zip', key: keyOf(P, 'r1'), version: copy.uploaded.versionId, eTag: copy.eTag } },
        }),
      ),
    ).rejects.toThrow(/not in this region's artifact bucket/);
    await expect(create({ version: 'another-version', eTag: copy.eTag })).rejects.toBeInstanceOf(InvalidRevisionException);
    await expect(create({ version: copy.versionId, eTag: 'another-etag' })).rejects.toThrow(/ETag/);
    // Not copied at all: nothing there to deploy.
    await expect(create({ version: copy.versionId, eTag: copy.eTag, key: keyOf(P, 'r2') })).rejects.toThrow(/does not exist/);
    expect(world.activeDeployments()).toBe(0);
  });

  it('pins the baseline by version and ETag of its region copy, so a rollback to it restores the exact object', async () => {
    const group = (await world.codeDeploy(REGION).send(new GetDeploymentGroupCommand({ applicationName: P, deploymentGroupName: unitGroupName(P, 'use1-az1') }))) as {
      deploymentGroupInfo: { targetRevision: { s3Location: Record<string, string> } };
    };
    const location = group.deploymentGroupInfo.targetRevision.s3Location;
    const object = world.artifacts.get(BUCKET, location.key!);
    expect(location).toMatchObject({ bucket: BUCKET, version: object!.versionId, eTag: object!.eTag });
  });
});
