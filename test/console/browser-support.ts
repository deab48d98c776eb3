/**
 * The browser tests' support: Debian's chromium (never a downloaded browser) driven by
 * playwright-core, with a fresh profile and nothing that reaches the network; and a fake
 * console backend (the demo's stream up to a moment, with operator actions answered as the
 * contract of docs/console.md says), served by the real app on 127.0.0.1.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { chromium, type BrowserContext } from 'playwright-core';
import { WALL_CLOCK_LIMIT_MS } from '../../vitest.config.ts';
import type { HandsoffEvent } from '../../core/events.ts';
import { FINAL_STATUSES, judgeDecider, type OperatorAction, type OperatorResult } from '../../core/operators.ts';
import type { ConsoleBackend, PipelineView } from '../../console/api.ts';
import { createApp } from '../../console/app.ts';
import { localIdentity, type Identify } from '../../console/identity.ts';
import type { Environment } from '../../console/page-config.ts';
import { foldChange, foldState } from '../../console/state.ts';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Chromium with a fresh user data dir; every request that leaves 127.0.0.1 is recorded (and aborted). */
export const launch = async (): Promise<Browser & { outside: string[] }> => {
  const dir = mkdtempSync(join(tmpdir(), 'handsoff-chromium-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1400, height: 900 } });
  // Playwright's own limits (30 s a step) are wall-clock limits a loaded machine can trip: the suite's one limit instead.
  context.setDefaultTimeout(WALL_CLOCK_LIMIT_MS / 2);
  context.setDefaultNavigationTimeout(WALL_CLOCK_LIMIT_MS / 2);
  const outside: string[] = [];
  await context.route(/.*/, (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1' || url.protocol === 'data:' || url.protocol === 'about:') return route.continue();
    outside.push(route.request().url());
    return route.abort();
  });
  return {
    context,
    outside,
    close: async () => {
      await context.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/**
 * A backend over a fixed stream: the state and changes folded from it, and the operator
 * actions answered by the core's rules (the operator handler's contract), each appending
 * its event, as the simulator's would.
 */
export const fakeBackend = (events: HandsoffEvent[], pipelines: PipelineView[], nowMs: number): ConsoleBackend & { events: () => Promise<HandsoffEvent[]> } => {
  const listeners = new Set<(e: HandsoffEvent, i: number) => void>();
  const now = new Date(nowMs).toISOString();
  const emit = (e: HandsoffEvent) => {
    events.push(e);
    for (const l of listeners) l(e, events.length - 1);
  };
  const act = async (a: OperatorAction): Promise<OperatorResult> => {
    if (a.action === 'override') {
      emit({ time: now, type: 'override.applied', pipeline: a.pipeline, change: a.change, region: a.region, blocker: a.blocker, by: a.by, reason: a.reason, expires: a.expires });
      return { status: 201, body: { blocker: a.blocker, region: a.region, by: a.by, expires: a.expires } };
    }
    const change = foldChange(events, a.change);
    if (!change) return { status: 404, error: `no change '${a.change}'`, reason: 'unknown-change' };
    if (a.action === 'emergency-request') {
      if ((FINAL_STATUSES as readonly string[]).includes(change.status)) return { status: 409, error: `change ${a.change} has already ${change.status}`, reason: 'final' };
      emit({ time: now, type: 'approval.requested', pipeline: change.pipeline, change: a.change, by: a.by, reason: a.reason });
      return { status: 202, body: { change: a.change, emergency: 'requested' } };
    }
    const request = [...change.audit].reverse().find((e) => e.type === 'approval.requested');
    if (change.emergency !== 'requested' || !request) return { status: 409, error: `no emergency request is pending for ${a.change}`, reason: 'no-request' };
    const refused = judgeDecider(a.by, { approvers: a.approvers, requester: String(request.by), author: change.author });
    if (refused) {
      emit({ time: now, type: 'approval.denied', pipeline: change.pipeline, change: a.change, by: a.by, reason: refused });
      return { status: 403, error: refused === 'not-an-approver' ? `${a.by} is not in the approvers group` : `${a.by} may not decide on their own request or change`, reason: refused };
    }
    emit({ time: now, type: a.decision === 'approve' ? 'approval.granted' : 'approval.denied', pipeline: change.pipeline, change: a.change, by: a.by, reason: a.reason });
    return { status: 200, body: { change: a.change, emergency: a.decision === 'approve' ? 'approved' : 'denied' } };
  };
  return {
    kind: 'local',
    state: async () => foldState({ events, pipelines, nowMs }),
    change: async (id) => foldChange(events, id),
    act,
    events: async () => [...events],
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
};

/** The real app over `backend`, on 127.0.0.1 and a free port: locally who the approvers name, or with the identity and environment given. */
export const serveApp = async (backend: ConsoleBackend, who: string[] | { identify: Identify; environment: Environment }): Promise<{ url: string; close(): Promise<void> }> => {
  const app = createApp({ backend, ...(Array.isArray(who) ? { identify: localIdentity(who) } : who) });
  const server: ServerType = await new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        (server as { closeAllConnections?: () => void }).closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
};

/** `handsoff console` as a user starts it (bin/handsoff.mjs), on 127.0.0.1 and a free port. */
export const startConsole = async (args: string[]): Promise<{ url: string; stop(): Promise<number | null> }> => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const child = spawn(process.execPath, [join(root, 'bin/handsoff.mjs'), 'console', '--port', '0', ...args], { cwd: root, env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      stdout += d;
      const m = /^console: (http:\/\/\S+?)\/?\n/m.exec(stdout);
      if (m) resolve(m[1]!);
    });
    child.stderr.on('data', (d) => (stderr += d));
    void closed.then((code) => reject(new Error(`handsoff console exited ${code}: ${stderr}`)));
  });
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      return closed;
    },
  };
};

