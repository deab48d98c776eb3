/**
 * The console's API rules (docs/console.md) through `app.request()` over a fake backend:
 * identity (401), bodies (400 naming every field), unknown changes (404), the operator
 * handler's answers passed on as they are (201/202/200, 403 with the reason, 409), the
 * event stream as JSON Lines and as server-sent events, the clock, the page.
 */
import { describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import type { OperatorAction, OperatorResult } from '../../core/operators.ts';
import type { Caller, ChangeView, ConsoleBackend, StateView } from '../../console/api.ts';
import { createApp } from '../../console/app.ts';
import { awsIdentity, callerFromClaims, groupsOf, localIdentity } from '../../console/identity.ts';

const NOW = '2026-12-01T12:00:00.000Z';

const c1: ChangeView = {
  id: 'c1',
  pipeline: 'storefront-api',
  author: 'alice',
  status: 'in-flight',
  stage: 'wave-1',
  region: 'sa-east-1',
  emergency: null,
  blocked: null,
  audit: [{ time: NOW, type: 'change.received', pipeline: 'storefront-api', change: 'c1', author: 'alice' }],
};

/** Over already, and one whose emergency request waits for a decision. */
const c0: ChangeView = { ...c1, id: 'c0', status: 'succeeded', stage: 'wave-3', region: 'us-west-2' };
const c3: ChangeView = { ...c1, id: 'c3', emergency: 'requested' };

const fakeBackend = (kind: 'local' | 'aws', answer: (a: OperatorAction) => OperatorResult = () => ({ status: 202, body: { ok: true } })) => {
  const acted: Array<{ action: OperatorAction; caller: Caller }> = [];
  const events: HandsoffEvent[] = [
    { time: NOW, type: 'change.received', pipeline: 'storefront-api', change: 'c1', author: 'alice' },
    { time: NOW, type: 'stage.started', pipeline: 'storefront-api', change: 'c1', stage: 'source' },
  ];
  const listeners = new Set<(e: HandsoffEvent, i: number) => void>();
  let pace = { speed: 600, paused: false };
  const state: StateView = {
    now: NOW,
    pipelines: [{ name: 'storefront-api', waves: [{ name: 'wave-1', regions: ['sa-east-1', 'us-east-1'] }] }],
    changes: [c1],
    blockers: [],
  };
  const backend: ConsoleBackend = {
    kind,
    state: async () => state,
    change: async (id) => (id === 'c1' ? c1 : id === 'c0' ? c0 : id === 'c3' ? c3 : undefined),
    act: async (action, caller) => {
      acted.push({ action, caller });
      return answer(action);
    },
    events: async () => [...events],
    ...(kind === 'local'
      ? {
          subscribe: (l: (e: HandsoffEvent, i: number) => void) => {
            listeners.add(l);
            return () => listeners.delete(l);
          },
          clock: async (change: { speed?: number; paused?: boolean }) => {
            pace = { ...pace, ...change };
            return { ...pace, now: NOW };
          },
        }
      : {}),
  };
  const emit = (e: HandsoffEvent) => {
    events.push(e);
    for (const l of listeners) l(e, events.length - 1);
  };
  return { backend, acted, emit, listeners };
};

const local = (answer?: (a: OperatorAction) => OperatorResult) => {
  const fake = fakeBackend('local', answer);
  return { ...fake, app: createApp({ backend: fake.backend, identify: localIdentity(['pat', 'Quinn']) }) };
};

const as = (name: string | undefined, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...(name ? { 'X-Handsoff-User': name } : {}), ...(init.headers as Record<string, string>) } });
const post = (name: string | undefined, body: unknown): RequestInit => as(name, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });

