/**
 * How the console page's script is built for the browser: one recipe that the console
 * (console/page.ts, which builds it on first request from the checkout) and a bundle that
 * cannot run esbuild at run time (the console's Lambda function) both read. That bundle
 * builds the script with these options when it is itself built and defines CLIENT_DEFINE to
 * the script's text (esbuild `define: { [CLIENT_DEFINE]: JSON.stringify(text) }`).
 * Plain data: no esbuild here.
 */

/** The script's entry, relative to the project's root. */
export const CLIENT_ENTRY = 'console/client/main.ts';

/** The global the console reads the prebuilt script from, when a build defined it. */
export const CLIENT_DEFINE = 'HANDSOFF_CONSOLE_CLIENT';

/** esbuild options (with `absWorkingDir` the project's root, and `write: false`). */
export const CLIENT_BUILD_OPTIONS = {
  entryPoints: [CLIENT_ENTRY],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  charset: 'utf8',
  legalComments: 'none',
  logLevel: 'error',
} as const;
