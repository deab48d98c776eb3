/// <reference lib="dom" />
/**
 * The console page's script (bundled for the browser by console/page.ts): it calls only the
 * console's API (docs/console.md) and draws with console/pictures. `/` shows every pipeline,
 * the changes, the blockers and overrides, and the pending emergency requests; `/changes/{id}`
 * the change's timeline, its audit trail and its actions. It updates itself from the event
 * stream (`/api/events/stream`), or by polling where there is none. Who signs in, and how,
 * is console/client/session.ts's: the shell's `data-config` says where the page runs.
 */
import type { ChangeView, PageConfig, StateView } from '../api.ts';
import { esc, pipelineGraph, rolloutTimeline } from '../pictures/index.ts';
import { sessionFor } from './session.ts';

const $ = <T extends HTMLElement>(id: string): T | null => document.getElementById(id) as T | null;

const readConfig = (): PageConfig => {
  try {
    const c = JSON.parse($('main')?.dataset.config ?? '') as PageConfig;
    return c?.mode === 'aws' ? c : { mode: 'local' };
  } catch {
    return { mode: 'local' };
  }
};

const session = sessionFor(readConfig());

interface Answer {
  status: number;
  ok: boolean;
  data: Record<string, unknown> | null;
}

const api = async (method: 'GET' | 'POST', url: string, body?: unknown): Promise<Answer> => {
  const res = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers: { ...session.headers(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data: Record<string, unknown> | null = null;
  try {
    data = (await res.json()) as Record<string, unknown>;
  } catch {
    data = null;
  }
  return { status: res.status, ok: res.ok, data };
};

/** The API's words for a refusal: its `reason` code, its message, and every field problem. */
const refusal = (a: Answer): string => {
  const d = a.data ?? {};
  const problems = Array.isArray(d.problems) ? (d.problems as Array<{ field?: string; message?: string }>).map((p) => `${p.field ? `${p.field}: ` : ''}${p.message ?? ''}`) : [];
  const message = typeof d.error === 'string' ? d.error : `the API answered ${a.status}`;
  const list = problems.length > 1 ? `<ul>${problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : '';
  return `<strong>Refused (${a.status}${typeof d.reason === 'string' ? `, ${esc(d.reason)}` : ''})</strong>: ${esc(message)}${list}`;
};

const say = (where: HTMLElement | null, a: Answer, done: string): void => {
  if (!where) return;
  where.innerHTML = a.ok ? `<p class="ok" role="status">${esc(done)}</p>` : `<div role="alert">${refusal(a)}</div>`;
};

const statusCell = (s: string): string => `<span class="status status-${esc(s)}">${esc(s)}</span>`;
const when = (iso: string): string => esc(iso.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC'));

const showSignedIn = (): void => {
  const who = $('whoami');
  const me = session.who();
  if (who) who.textContent = me ? `Signed in as ${me.name}${me.approver ? ' (approver)' : ''}` : 'Not signed in';
};

const needSignIn = (a: Answer, into: HTMLElement): boolean => {
  if (a.status !== 401) return false;
  session.expired();
  showSignedIn();
  into.innerHTML = `<div role="alert">${refusal(a)}. ${esc(session.again)}</div>`;
  return true;
};

// ---- `/`

const renderIndex = (main: HTMLElement, s: StateView): void => {
  const pending = s.changes.filter((c) => c.emergency === 'requested');
  main.innerHTML = `
<h1>Pipelines</h1>
<p class="muted">Now: ${when(s.now)}</p>
<div class="picture">${pipelineGraph(s)}</div>
<h2>Changes</h2>
<table class="changes"><thead><tr><th>Change</th><th>Pipeline</th><th>Author</th><th>Status</th><th>Stage</th><th>Region</th><th>Held by</th><th>Emergency</th></tr></thead><tbody>
${s.changes
  .map(
    (c) =>
      `<tr data-change="${esc(c.id)}"><td><a href="/changes/${encodeURIComponent(c.id)}">${esc(c.id)}</a></td><td>${esc(c.pipeline)}</td><td>${esc(c.author)}</td><td>${statusCell(c.status)}</td><td>${esc(c.stage ?? '-')}</td><td>${esc(c.region ?? '-')}</td><td>${c.blocked ? `${esc(c.blocked.reason)}${c.blocked.until ? ` until ${when(c.blocked.until)}` : ''}` : '-'}</td><td>${esc(c.emergency ?? '-')}</td></tr>`,
  )
  .join('')}
</tbody></table>
<h2>Blockers and overrides</h2>
${
  s.blockers.length
    ? `<table class="blockers"><thead><tr><th>Blocker</th><th>Region</th><th>State</th><th>Override</th></tr></thead><tbody>${s.blockers
        .map(
          (b) =>
            `<tr><td>${esc(b.blocker)}</td><td>${esc(b.region ?? 'every region')}</td><td>${esc(b.state)}</td><td>${b.override ? `by ${esc(b.override.by)} until ${when(b.override.expires)}: ${esc(b.override.reason)}${b.override.change ? ` (change ${esc(b.override.change)})` : ''}` : '-'}</td></tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="muted">No blocker holds now.</p>'
}
<h2>Emergency requests pending</h2>
${pending.length ? `<ul class="pending">${pending.map((c) => `<li><a href="/changes/${encodeURIComponent(c.id)}">${esc(c.id)}</a> by ${esc(c.author)} (${esc(c.status)})</li>`).join('')}</ul>` : '<p class="muted">None.</p>'}
`;
};

const index = async (main: HTMLElement): Promise<void> => {
  const a = await api('GET', '/api/state');
  if (needSignIn(a, main)) return;
  if (!a.ok) {
    main.innerHTML = `<div role="alert">${refusal(a)}</div>`;
    return;
  }
  renderIndex(main, a.data as unknown as StateView);
};

// ---- `/changes/{id}`

const FORMS = (id: string): string => `
<h2>Actions</h2>
<div class="actions">
<form id="emergency-form" aria-label="Emergency request">
  <label>Reason<input name="reason" required></label>
  <button type="submit">Request emergency</button>
</form>
<form id="decision-form" aria-label="Emergency decision">
  <label>Reason<input name="reason"></label>
  <button type="submit" name="decision" value="approve">Approve</button>
  <button type="submit" name="decision" value="deny" class="secondary">Deny</button>
</form>
<form id="override-form" aria-label="Override a blocker">
  <label>Blocker<input name="blocker" list="blockers" placeholder="team-alarm" required></label>
  <label>Region<input name="region" list="regions" placeholder="every region"></label>
  <label>Reason<input name="reason" required></label>
  <label>Expires<input name="expires" placeholder="2026-12-01T18:00:00Z" required></label>
  <button type="submit">Override</button>
  <datalist id="blockers"><option value="team-alarm"></option><option value="company-event"></option><option value="time-window"></option></datalist>
  <datalist id="regions"></datalist>
</form>
<div id="action-result" aria-live="polite"></div>
</div>
<input type="hidden" id="change-id" value="${esc(id)}">`;

const renderChange = (c: ChangeView, now: string | undefined): void => {
  const head = $('change-head');
  if (head) {
    head.innerHTML = `<h1>Change ${esc(c.id)}</h1>
<table class="summary"><tbody>
<tr><th>Pipeline</th><td>${esc(c.pipeline)}</td><th>Author</th><td>${esc(c.author)}</td></tr>
<tr><th>Status</th><td>${statusCell(c.status)}</td><th>Where</th><td>${esc(c.stage ?? 'not started')}${c.region ? ` in ${esc(c.region)}` : ''}</td></tr>
<tr><th>Held by</th><td>${c.blocked ? `${esc(c.blocked.reason)} since ${when(c.blocked.since)}${c.blocked.until ? ` until ${when(c.blocked.until)}` : ''}` : '-'}</td><th>Emergency</th><td>${esc(c.emergency ?? '-')}</td></tr>
</tbody></table>`;
  }
  const pic = $('change-timeline');
  if (pic) pic.innerHTML = c.audit.length ? rolloutTimeline(c, now ? { now } : {}) : '<p class="muted">Nothing has happened to this change yet.</p>';
  const audit = $('change-audit');
  if (audit) {
    audit.innerHTML = `<table class="audit"><thead><tr><th>Time (UTC)</th><th>Event</th><th>Who</th><th>Why</th><th>Where</th></tr></thead><tbody>${c.audit
      .map((e) => {
        const who = typeof e.by === 'string' ? e.by : typeof e.author === 'string' ? e.author : '';
        const why = typeof e.reason === 'string' ? e.reason : typeof e.alarm === 'string' ? e.alarm : '';
        const where = [e.stage, e.region, e.unit ?? (e.target === 'onebox' ? 'one-box' : undefined)].filter(Boolean).join(' · ');
        return `<tr data-type="${esc(e.type)}"><td>${when(e.time)}</td><td>${esc(e.type)}</td><td>${esc(who)}</td><td>${esc(why)}</td><td>${esc(where)}</td></tr>`;
      })
      .join('')}</tbody></table>`;
  }
};

let regionsShown = false;

const loadChange = async (main: HTMLElement, id: string): Promise<void> => {
  const [a, s] = await Promise.all([api('GET', `/api/changes/${encodeURIComponent(id)}`), api('GET', '/api/state')]);
  const head = $('change-head');
  if (!head) return;
  if (a.status === 401) {
    needSignIn(a, head);
    return;
  }
  if (!a.ok) {
    head.innerHTML = `<h1>Change ${esc(id)}</h1><div role="alert">${refusal(a)}</div>`;
    return;
  }
  const state = s.ok ? (s.data as unknown as StateView) : undefined;
  const c = a.data as unknown as ChangeView;
  renderChange(c, state?.now);
  const expires = main.querySelector<HTMLInputElement>('#override-form input[name=expires]');
  // A suggestion, not a value: virtual time runs on while someone types (an hour in 6 s at the default pace).
  if (state && expires && !expires.value) expires.placeholder = `${new Date(Date.parse(state.now) + 12 * 3_600_000).toISOString().slice(0, 16)}:00Z`;
  if (state && !regionsShown) {
    const p = state.pipelines.find((x) => x.name === c.pipeline);
    const list = $('regions');
    if (p && list) {
      list.innerHTML = [...new Set(p.waves.flatMap((w) => w.regions))].map((r) => `<option value="${esc(r)}"></option>`).join('');
      regionsShown = true;
    }
  }
};

const field = (form: HTMLFormElement, name: string): string => (form.elements.namedItem(name) as HTMLInputElement | null)?.value.trim() ?? '';

const changePage = (main: HTMLElement, id: string): (() => Promise<void>) => {
  main.innerHTML = `<p><a href="/">← All pipelines</a></p><div id="change-head"><h1>Change ${esc(id)}</h1></div>
<h2>Rollout timeline</h2><div class="picture" id="change-timeline"></div>${FORMS(id)}
<h2>Audit trail</h2><div id="change-audit"></div>`;
  const refresh = () => loadChange(main, id);
  const result = $('action-result');
  const base = `/api/changes/${encodeURIComponent(id)}`;
  $<HTMLFormElement>('emergency-form')?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const a = await api('POST', `${base}/emergency`, { reason: field(form, 'reason') });
    say(result, a, 'Emergency requested.');
    await refresh();
  });
  $<HTMLFormElement>('decision-form')?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const decision = ((ev as SubmitEvent).submitter as HTMLButtonElement | null)?.value === 'deny' ? 'deny' : 'approve';
    const reason = field(form, 'reason');
    const a = await api('POST', `${base}/decision`, { decision, ...(reason ? { reason } : {}) });
    say(result, a, decision === 'approve' ? 'Emergency approved.' : 'Emergency denied.');
    await refresh();
  });
  $<HTMLFormElement>('override-form')?.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget as HTMLFormElement;
    const c = await api('GET', base);
    const pipeline = typeof c.data?.pipeline === 'string' ? c.data.pipeline : undefined;
    const region = field(form, 'region');
    const body = { blocker: field(form, 'blocker'), ...(region ? { region } : {}), ...(pipeline ? { pipeline } : {}), change: id, reason: field(form, 'reason'), expires: field(form, 'expires') };
    const a = await api('POST', '/api/overrides', body);
    say(result, a, `Override applied: ${body.blocker}${region ? ` in ${region}` : ''} until ${body.expires}.`);
    await refresh();
  });
  return refresh;
};

// ---- start

const start = async (): Promise<void> => {
  const main = $('main');
  if (!main) return;
  const path = main.dataset.path ?? location.pathname;
  const m = /^\/changes\/([^/]+)\/?$/.exec(path);
  const refresh = m ? changePage(main, decodeURIComponent(m[1]!)) : () => index(main);
  const problem = (message: string): void => {
    let box = $('signin-problem');
    if (!box) {
      box = document.createElement('div');
      box.id = 'signin-problem';
      main.before(box);
    }
    box.innerHTML = `<div role="alert"><strong>Not signed in</strong>: ${esc(message)}</div>`;
  };
  const stay = await session.start(() => {
    $('signin-problem')?.remove();
    showSignedIn();
    void refresh();
  }, problem);
  if (!stay) return;
  showSignedIn();
  // Refreshes at most once a second, however fast the events come.
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = 0;
  const soon = (): void => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      last = Date.now();
      void refresh();
    }, Math.max(0, 1000 - (Date.now() - last)));
  };
  void refresh();
  if (session.live && typeof EventSource !== 'undefined') {
    const es = new EventSource('/api/events/stream');
    es.onmessage = soon;
    es.addEventListener('event', soon);
  }
  // Where there is no stream (or it drops), polling keeps the page current.
  setInterval(soon, 10_000);
};

void start();
