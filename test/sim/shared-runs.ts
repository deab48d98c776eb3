/**
 * Vitest global setup for the projects whose files run the CLI (the isolated one and `cli`),
 * one for both:
 *
 * - one directory per `vitest run` where the CLI harness keeps the output of each distinct CLI
 *   run (test/sim/cli-harness.ts, `runShared`), so test files that run the same simulation or
 *   plan share one run. Removed when the run ends; a new run starts empty, so a change to the
 *   code is never answered from an older run.
 * - warm CLI processes, one per core (test/sim/warm-cli.mjs), that run those shared runs: the
 *   CLI's own `main` from its build, in a process that stays up between runs, so a run does not
 *   pay Node's start, the bundle's load and the JIT's warm-up again. The test files reach them
 *   through a loopback HTTP endpoint that hands each run to an idle process, in arrival order.
 *   A run that a test must see in a process of its own (an exit code, a comparison of two
 *   runs) uses `runCli`, a fresh `bin/handsoff.mjs`.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The directory of the runs shared by the test files of this `vitest run`. */
    sharedRuns: string;
    /** The loopback URL that runs a CLI invocation in a warm process: POST `{ args }`, answered `{ code, stdout, stderr }`. */
    warmCli: string;
  }
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliOutput {
  code: number;
  stdout: string;
  stderr: string;
}

interface Job {
  args: string[];
  done: (out: CliOutput) => void;
}

/**
 * A pool of warm CLI processes, each running one job at a time. A process that exits after it
 * was ready is replaced, and the run it had fails with the reason (exit code -1). A process
 * that exits before it is ready (the build failed, the CLI did not load) is not started again:
 * the first one fails the suite's set-up, and a replacement that fails answers the runs still
 * waiting once no process is left, so nothing waits for a process that will never come.
 */
const pool = async (size: number) => {
  const waiting: Job[] = [];
  const idle: Warm[] = [];
  const live = new Set<Warm>();
  let closing = false;

  class Warm {
    private readonly child: ChildProcess;
    private job: Job | undefined;
    private started = false;
    readonly ready: Promise<void>;
    constructor() {
      live.add(this);
      this.child = fork(join(ROOT, 'test/sim/warm-cli.mjs'), [], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      this.ready = new Promise((resolve, reject) => {
        this.child.on('message', (m: { ready?: boolean } & Partial<CliOutput>) => {
          if (m.ready) {
            this.started = true;
            resolve();
            return this.free();
          }
          const job = this.job!;
          this.job = undefined;
          job.done({ code: m.code!, stdout: m.stdout!, stderr: m.stderr! });
          this.free();
        });
        this.child.on('exit', (code, signal) => {
          live.delete(this);
          if (closing) return;
          const why = `the warm CLI process exited (${signal ?? code})`;
          if (!this.started) {
            reject(new Error(`${why} before it was ready; its stderr above says why`));
            if (live.size === 0) for (const job of waiting.splice(0)) job.done({ code: -1, stdout: '', stderr: `${why} before it was ready, and no other is left` });
            return;
          }
          if (idle.includes(this)) idle.splice(idle.indexOf(this), 1);
          this.job?.done({ code: -1, stdout: '', stderr: `${why} during this run` });
          new Warm().ready.catch(() => {});
        });
      });
    }
    run(job: Job): void {
      this.job = job;
      this.child.send({ args: job.args });
    }
    free(): void {
      const next = waiting.shift();
      if (next) this.run(next);
      else idle.push(this);
    }
    kill(): void {
      this.child.kill();
    }
  }

  // The first process builds dist/ when it is missing or stale (bin/build.mjs); the others start from that build.
  await new Warm().ready;
  for (let i = 1; i < size; i++) new Warm().ready.catch(() => {});
  return {
    run: (args: string[]): Promise<CliOutput> =>
      new Promise((done) => {
        const job = { args, done };
        const warm = idle.shift();
        if (warm) warm.run(job);
        else if (live.size === 0) done({ code: -1, stdout: '', stderr: 'no warm CLI process is left: each exited before it was ready' });
        else waiting.push(job);
      }),
    close: () => {
      closing = true;
      for (const w of live) w.kill();
    },
  };
};

const readBody = (req: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });

interface SharedRuns {
  dir: string;
  url: string;
  /** Projects whose setup took these runs and whose teardown has not run yet. */
  users: number;
  close(): Promise<void>;
}

/** The one directory, pool and endpoint of this `vitest run`, whichever project's setup asks first. */
const SHARED_KEY = Symbol.for('handsoff.sharedRuns');
type Holder = { [SHARED_KEY]?: Promise<SharedRuns> };

const start = async (): Promise<SharedRuns> => {
  const dir = mkdtempSync(join(tmpdir(), 'handsoff-shared-runs-'));
  const runners = await pool(availableParallelism());
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    readBody(req)
      .then(async (body) => {
        const { args } = JSON.parse(body) as { args: string[] };
        const out = await runners.run(args);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(out));
      })
      .catch((e: Error) => res.writeHead(400).end(e.message));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    dir,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/run`,
    users: 0,
    close: async () => {
      runners.close();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
};

/**
 * The setup of each project whose files run the CLI through the harness: every such project
 * gets the same runs (a run one project's file made is read by another's), the same warm
 * processes and the same endpoint, closed when the last of them tears down.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const holder = globalThis as Holder;
  const runs = await (holder[SHARED_KEY] ??= start());
  runs.users++;
  project.provide('sharedRuns', runs.dir);
  project.provide('warmCli', runs.url);
  return async () => {
    if (--runs.users > 0) return;
    delete holder[SHARED_KEY];
    await runs.close();
  };
}