describe('identity', () => {
  it('answers 401 to every /api call without a name, saying how to give one', async () => {
    const { app, acted } = local();
    for (const [path, init] of [
      ['/api/state', {}],
      ['/api/changes/c1', {}],
      ['/api/events', {}],
      ['/api/changes/c1/emergency', post(undefined, { reason: 'x' })],
      ['/api/overrides', post(undefined, {})],
      ['/api/clock', post(undefined, { paused: true })],
    ] as const) {
      const res = await app.request(path, init);
      expect(res.status, path).toBe(401);
      expect(await res.json()).toEqual({ error: expect.stringContaining('X-Handsoff-User'), reason: 'unauthenticated' });
    }
    // A blank or control-character name is no name.
    expect((await app.request('/api/state', as('   '))).status).toBe(401);
    expect((await app.request('/api/state', as('a\u0001b'))).status).toBe(401);
    expect(acted).toEqual([]);
  });

  it('takes the name from the header or the cookie (URI-encoded outside ASCII); approvers are the listed names, case-insensitively', async () => {
    const { app, acted } = local();
    expect((await app.request('/api/state', as('dave'))).status).toBe(200);
    expect((await app.request('/api/state', { headers: { Cookie: 'handsoff-user=PAT' } })).status).toBe(200);
    await app.request('/api/changes/c1/emergency', post('Zo%C3%AB', { reason: 'urgent' }));
    await app.request('/api/changes/c1/decision', { method: 'POST', body: JSON.stringify({ decision: 'approve', reason: 'go' }), headers: { Cookie: 'handsoff-user=quinn', 'Content-Type': 'application/json' } });
    await app.request('/api/changes/c1/decision', post('dave', { decision: 'approve', reason: 'go' }));
    expect(acted.map((a) => a.caller)).toEqual([
      { name: 'Zoë', approver: false },
      { name: 'quinn', approver: true },
      { name: 'dave', approver: false },
    ]);
    // The caller is the action's `by`, and the approvers group as the caller's identity tells it.
    expect(acted.map((a) => a.action)).toEqual([
      { action: 'emergency-request', change: 'c1', pipeline: 'storefront-api', by: 'Zoë', reason: 'urgent' },
      { action: 'emergency-decision', change: 'c1', pipeline: 'storefront-api', by: 'quinn', decision: 'approve', reason: 'go', approvers: ['quinn'], requestId: expect.any(String) },
      { action: 'emergency-decision', change: 'c1', pipeline: 'storefront-api', by: 'dave', decision: 'approve', reason: 'go', approvers: [], requestId: expect.any(String) },
    ]);
    // Each POST is its own attempt (a second refused try is recorded again).
    const [first, second] = acted.slice(1).map((a) => (a.action as { requestId?: string }).requestId);
    expect(first).not.toEqual(second);
  });

  it('on AWS, reads the Cognito claims the JWT authorizer passed: username and the approvers group', async () => {
    expect(groupsOf('[approvers developers]')).toEqual(['approvers', 'developers']);
    expect(groupsOf(['developers'])).toEqual(['developers']);
    expect(groupsOf('["approvers"]')).toEqual(['approvers']);
    expect(callerFromClaims({ 'cognito:username': 'pat', 'cognito:groups': '[approvers]' })).toEqual({ name: 'pat', approver: true });
    expect(callerFromClaims({ 'cognito:username': 'dave' })).toEqual({ name: 'dave', approver: false });
    expect(callerFromClaims({ sub: 'x' })).toBeUndefined();

    const fake = fakeBackend('aws');
    const app = createApp({ backend: fake.backend, identify: awsIdentity });
    const event = (claims?: Record<string, unknown>) => ({ event: { requestContext: { authorizer: claims ? { jwt: { claims } } : {} } } });
    // The local header means nothing on AWS.
    expect((await app.request('/api/state', as('pat'), event())).status).toBe(401);
    expect((await app.request('/api/state', {}, event({ 'cognito:username': 'pat', 'cognito:groups': '[approvers]' }))).status).toBe(200);
    await app.request('/api/changes/c1/decision', post(undefined, { decision: 'deny', reason: 'not now' }), event({ 'cognito:username': 'pat', 'cognito:groups': '[approvers]' }));
    expect(fake.acted[0]!.action).toMatchObject({ by: 'pat', approvers: ['pat'], decision: 'deny' });
  });
});

