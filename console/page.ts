/**
 * The console's page (docs/console.md): the HTML that `/` and `/changes/{id}` return, and
 * its script under `/assets/app.js`. The page is a shell: the script (console/client/main.ts)
 * calls the console's API and draws with console/pictures, so the page shows only what the
 * API says. Nothing loads from outside: no CDN, no web fonts; the CSS is inline.
 *
 * The script is bundled for the browser by esbuild the first time it is asked for (the
 * project's own build tool, from this checkout's sources, with core/console-client.ts's
 * recipe). A bundle that cannot run esbuild (a Lambda function) builds it with the same
 * recipe and defines `HANDSOFF_CONSOLE_CLIENT` to the script's text (esbuild `define`).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLIENT_BUILD_OPTIONS, CLIENT_ENTRY } from '../core/console-client.ts';
import type { PageConfig } from './api.ts';
import { esc } from './pictures/svg.ts';
import { documentStart } from './styles.ts';

/** A static file the app serves under `/assets/{name}`. */
export interface Asset {
  readonly type: string;
  readonly body: string;
}

declare const HANDSOFF_CONSOLE_CLIENT: string | undefined;

/** The project's root: the nearest folder above this module that holds the client's source (this file's, or a build's in dist/). */
const projectRoot = (): string => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(path.join(dir, CLIENT_ENTRY))) return dir;
    dir = path.dirname(dir);
  }
  throw new Error(`the console's script (${CLIENT_ENTRY}) is not next to this build; bundle it with HANDSOFF_CONSOLE_CLIENT defined`);
};

let script: string | undefined;

/** The page's script, bundled for the browser (once per process). */
export const clientScript = (): string => {
  if (typeof HANDSOFF_CONSOLE_CLIENT === 'string') return HANDSOFF_CONSOLE_CLIENT;
  if (script === undefined) {
    const root = projectRoot();
    const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
    const out = esbuild.buildSync({ ...CLIENT_BUILD_OPTIONS, entryPoints: [...CLIENT_BUILD_OPTIONS.entryPoints], absWorkingDir: root, write: false });
    script = out.outputFiles[0]!.text;
  }
  return script;
};

/** The page's assets by name (`app.js` is served at `/assets/app.js`), made when first read. */
export const assets: Readonly<Record<string, Asset>> = Object.defineProperty({}, 'app.js', {
  enumerable: true,
  get: (): Asset => ({ type: 'text/javascript; charset=utf-8', body: clientScript() }),
});

/** The header's sign-in: locally a name to type; on AWS the hosted UI's buttons (console/client/session.ts). */
const signInHtml = (config: PageConfig): string =>
  config.mode === 'local'
    ? `<form id="signin" class="inline" aria-label="Sign in as">
<label>Name<input name="name" autocomplete="username" required></label>
<button type="submit">Sign in</button>
</form>`
    : `<button type="button" id="signin">Sign in</button>
<button type="button" id="signout" class="secondary" hidden>Sign out</button>`;

/** The HTML of the page at `path` (`/` or `/changes/{id}`); `config` tells its script where it runs. */
export const pageHtml = (pagePath: string, config: PageConfig = { mode: 'local' }): string => {
  const change = /^\/changes\/([^/]+)\/?$/.exec(pagePath);
  let title = 'handsoff console';
  if (change) {
    try {
      title = `Change ${decodeURIComponent(change[1]!)}: handsoff console`;
    } catch {
      title = 'handsoff console';
    }
  }
  return `${documentStart(title)}
<header>
<a class="brand" href="/">handsoff console</a>
${signInHtml(config)}
<span id="whoami" class="muted" aria-live="polite"></span>
</header>
<main id="main" data-path="${esc(pagePath)}" data-config="${esc(JSON.stringify(config))}">
<p class="muted">Loading… (this page needs JavaScript; <a href="/api/state">/api/state</a> is the same data as JSON)</p>
</main>
<script type="module" src="/assets/app.js"></script>
</body>
</html>
`;
};
