/**
 * Faults through `handsoff simulate --json` (docs/simulation.md, "Faults"): whatever the
 * simulator injects, a healthy change still completes and a bad one is caught where it
 * should be and left on no box. Judged from the world's own records (`world.*`).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { CHAOS_PIPELINE } from '../../sim/chaos-shared.ts';
import { ofType, reviewed, runCli, simulateJson, summary, writeJson } from './cli-harness.ts';

const PIPELINE = writeJson('chaos-pipeline.json', CHAOS_PIPELINE);
const START = '2026-11-30T08:00:00Z';
const UNTIL = '2026-12-03T08:00:00Z';
const FIRST_REGION = 'sa-east-1'; // wave-1 of the chaos pipeline's auto plan
const SERVICES = ['codedeploy', 'cloudwatch', 'dynamodb', 'scheduler', 'eventbridge', 'stepfunctions'];

const fault = (fields: Record<string, unknown>) => ({ kind: 'fault', at: START, until: UNTIL, ...fields });
const throttleEverything = (rate: number) => SERVICES.map((service) => fault({ fault: 'throttle', service, rate }));
const duplicate = (...sources: string[]) => sources.map((source) => fault({ fault: 'duplicate-events', source }));

/** c1 healthy, c2 bad in the first production region only, c3 healthy (the next commit). */
const changes = [
  { id: 'c1', at: '2026-11-30T09:00:00Z', ...reviewed },
  { id: 'c2', at: '2026-11-30T09:30:00Z', ...reviewed, behavior: { kind: 'faults', rate: 0.5, regions: [FIRST_REGION] } },
  { id: 'c3', at: '2026-11-30T18:00:00Z', ...reviewed },
];


/** Where the world deployed a revision: `stage/region/target`. */
const deployedTo = (events: HandsoffEvent[], revision: string): string[] => [
  ...new Set(ofType(events, 'world.deployment').filter((e) => e.revision === revision && e.status === 'Created').map((e) => `${e.stage}/${e.region}/${e.target}`)),
];

const expectCaughtAtFirstOneBox = (events: HandsoffEvent[], change: string) => {
  const prod = deployedTo(events, change).filter((w) => w.startsWith('wave-'));
  expect(prod).toEqual([`wave-1/${FIRST_REGION}/onebox`]);
  expect(summary(events)[change]).toMatchObject({ status: 'failed', boxesAtEnd: 0 });
  expect(ofType(events, 'change.failed', change)[0]).toMatchObject({ stage: 'wave-1', region: FIRST_REGION });
};

/** No deployment group ever runs two deployments at once (the world's record). */
const expectOneDeploymentAtATime = (events: HandsoffEvent[]) => {
  const running = new Map<string, string>();
  for (const e of ofType(events, 'world.deployment')) {
    const group = `${e.region}/${e.deploymentGroup}`;
    if (e.status === 'Created') {
      expect(running.get(group), `${group} at ${e.time}`).toBeUndefined();
      running.set(group, String(e.deploymentId));
    } else if (['Succeeded', 'Failed', 'Stopped'].includes(String(e.status)) && running.get(group) === e.deploymentId) running.delete(group);
  }
};

describe('throttling (20% of every service), crashes of any handler (15%), every AWS event and schedule duplicated', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson(
      {
        start: START,
        until: UNTIL,
        seed: 11,
        changes,
        events: [...throttleEverything(0.2), fault({ fault: 'crash', handler: 'any', rate: 0.15 }), ...duplicate('deployment', 'alarm', 'schedule')],
      },
      [PIPELINE],
    );
  });

  it('injects every fault it was given, each a world.fault record naming what it hit', () => {
    const faults = ofType(events, 'world.fault');
    for (const service of SERVICES) expect(faults.some((f) => f.fault === 'throttle' && f.service === service), service).toBe(true);
    expect(faults.some((f) => f.fault === 'crash' && typeof f.handler === 'string')).toBe(true);
    for (const source of ['deployment', 'alarm', 'schedule']) expect(faults.some((f) => f.fault === 'duplicate-events' && f.source === source), source).toBe(true);
  });

  it('completes the healthy changes everywhere', () => {
    expect(summary(events).c1!.status).toBe('succeeded');
    expect(summary(events).c3!.status).toBe('succeeded');
    expect(ofType(events, 'change.completed', 'c3')).toHaveLength(1);
  });

  it('catches the bad change at its first one-box and leaves it on no box', () => {
    expectCaughtAtFirstOneBox(events, 'c2');
    expectOneDeploymentAtATime(events);
  });
});

describe('CodeDeploy throttling every call', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson(
      { start: START, until: UNTIL, changes: [changes[0]], events: [fault({ fault: 'throttle', service: 'codedeploy', rate: 1 })] },
      [PIPELINE],
    );
  });

  it("fails the change closed after the SDK's and the step's retries, having deployed nothing", () => {
    const throttles = ofType(events, 'world.fault').filter((f) => f.fault === 'throttle');
    expect(throttles.length).toBeGreaterThan(0);
    expect(throttles.every((f) => f.service === 'codedeploy')).toBe(true);
    // The SDK tries each call three times; only the third throttle reaches the handler.
    const surfaced = throttles.filter((f) => f.surfaced);
    expect(surfaced.length * 3).toBe(throttles.length);
    expect(surfaced.every((f) => f.attempt === 3)).toBe(true);
    expect(ofType(events, 'world.deployment')).toEqual([]);
    expect(summary(events).c1).toMatchObject({ status: 'failed', boxesAtEnd: 0 });
  });
});

