/**
 * The page's shell and script, without a browser: the shell names its script and nothing
 * outside the machine, carries the accessible names of the sign-in form, and escapes the
 * path; the script is bundled for the browser and reaches for no other host.
 */
import { buildSync } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { assets, clientScript, pageHtml } from '../../console/page.ts';
import { CLIENT_DEFINE } from '../../core/console-client.ts';

describe('the page', () => {
  it('is a shell with its own script, inline CSS and the sign-in form, loading nothing from elsewhere', () => {
    const html = pageHtml('/');
    expect(html).toContain('<script type="module" src="/assets/app.js"></script>');
    expect(html).toContain('<style>');
    expect(html).toMatch(/<label>Name<input name="name"/);
    expect(html).toMatch(/<button type="submit">Sign in<\/button>/);
    expect(html.match(/(?:src|href)="([^"]+)"/g)!.map((m) => m.replace(/^\w+="|"$/g, ''))).toEqual(['/', '/api/state', '/assets/app.js']);
  });

  it('escapes whatever path it is asked for', () => {
    const html = pageHtml('/changes/%3Cscript%3Ealert(1)%3C%2Fscript%3E');
    expect(html).toContain('<title>Change &lt;script&gt;alert(1)&lt;/script&gt;: handsoff console</title>');
    expect(html.match(/<script/g)!.length).toBe(1);
    expect(pageHtml('/changes/%E0%A4%A')).toContain('<title>handsoff console</title>');
  });

  it('serves the script bundled for the browser: no import of Node, no other host', () => {
    const js = clientScript();
    expect(assets['app.js']).toEqual({ type: 'text/javascript; charset=utf-8', body: js });
    expect(js).not.toMatch(/\bfrom\s*["']node:|require\(/);
    expect(js).toContain('/api/state');
    expect([...new Set(js.match(/https?:\/\/[^"'`\s)]+/g) ?? [])]).toEqual(['http://www.w3.org/2000/svg']);
  });

  it('takes the script a bundle defined when it was built (a Lambda function cannot run esbuild)', async () => {
    const out = buildSync({
      stdin: { contents: "import { clientScript } from './console/page.ts'; export default clientScript();", resolveDir: fileURLToPath(new URL('../..', import.meta.url)), loader: 'ts' },
      bundle: true,
      format: 'esm',
      platform: 'node',
      write: false,
      define: { [CLIENT_DEFINE]: JSON.stringify('/* prebuilt */') },
      logLevel: 'error',
    });
    const mod = (await import(`data:text/javascript;base64,${Buffer.from(out.outputFiles[0]!.text).toString('base64')}`)) as { default: string };
    expect(mod.default).toBe('/* prebuilt */');
  });
});
