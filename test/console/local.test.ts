/**
 * The console over the real local backend: the simulator live, through `app.request()`.
 * Virtual time stands while paused and follows the wall clock once running; the scenario's
 * change arrives at its time; bad requests are refused before anything runs; actions go
 * to the operator handler at the current virtual time; the run ends at `until`. A live run
 * without actions gives the batch run's stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { createApp } from '../../console/app.ts';
import { startLocalConsole, type LocalConsole } from '../../console/local.ts';
import type { StateView } from '../../console/api.ts';
import type { ResolvedPipeline } from '../../core/model.ts';
import { simulate } from '../../sim/engine.ts';
import { simScenario, smallPipelines } from './fixtures.ts';

// The run's fake clock replaces the global timers while it runs: real waits use these.
const realSetTimeout = globalThis.setTimeout;
const realWait = (ms: number) => new Promise<void>((resolve) => realSetTimeout(resolve, ms));

const SCENARIO = {
  start: '2026-11-30T08:00:00Z',
  until: '2026-12-03T00:00:00Z',
  approvers: ['pat'],
  changes: [{ id: 'c1', at: '2026-11-30T09:00:00Z', author: 'alice', approvedBy: ['bob'], behavior: { kind: 'healthy' } }],
  events: [],
};

let pipelines: ResolvedPipeline[];
beforeAll(async () => {
  pipelines = await smallPipelines();
});

const as = (name: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { 'X-Handsoff-User': name, 'Content-Type': 'application/json' } });
const post = (name: string, body: unknown): RequestInit => as(name, { method: 'POST', body: JSON.stringify(body) });

describe('a live run in the console', () => {
  let local: LocalConsole;
  let app: ReturnType<typeof createApp>;
  const state = async (): Promise<StateView> => (await app.request('/api/state', as('dave'))).json() as Promise<StateView>;
  const nextEvent = (match: (e: HandsoffEvent) => boolean) =>
    new Promise<HandsoffEvent>((resolve) => {
      const off = local.backend.subscribe!((e) => {
        if (match(e)) {
          off();
          resolve(e);
        }
      });
    });

  beforeAll(async () => {
    const scenario = await simScenario(SCENARIO, pipelines);
    local = startLocalConsole({ pipelines, scenario, approvers: scenario.approvers, paused: true, speed: 600 });
    app = createApp({ backend: local.backend, identify: local.identify });
  });
  afterAll(async () => {
    await local?.stop();
  });

  it("stands at the scenario's start while paused", async () => {
    expect((await state()).now).toBe('2026-11-30T08:00:00.000Z');
    await realWait(300);
    const view = await state();
    expect(view.now).toBe('2026-11-30T08:00:00.000Z');
    expect(view.changes).toEqual([]);
    expect(view.pipelines[0]!.name).toBe('storefront-api');
  });

  it('refuses bad requests before anything runs: 400 naming the fields, 404 for a change not merged yet', async () => {
    const bad = await app.request('/api/overrides', post('dave', { blocker: 'company-event', region: 'mars-1' }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { problems: Array<{ field: string }> }).problems.map((p) => p.field).sort()).toEqual(['expires', 'reason', 'region']);
    expect((await app.request('/api/changes/c1/emergency', post('alice', { reason: 'urgent' }))).status).toBe(404);
    expect((await app.request('/api/events', as('dave'))).status).toBe(200);
  });

  it('hands a valid override to the operator handler, at the current virtual time', async () => {
    // `expires` is checked against virtual now (08:00): 2 h ahead is fine, 2 days is not.
    const tooLate = await app.request('/api/overrides', post('dave', { blocker: 'company-event', reason: 'ship the fix', expires: '2026-12-02T08:00:00Z' }));
    expect(tooLate.status).toBe(400);
    const res = await app.request('/api/overrides', post('dave', { blocker: 'company-event', region: 'us-east-1', reason: 'ship the fix', expires: '2026-11-30T10:00:00Z' }));
    expect(res.status).toBe(201);
    expect((await state()).now).toBe('2026-11-30T08:00:00.000Z');
    const applied = (await local.backend.events()).filter((e) => e.type === 'override.applied');
    expect(applied).toEqual([
      expect.objectContaining({ time: '2026-11-30T08:00:00.000Z', blocker: 'company-event', region: 'us-east-1', by: 'dave', reason: 'ship the fix', expires: '2026-11-30T10:00:00.000Z' }),
    ]);
  });

  it('follows the wall clock once running: the change arrives at its time', async () => {
    const received = nextEvent((e) => e.type === 'change.received');
    const pace = await app.request('/api/clock', post('dave', { paused: false, speed: 200_000 }));
    expect(pace.status).toBe(200);
    expect(await pace.json()).toMatchObject({ speed: 200_000, paused: false });
    const e = await received;
    expect(e).toMatchObject({ change: 'c1', time: '2026-11-30T09:00:00.000Z', author: 'alice' });
    const view = await state();
    expect(Date.parse(view.now)).toBeGreaterThanOrEqual(Date.parse(e.time));
    expect(view.changes.map((c) => c.id)).toEqual(['c1']);
  });

  it('stops virtual time when paused again', async () => {
    const paused = (await (await app.request('/api/clock', post('dave', { paused: true }))).json()) as { now: string };
    await realWait(300);
    expect((await state()).now).toBe(paused.now);
  });

  it('hands an emergency request and a decision to the operator handler', async () => {
    const request = await app.request('/api/changes/c1/emergency', post('alice', { reason: 'checkout is down' }));
    expect(request.status).toBe(202);
    const now = (await state()).now;
    const decision = await app.request('/api/changes/c1/decision', post('dave', { decision: 'approve', reason: 'go' }));
    // dave is not in the scenario's approvers: refused, recorded, nothing else changes.
    expect([decision.status, ((await decision.json()) as { reason: string }).reason]).toEqual([403, 'not-an-approver']);
    const approvals = (await local.backend.events()).filter((e) => e.type.startsWith('approval.'));
    expect(approvals).toEqual([
      expect.objectContaining({ type: 'approval.requested', time: now, change: 'c1', by: 'alice', reason: 'checkout is down' }),
      expect.objectContaining({ type: 'approval.denied', time: now, change: 'c1', by: 'dave', reason: 'not-an-approver' }),
    ]);
    expect((await state()).changes).toMatchObject([{ id: 'c1', emergency: 'requested' }]);
  });

  it("ends at the scenario's until: simulation.finished there, and later actions are refused with 409", async () => {
    await app.request('/api/clock', post('dave', { paused: false, speed: 10_000_000 }));
    await local.done;
    const events = await local.backend.events();
    expect(events.at(-1)).toMatchObject({ type: 'simulation.finished', time: '2026-12-03T00:00:00.000Z' });
    const view = await state();
    expect(view.now).toBe('2026-12-03T00:00:00.000Z');
    expect(view.changes).toMatchObject([{ id: 'c1', status: 'succeeded' }]);
    const late = await app.request('/api/overrides', post('dave', { blocker: 'time-window', reason: 'late', expires: '2026-12-03T01:00:00Z' }));
    expect([late.status, ((await late.json()) as { reason: string }).reason]).toEqual([409, 'run-ended']);
    // A change that is over: refused before the handler, with the rule it applies too.
    const over = await app.request('/api/changes/c1/emergency', post('alice', { reason: 'late' }));
    expect([over.status, ((await over.json()) as { error: string }).error]).toEqual([409, 'the change has already succeeded; nothing to fast-track']);
  });
});

describe('a live run without actions', () => {
  it("gives the batch run's stream, event for event, up to the batch run's end", async () => {
    const scenario = await simScenario(SCENARIO, pipelines);
    const batch: HandsoffEvent[] = [];
    await simulate({ pipelines, scenario, onEvent: (e) => batch.push(e) });
    const local = startLocalConsole({ pipelines, scenario, approvers: [], speed: 10_000_000 });
    await local.done;
    const live = await local.backend.events();
    const end = Date.parse(batch.at(-2)!.time);
    const strip = (es: HandsoffEvent[]) => es.filter((e) => e.type !== 'simulation.finished' && Date.parse(e.time) <= end);
    expect(batch.some((e) => e.type === 'change.completed')).toBe(true);
    expect(strip(live)).toEqual(strip(batch));
  });
});
