/**
 * `handsoff console`: the app over the local backend, served by Node on loopback.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApp } from './app.ts';
import { startLocalConsole, type LocalConsoleOptions } from './local.ts';

export interface ServeOptions extends LocalConsoleOptions {
  host: string;
  /** 0: any free port. */
  port: number;
}

export interface Served {
  /** `http://HOST:PORT/` with the port actually bound. */
  url: string;
  /** Settles when the run is over (at `until` or after close); rejects when it crashed. */
  done: Promise<unknown>;
  /** Stops serving and ends the run. */
  close(): Promise<void>;
}

export const serveConsole = async (opts: ServeOptions): Promise<Served> => {
  const local = startLocalConsole(opts);
  const app = createApp({ backend: local.backend, identify: local.identify });
  const server = serve({ fetch: app.fetch, port: opts.port, hostname: opts.host });
  try {
    await new Promise<void>((resolve, reject) => {
      if (server.listening) resolve();
      server.once('listening', resolve);
      server.once('error', reject);
    });
  } catch (e) {
    await local.stop();
    throw e;
  }
  const port = (server.address() as AddressInfo).port;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}/`,
    done: local.done,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Event streams stay open until their clients go: end them.
      (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      await Promise.all([closed, local.stop()]);
    },
  };
};
