import { esc } from './pictures/svg.ts';

/** The console's CSS, shared by the page and the report (inline in both: nothing loads from elsewhere). */
export const CONSOLE_CSS = `
:root { color-scheme: light; --ink: #1a1a1a; --muted: #5f6368; --line: #d9d9d9; --panel: #f4f6f8; --accent: #0072B2; --bad: #b33c00; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif; color: var(--ink); background: #fff; }
header { display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: center; padding: 10px 20px; border-bottom: 1px solid var(--line); background: var(--panel); }
header .brand { font-weight: 700; font-size: 16px; color: var(--ink); text-decoration: none; }
main { padding: 12px 20px 40px; }
h1 { font-size: 20px; margin: 12px 0 8px; }
h2 { font-size: 16px; margin: 22px 0 8px; }
.picture { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; padding: 4px; background: #fff; }
.picture svg { display: block; }
table { border-collapse: collapse; margin: 4px 0; }
th, td { text-align: left; padding: 4px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.status { font-weight: 600; white-space: nowrap; }
.status-succeeded { color: #00734f; } .status-failed, .status-rejected { color: var(--bad); }
.status-in-flight { color: var(--accent); } .status-waiting, .status-superseded { color: var(--muted); }
.muted { color: var(--muted); }
form { display: flex; flex-wrap: wrap; gap: 8px 12px; align-items: end; margin: 6px 0 12px; padding: 10px; border: 1px solid var(--line); border-radius: 6px; }
form.inline { border: 0; padding: 0; margin: 0; }
label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
input, select { font: inherit; padding: 4px 6px; border: 1px solid #9aa0a6; border-radius: 4px; min-width: 10em; }
button { font: inherit; padding: 5px 14px; border-radius: 4px; border: 1px solid var(--accent); background: var(--accent); color: #fff; cursor: pointer; }
button.secondary { background: #fff; color: var(--accent); }
button:focus-visible, input:focus-visible, a:focus-visible { outline: 3px solid #E69F00; outline-offset: 1px; }
[role=alert] { margin: 8px 0; padding: 8px 12px; border-left: 4px solid var(--bad); background: #fdeee8; }
.ok { margin: 8px 0; padding: 8px 12px; border-left: 4px solid #009E73; background: #e8f6f0; }
.audit td:first-child { white-space: nowrap; font-variant-numeric: tabular-nums; }
.actions { display: grid; gap: 4px; max-width: 1100px; }
`;

/** The start of an HTML document of the console (the page and the report): its title, the CSS (and `css`, the document's own), up to `<body>`. */
export const documentStart = (title: string, css = ''): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${CONSOLE_CSS}${css}</style>
</head>
<body>`;