describe('a duplicated push event (start-change gets it twice: one change, one execution)', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson({ start: START, until: UNTIL, seed: 2, changes, events: duplicate('source') }, [PIPELINE]);
  });

  it('is recorded, and the changes still complete or are caught as without it', () => {
    expect(ofType(events, 'world.fault').some((f) => f.fault === 'duplicate-events' && f.source === 'source')).toBe(true);
    for (const { id } of changes) {
      expect(ofType(events, 'world.fault', id).filter((f) => f.fault === 'duplicate-events'), id).toHaveLength(1);
      // The second delivery adopts the change: its pipeline ran once.
      expect(ofType(events, 'change.received', id), id).toHaveLength(1);
    }
    // No group gets a revision twice in a row, as a second run of the change would deploy it
    // (a rollback deploys the revision before, after another one: that is not this).
    const last = new Map<string, unknown>();
    for (const e of ofType(events, 'world.deployment').filter((x) => x.status === 'Created')) {
      const group = `${e.region}/${e.deploymentGroup}`;
      expect(last.get(group), `${group}: ${String(e.revision)} at ${e.time}`).not.toBe(e.revision);
      last.set(group, e.revision);
    }
    expect(summary(events).c1!.status).toBe('succeeded');
    expect(summary(events).c3!.status).toBe('succeeded');
    expectCaughtAtFirstOneBox(events, 'c2');
    expectOneDeploymentAtATime(events);
  });
});

describe('a bad change with no later change behind it', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson({ start: START, until: UNTIL, changes: changes.slice(0, 2) }, [PIPELINE]);
  });

  it('runs on no box at the end, pre-production included', () => {
    expect(summary(events).c2).toMatchObject({ status: 'failed', boxesAtEnd: 0 });
  });
});

describe('lost alarm events, a crashing alarm handler', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson(
      {
        start: START,
        until: UNTIL,
        changes,
        events: [fault({ fault: 'lose-events', source: 'alarm' }), fault({ fault: 'crash', handler: 'on-alarm-event', rate: 1 })],
      },
      [PIPELINE],
    );
  });

  it('still catches the bad change at its first one-box (the reconciler sees the alarm)', () => {
    expect(ofType(events, 'world.fault').some((f) => f.fault === 'lose-events' && f.source === 'alarm')).toBe(true);
    expectCaughtAtFirstOneBox(events, 'c2');
    expect(summary(events).c1!.status).toBe('succeeded');
  });
});

describe('an alarm handler that crashes on every attempt', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson(
      { start: START, until: UNTIL, changes, events: [fault({ fault: 'crash', handler: 'on-alarm-event', rate: 1 })] },
      [PIPELINE],
    );
  });

  it('is retried twice as Lambda retries an asynchronous event, then dead-lettered; the bad change is caught anyway', () => {
    const faults = ofType(events, 'world.fault');
    const crashes = faults.filter((f) => f.fault === 'crash');
    expect(crashes.length).toBeGreaterThan(0);
    expect(crashes.every((f) => f.handler === 'on-alarm-event')).toBe(true);
    const dead = faults.filter((f) => f.fault === 'dead-letter');
    expect(dead.length).toBeGreaterThan(0);
    expect(dead[0]).toMatchObject({ handler: 'on-alarm-event', error: 'Lambda.Unknown' });
    // Three attempts per event: the first and Lambda's two retries, a minute and two minutes apart.
    expect(crashes.length).toBe(3 * dead.length);
    expectCaughtAtFirstOneBox(events, 'c2');
  });
});

describe('a deleted team aggregate alarm', () => {
  let events: HandsoffEvent[];
  beforeAll(async () => {
    events = await simulateJson(
      {
        start: START,
        until: UNTIL,
        changes: [changes[0]],
        events: [{ kind: 'fault', fault: 'delete-alarm', at: START, region: FIRST_REGION, alarm: 'team-aggregate' }],
      },
      [PIPELINE],
    );
  });

  it('holds the change out of that region: it fails closed, never deploys there', () => {
    expect(ofType(events, 'world.fault')[0]).toMatchObject({ fault: 'delete-alarm', region: FIRST_REGION, alarm: `handsoff-chaos-${FIRST_REGION}-aggregate` });
    expect(deployedTo(events, 'c1').filter((w) => w.startsWith('wave-'))).toEqual([]);
    expect(summary(events).c1!.status).not.toBe('succeeded');
  });
});

describe('fault events are validated', () => {
  it('names the field of every problem and runs nothing', async () => {
    const scenario = writeJson('bad-faults.json', {
      start: START,
      seed: 1.5,
      changes: [changes[0]],
      events: [
        { kind: 'fault', fault: 'throttle', service: 'lambda', rate: 1.5, at: START, until: UNTIL },
        { kind: 'fault', fault: 'crash', handler: 'no-such-handler', rate: 0.1, at: '2026-11-30T10:00:00Z', until: '2026-11-30T09:00:00Z' },
        { kind: 'fault', fault: 'delete-alarm', at: START, region: 'xx-nowhere-1', alarm: 'team-aggregate' },
        { kind: 'fault', fault: 'duplicate-events', source: 'alarm', at: START },
        { kind: 'fault', fault: 'explode', at: START },
      ],
    });
    const run = await runCli(['simulate', '--pipeline', PIPELINE, '--scenario', scenario, '--json']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    for (const path of ['seed', 'events[0].service', 'events[0].rate', 'events[1].handler', 'events[1].until', 'events[2].region', 'events[3].until', 'events[4].fault']) {
      expect(run.stderr, path).toContain(`${path}:`);
    }
    expect(run.stderr).toContain("handler 'no-such-handler' is not a handsoff handler");
  });
});
