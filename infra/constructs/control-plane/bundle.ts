/**
 * The handlers' code: every handler bundled in ONE esbuild build (the JS API, one call with
 * every handler as an entry point), once per process for a set of entries, instead of one
 * esbuild process per function. Each handler gets its own directory (`index.mjs` and its
 * source map) for its own code asset. The options are the ones NodejsFunction passed: ESM for
 * Node.js 22, minified, source maps with sources, the AWS SDK and Smithy left to the runtime,
 * a `require` for the CommonJS dependencies. Without code splitting, each bundle is whole and
 * byte-identical to what a build of that entry alone gives; esbuild is deterministic, so the
 * same sources give the same asset hash.
 */
import { buildSync, type BuildOptions } from 'esbuild';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Each bundle's file is `index.mjs`, exporting `handler`. */
export const BUNDLE_HANDLER = 'index.handler';

/** What every bundle is built with. */
export const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: true,
  sourcemap: true,
  external: ['@aws-sdk/*', '@smithy/*'],
  mainFields: ['module', 'main'],
  outExtension: { '.js': '.mjs' },
  // Some CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);" },
  logLevel: 'warning',
} as const satisfies BuildOptions;

/** The builds of this process: what was asked (entries by handler) -> each handler's directory. */
const builds = new Map<string, Readonly<Record<string, string>>>();
let buildCount = 0;

/** How many esbuild builds this process ran (one per distinct set of entries). */
export const handlerBuilds = (): number => buildCount;

/** Where this process writes its bundles; removed when it exits (CDK copies each into its assembly). */
let outRoot: string | undefined;
const outputRoot = (): string => {
  if (!outRoot) {
    const dir = mkdtempSync(path.join(tmpdir(), 'handsoff-handlers-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    outRoot = dir;
  }
  return outRoot;
};

/**
 * Bundles every handler's entry file in one build and returns each handler's directory.
 * Handlers that share an entry file share its bundle. Source map paths are relative to
 * `root`, as if the bundles were built in `<root>/cdk.out/<handler>/` (where NodejsFunction
 * built them), so they name no temporary directory and no checkout location.
 */
export const bundleHandlers = (root: string, entries: Readonly<Record<string, string>>): Readonly<Record<string, string>> => {
  const key = JSON.stringify([root, Object.entries(entries).sort(([a], [b]) => a.localeCompare(b))]);
  const done = builds.get(key);
  if (done) return done;

  // One entry point per distinct file, named by the first handler that uses it.
  const outNames = new Map<string, string>();
  for (const [name, file] of Object.entries(entries)) if (!outNames.has(file)) outNames.set(file, name);
  const virtualOut = path.join(root, 'cdk.out');
  const result = buildSync({
    ...BUNDLE_OPTIONS,
    absWorkingDir: root,
    entryPoints: Object.fromEntries([...outNames].map(([file, name]) => [`${name}/index`, file])),
    outdir: virtualOut,
    write: false,
  });
  buildCount++;

  const dir = mkdtempSync(path.join(outputRoot(), 'build-'));
  for (const out of result.outputFiles) {
    const file = path.join(dir, path.relative(virtualOut, out.path));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, out.contents);
  }
  const dirs = Object.fromEntries(Object.entries(entries).map(([name, file]) => [name, path.join(dir, outNames.get(file)!)]));
  builds.set(key, dirs);
  return dirs;
};
