/**
 * The console's one app (docs/console.md): the HTTP API over a ConsoleBackend, and the page.
 * Locally it serves the live simulator (console/local.ts), on AWS it runs in a Lambda
 * function behind API Gateway; only the backend and the identity function differ.
 */
import { Hono, type Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { FieldProblem, OperatorResult } from '../core/operators.ts';
import type { HandsoffEvent } from '../core/events.ts';
import type { Caller, ChangeSummaryView, ConsoleBackend } from './api.ts';
import type { Identify } from './identity.ts';
import { USER_COOKIE, USER_HEADER } from './identity.ts';
import { assets, pageHtml } from './page.ts';
import { pageConfig, type Environment } from './page-config.ts';
import { clockChange, emergencyDecision, emergencyRequest, overrideRequest, type Checked } from './requests.ts';

export interface AppOptions {
  backend: ConsoleBackend;
  /** Who calls (console/identity.ts: localIdentity or awsIdentity). */
  identify: Identify;
  /** Where the page finds the sign-in on AWS (console/page-config.ts); the process's environment unless given. */
  environment?: Environment;
}

type Env = { Variables: { caller: Caller } };

/** An error answer: `error` says what is wrong and what to do, `reason` is the short code. */
const fail = (c: Context, status: 400 | 401 | 403 | 404 | 409 | 500, error: string, reason: string, extra: Record<string, unknown> = {}) =>
  c.json({ error, reason, ...extra }, status);

const invalid = (c: Context, problems: FieldProblem[]) =>
  fail(c, 400, problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join('; '), 'invalid-request', { problems });

/** A request its checks refused: 409 when the state does not allow it, else 400 with every problem. */
const refused = (c: Context, checked: Exclude<Checked<unknown>, { ok: true }>) =>
  'conflict' in checked ? fail(c, 409, checked.conflict, checked.code) : invalid(c, checked.problems);

/** The request's JSON object, or the 400 answer that says what is wrong with the body. */
const bodyOf = async (c: Context): Promise<{ ok: true; body: Record<string, unknown> } | { ok: false; answer: Response }> => {
  // JSON only: a page of another site cannot send that without the browser asking first
  // (and this app answers no such question), so it cannot act in someone's name.
  const type = (c.req.header('Content-Type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/json') {
    return { ok: false, answer: invalid(c, [{ field: '', message: `the body must be JSON, sent with Content-Type: application/json (got ${type === '' ? 'none' : `'${type}'`})` }]) };
  }
  const text = await c.req.text();
  if (text.trim() === '') return { ok: false, answer: invalid(c, [{ field: '', message: 'the body is empty; send a JSON object' }]) };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (e) {
    return { ok: false, answer: invalid(c, [{ field: '', message: `the body is not valid JSON (${(e as Error).message}); send a JSON object` }]) };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { ok: false, answer: invalid(c, [{ field: '', message: 'the body must be a JSON object' }]) };
  }
  return { ok: true, body: body as Record<string, unknown> };
};

/** The operator handler's answer, as it is. */
const answer = (c: Context, r: OperatorResult) => {
  if (r.status === 200 || r.status === 201 || r.status === 202) return c.json(r.body, r.status);
  const { status, ...rest } = r;
  return c.json(rest, status);
};

const jsonLines = (events: readonly HandsoffEvent[]): string => events.map((e) => `${JSON.stringify(e)}\n`).join('');

export const createApp = ({ backend, identify, environment = process.env }: AppOptions): Hono<Env> => {
  const app = new Hono<Env>();
  const config = () => pageConfig(backend.kind, environment);

  app.onError((err, c) => fail(c, 500, `internal error: ${err.message}`, 'internal'));

  // ---- the page
  app.get('/', (c) => c.html(pageHtml('/', config())));
  app.get('/changes/:id', (c) => c.html(pageHtml(c.req.path, config())));
  app.get('/assets/:name', (c) => {
    const asset = assets[c.req.param('name')];
    if (!asset) return fail(c, 404, `no asset ${c.req.param('name')}`, 'not-found');
    return c.body(asset.body, 200, { 'Content-Type': asset.type, 'Cache-Control': 'no-cache' });
  });

  // ---- the API: every call needs an identity
  app.use('/api/*', async (c, next) => {
    const caller = identify(c);
    if (!caller) {
      const how = backend.kind === 'local' ? `send your name in the ${USER_HEADER} header or the ${USER_COOKIE} cookie` : 'sign in (a Cognito ID token in the Authorization header)';
      return fail(c, 401, `who is calling? ${how}`, 'unauthenticated');
    }
    c.set('caller', caller);
    await next();
    // What the API says is true now only (and locally the Date header is virtual time).
    c.header('Cache-Control', 'no-store');
  });

  app.get('/api/state', async (c) => c.json(await backend.state()));

  app.get('/api/changes/:id', async (c) => {
    const change = await backend.change(c.req.param('id'));
    return change ? c.json(change) : fail(c, 404, `no change '${c.req.param('id')}'; GET /api/state lists the changes`, 'unknown-change');
  });

  /** An action on one change: 404 unknown, 400 bad body, else what the operator handler answers. */
  const onChange = (check: (body: Record<string, unknown>, change: ChangeSummaryView, caller: Caller) => Checked<Parameters<ConsoleBackend['act']>[0]>) =>
    async (c: Context<Env>) => {
      const read = await bodyOf(c);
      if (!read.ok) return read.answer;
      const change = await backend.change(c.req.param('id')!);
      if (!change) return fail(c, 404, `no change '${c.req.param('id')}'; GET /api/state lists the changes`, 'unknown-change');
      const checked = check(read.body, change, c.get('caller'));
      if (!checked.ok) return refused(c, checked);
      return answer(c, await backend.act(checked.value, c.get('caller')));
    };
  app.post('/api/changes/:id/emergency', onChange(emergencyRequest));
  app.post('/api/changes/:id/decision', onChange(emergencyDecision));

  app.post('/api/overrides', async (c) => {
    const read = await bodyOf(c);
    if (!read.ok) return read.answer;
    const checked = overrideRequest(read.body, await backend.state(), c.get('caller'));
    if (!checked.ok) return refused(c, checked);
    return answer(c, await backend.act(checked.value, c.get('caller')));
  });

  app.get('/api/events', async (c) => c.body(jsonLines(await backend.events()), 200, { 'Content-Type': 'application/x-ndjson; charset=utf-8' }));

  app.get('/api/events/stream', async (c) => {
    const subscribe = backend.subscribe?.bind(backend);
    if (!subscribe) return fail(c, 404, 'no live event stream here; read GET /api/events', 'not-found');
    // `Last-Event-ID` (an EventSource reconnecting): the events after that one first.
    const last = Number.parseInt(c.req.header('Last-Event-ID') ?? '', 10);
    return streamSSE(c, async (stream) => {
      const pending: Array<{ event: HandsoffEvent; index: number }> = [];
      let wake: (() => void) | undefined;
      let closed = false;
      const unsubscribe = subscribe((event, index) => {
        pending.push({ event, index });
        wake?.();
      });
      stream.onAbort(() => {
        closed = true;
        unsubscribe();
        wake?.();
      });
      if (Number.isInteger(last) && last >= 0) {
        const so = await backend.events();
        const first = pending[0]?.index ?? so.length;
        const replay = so.slice(last + 1, first).map((event, i) => ({ event, index: last + 1 + i }));
        pending.unshift(...replay);
      }
      while (!closed) {
        while (pending.length > 0 && !closed) {
          const { event, index } = pending.shift()!;
          await stream.writeSSE({ id: String(index), data: JSON.stringify(event) });
        }
        if (!closed) await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    });
  });

  app.post('/api/clock', async (c) => {
    const clock = backend.clock?.bind(backend);
    if (!clock) return fail(c, 404, 'the clock is the local simulator\'s; on AWS time is real', 'not-found');
    const read = await bodyOf(c);
    if (!read.ok) return read.answer;
    const checked = clockChange(read.body);
    if (!checked.ok) return refused(c, checked);
    return c.json(await clock(checked.value));
  });

  app.all('/api/*', (c) => fail(c, 404, `no such call: ${c.req.method} ${c.req.path}; see docs/console.md`, 'not-found'));
  return app;
};
