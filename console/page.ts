/**
 * The console's page (docs/console.md): the HTML that `/` and `/changes/{id}` return, and
 * the static assets under `/assets/`. A minimal page for now: it names the API it is built on.
 */

/** A static file the app serves under `/assets/{name}`. */
export interface Asset {
  readonly type: string;
  readonly body: string;
}

/** The page's assets by name (`app.js` is served at `/assets/app.js`). */
export const assets: Readonly<Record<string, Asset>> = {};

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** The HTML of the page at `path` (`/` or `/changes/{id}`). */
export const pageHtml = (path: string): string => `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>handsoff console</title></head>
<body>
<main>
<h1>handsoff console</h1>
<p>Page ${escapeHtml(path)}. The console's API: <a href="/api/state">/api/state</a>, <a href="/api/events">/api/events</a>.</p>
</main>
</body>
</html>
`;