describe('bodies and changes', () => {
  it('answers 400 to a body that is not a JSON object sent as JSON, saying so', async () => {
    const { app, acted } = local();
    for (const body of ['{"reason":', '', '[1]', 'null']) {
      const res = await app.request('/api/changes/c1/emergency', post('alice', body));
      expect(res.status, body).toBe(400);
      const json = (await res.json()) as { error: string; reason: string };
      expect(json.reason).toBe('invalid-request');
      expect(json.error).toMatch(/JSON|empty/);
    }
    // A form post (what a page of another site may send without asking) is no JSON body.
    const form = await app.request('/api/changes/c1/emergency', as('alice', { method: 'POST', body: 'reason=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }));
    expect(form.status).toBe(400);
    expect(((await form.json()) as { error: string }).error).toContain('Content-Type: application/json');
    expect(acted).toEqual([]);
  });

  it('answers 404 for an unknown change, on reads and actions alike', async () => {
    const { app, acted } = local();
    expect((await app.request('/api/changes/nope', as('dave'))).status).toBe(404);
    const res = await app.request('/api/changes/nope/emergency', post('dave', { reason: 'x' }));
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: expect.stringContaining("no change 'nope'"), reason: 'unknown-change' });
    expect((await app.request('/api/changes/nope/decision', post('pat', { decision: 'approve', reason: 'x' }))).status).toBe(404);
    expect(acted).toEqual([]);
  });

  it('returns the change with its audit', async () => {
    const { app } = local();
    const res = await app.request('/api/changes/c1', as('dave'));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(await res.json()).toEqual(c1);
  });

  it('answers 400 to an emergency request without a reason, and to a decision that is neither approve nor deny', async () => {
    const { app, acted } = local();
    const noReason = await app.request('/api/changes/c1/emergency', post('alice', {}));
    expect(noReason.status).toBe(400);
    expect(((await noReason.json()) as { problems: unknown[] }).problems).toEqual([{ field: 'reason', message: expect.stringContaining("missing required field 'reason'") }]);
    const bad = await app.request('/api/changes/c1/decision', post('pat', { decision: 'maybe', by: 'someone' }));
    expect(bad.status).toBe(400);
    const fields = ((await bad.json()) as { problems: Array<{ field: string }> }).problems.map((p) => p.field);
    expect(fields.sort()).toEqual(['by', 'decision', 'reason']);
    expect(acted).toEqual([]);
  });

  it('answers 409 at once to an emergency request for a change that is over or already has one pending', async () => {
    const { app, acted } = local();
    const over = await app.request('/api/changes/c0/emergency', post('alice', { reason: 'urgent' }));
    expect([over.status, await over.json()]).toEqual([409, { error: 'the change has already succeeded; nothing to fast-track', reason: 'change-over' }]);
    const pending = await app.request('/api/changes/c3/emergency', post('alice', { reason: 'urgent' }));
    expect(pending.status).toBe(409);
    expect(((await pending.json()) as { error: string }).error).toMatch(/already pending/);
    expect(acted).toEqual([]);
  });

  it('answers 400 to an override naming every bad field at once, checked against the known regions, pipelines and changes', async () => {
    const { app, acted } = local();
    const res = await app.request('/api/overrides', post('dave', { blocker: 'lane', region: 'mars-1', pipeline: 'nope', change: 'c9', expires: '2026-12-03T12:00:00Z', colour: 'red' }));
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: string; reason: string; problems: Array<{ field: string; message: string }> };
    expect(body.problems.map((p) => p.field).sort()).toEqual(['blocker', 'change', 'colour', 'expires', 'pipeline', 'reason', 'region']);
    expect(body.error).toContain('at most 24 h');
    expect(acted).toEqual([]);
  });

  it('passes a valid action to the backend with the caller as `by`, and answers what the operator handler answered', async () => {
    const answers: OperatorResult[] = [
      { status: 201, body: { id: 'o1' } },
      { status: 202, body: { change: 'c1', emergency: 'requested' } },
      { status: 200, body: { change: 'c1', emergency: 'approved' } },
      { status: 403, error: 'you asked for it: someone else decides', reason: 'self-approval' },
      { status: 409, error: 'no request is pending', reason: 'no-pending-request' },
    ];
    const { app, acted } = local(() => answers[acted.length - 1]!);
    const override = { blocker: 'company-event', region: 'us-east-1', pipeline: null, change: 'c1', reason: 'ship the fix', expires: '2026-12-01T18:00:00Z' };
    const r1 = await app.request('/api/overrides', post('dave', override));
    expect([r1.status, await r1.json()]).toEqual([201, { id: 'o1' }]);
    expect(acted[0]!.action).toEqual({ action: 'override', blocker: 'company-event', region: 'us-east-1', change: 'c1', by: 'dave', reason: 'ship the fix', expires: '2026-12-01T18:00:00Z' });
    const r2 = await app.request('/api/changes/c1/emergency', post('alice', { reason: ' checkout is down ' }));
    expect([r2.status, await r2.json()]).toEqual([202, { change: 'c1', emergency: 'requested' }]);
    expect(acted[1]!.action).toEqual({ action: 'emergency-request', change: 'c1', pipeline: 'storefront-api', by: 'alice', reason: 'checkout is down' });
    const r3 = await app.request('/api/changes/c1/decision', post('pat', { decision: 'approve', reason: 'ok' }));
    expect([r3.status, await r3.json()]).toEqual([200, { change: 'c1', emergency: 'approved' }]);
    const r4 = await app.request('/api/changes/c1/decision', post('alice', { decision: 'approve', reason: 'mine' }));
    expect([r4.status, await r4.json()]).toEqual([403, { error: 'you asked for it: someone else decides', reason: 'self-approval' }]);
    const r5 = await app.request('/api/changes/c1/decision', post('pat', { decision: 'deny', reason: 'late' }));
    expect([r5.status, await r5.json()]).toEqual([409, { error: 'no request is pending', reason: 'no-pending-request' }]);
  });
});

describe('events', () => {
  it('gives the stream so far as JSON Lines, one event a line', async () => {
    const { app, emit } = local();
    emit({ time: NOW, type: 'stage.completed', pipeline: 'storefront-api', change: 'c1', stage: 'source' });
    const res = await app.request('/api/events', as('dave'));
    expect(res.headers.get('content-type')).toMatch(/application\/x-ndjson/);
    const text = await res.text();
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trim().split('\n').map((l) => JSON.parse(l).type)).toEqual(['change.received', 'stage.started', 'stage.completed']);
  });

  it('sends new events as server-sent events, after the last one the client saw when it says', async () => {
    const { app, emit, listeners } = local();
    const res = await app.request('/api/events/stream', as('dave', { headers: { 'Last-Event-ID': '0' } }));
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const readUntil = async (n: number) => {
      while (text.split('\n\n').length - 1 < n) text += new TextDecoder().decode((await reader.read()).value);
    };
    // Replayed: event 1 (the client saw 0).
    await readUntil(1);
    emit({ time: NOW, type: 'stage.completed', pipeline: 'storefront-api', change: 'c1', stage: 'source' });
    await readUntil(2);
    const messages = text.trim().split('\n\n').map((m) => Object.fromEntries(m.split('\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()])));
    expect(messages.map((m) => [m.id, JSON.parse(m.data!).type])).toEqual([
      ['1', 'stage.started'],
      ['2', 'stage.completed'],
    ]);
    await reader.cancel();
    // The stream's listener goes with it.
    for (let i = 0; i < 10 && listeners.size > 0; i++) await new Promise((r) => setImmediate(r));
    expect(listeners.size).toBe(0);
  });

  it('has no live stream and no clock on AWS (404), and the events so far still', async () => {
    const fake = fakeBackend('aws');
    const app = createApp({ backend: fake.backend, identify: () => ({ name: 'dave', approver: false }) });
    expect((await app.request('/api/events/stream')).status).toBe(404);
    expect((await app.request('/api/clock', post(undefined, { paused: true }))).status).toBe(404);
    expect((await app.request('/api/events')).status).toBe(200);
  });
});

describe('the clock and the page', () => {
  it('changes the pace locally, and answers 400 naming a bad speed or paused', async () => {
    const { app } = local();
    const ok = await app.request('/api/clock', post('dave', { speed: 60, paused: true }));
    expect([ok.status, await ok.json()]).toEqual([200, { speed: 60, paused: true, now: NOW }]);
    const bad = await app.request('/api/clock', post('dave', { speed: -1, paused: 'yes' }));
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { problems: Array<{ field: string }> }).problems.map((p) => p.field)).toEqual(['speed', 'paused']);
    expect((await app.request('/api/clock', post('dave', {}))).status).toBe(400);
  });

  it('serves the page at / and /changes/{id} without an identity; unknown /api calls are 404', async () => {
    const { app } = local();
    for (const path of ['/', '/changes/c1']) {
      const res = await app.request(path);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      expect(await res.text()).toMatch(/<html/);
    }
    expect((await app.request('/api/nothing', as('dave'))).status).toBe(404);
  });
});
