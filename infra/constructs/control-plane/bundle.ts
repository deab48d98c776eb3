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
import { build, buildSync, type BuildOptions, type OutputFile } from 'esbuild';
import { CLIENT_BUILD_OPTIONS, CLIENT_DEFINE } from '../../../core/console-client.ts';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { HandlerName } from '../../../statemachines/resources.ts';

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

interface BuildFile {
  readonly rel: string;
  readonly contents: Uint8Array;
}

/** Whether `dir` holds exactly these files with these contents. */
const holds = (dir: string, files: readonly BuildFile[]): boolean => {
  const present = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  return present.length === files.length && files.every((f) => existsSync(path.join(dir, f.rel)) && readFileSync(path.join(dir, f.rel)).equals(f.contents));
};

/** The shared parent of the build directories, when it is this user's alone. */
const sharedRoot = (): string | undefined => {
  const root = path.join(tmpdir(), 'handsoff-handlers');
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const st = lstatSync(root);
  const mine = st.isDirectory() && (process.getuid === undefined || st.uid === process.getuid()) && (st.mode & 0o022) === 0;
  return mine ? root : undefined;
};

/**
 * Where the bundles are written: a directory named by their content under the system's temp
 * directory, so the same sources reuse one directory (nothing piles up run after run, and
 * nothing needs removing at exit; CDK copies each bundle into its cloud assembly). Written
 * under a temporary name and renamed, so a directory that exists is whole; reused only when
 * it holds exactly these bytes.
 */
const writeBuild = (p: Plan, outputFiles: readonly OutputFile[]): string => {
  const files: BuildFile[] = outputFiles.map((out) => ({ rel: path.relative(p.virtualOut, out.path), contents: out.contents }));
  files.sort((a, b) => a.rel.localeCompare(b.rel));
  const hash = createHash('sha256');
  for (const f of files) hash.update(f.rel).update('\0').update(f.contents).update('\0');
  const root = sharedRoot();
  const dir = root && path.join(root, hash.digest('hex').slice(0, 32));
  if (dir && existsSync(dir) && holds(dir, files)) return dir;
  const staging = mkdtempSync(dir ? `${dir}.tmp-` : path.join(tmpdir(), 'handsoff-handlers-'));
  for (const f of files) {
    mkdirSync(path.dirname(path.join(staging, f.rel)), { recursive: true });
    writeFileSync(path.join(staging, f.rel), f.contents);
  }
  if (!dir) return staging;
  try {
    renameSync(staging, dir);
  } catch {
    // Another process wrote the same build first, or what is there is not this build: use ours.
    if (existsSync(dir) && holds(dir, files)) rmSync(staging, { recursive: true, force: true });
    else return staging;
  }
  return dir;
};

/** The console page's script (core/console-client.ts recipe), as text. */
const consoleClientScript = (root: string): string =>
  buildSync({ ...CLIENT_BUILD_OPTIONS, entryPoints: [...CLIENT_BUILD_OPTIONS.entryPoints], absWorkingDir: root, write: false }).outputFiles[0]!.text;

interface Plan {
  readonly key: string;
  readonly options: BuildOptions & { write: false };
  /** Each distinct entry file -> the handler whose name its bundle's directory takes. */
  readonly outNames: ReadonlyMap<string, string>;
  readonly virtualOut: string;
}

/**
 * One entry point per distinct file, named by the first handler that uses it. Source map paths
 * are relative to `root`, as if the bundles were built in `<root>/cdk.out/<handler>/` (where
 * NodejsFunction built them), so they name no temporary directory and no checkout location.
 */
const plan = (root: string, entries: Readonly<Record<string, string>>): Plan => {
  const outNames = new Map<string, string>();
  for (const [name, file] of Object.entries(entries)) if (!outNames.has(file)) outNames.set(file, name);
  const virtualOut = path.join(root, 'cdk.out');
  return {
    key: JSON.stringify([root, Object.entries(entries).sort(([a], [b]) => a.localeCompare(b))]),
    options: {
      ...BUNDLE_OPTIONS,
      // The console's page script, built for the browser with the console's own recipe: its
      // function cannot run esbuild when a page asks for it (console/page.ts).
      ...(CONSOLE_BUNDLE in entries ? { define: { [CLIENT_DEFINE]: JSON.stringify(consoleClientScript(root)) } } : {}),
      absWorkingDir: root,
      entryPoints: Object.fromEntries([...outNames].map(([file, name]) => [`${name}/index`, file])),
      outdir: virtualOut,
      write: false,
    },
    outNames,
    virtualOut,
  };
};

/** Writes a build's files and remembers each handler's directory. */
const keep = (p: Plan, entries: Readonly<Record<string, string>>, outputFiles: readonly OutputFile[]): Readonly<Record<string, string>> => {
  buildCount++;
  const dir = writeBuild(p, outputFiles);
  const dirs = Object.fromEntries(Object.entries(entries).map(([name, file]) => [name, path.join(dir, p.outNames.get(file)!)]));
  builds.set(p.key, dirs);
  return dirs;
};

/**
 * Bundles every handler's entry file in one build (or takes this process's build of the same
 * entries) and returns each handler's directory. Handlers that share an entry file share its bundle.
 */
export const bundleHandlers = (root: string, entries: Readonly<Record<string, string>>): Readonly<Record<string, string>> => {
  const p = plan(root, entries);
  return builds.get(p.key) ?? keep(p, entries, buildSync(p.options).outputFiles);
};

/**
 * The same build, started without blocking: esbuild runs in its own process while Node goes on
 * (loading the CDK app); a later `bundleHandlers` of the same entries finds it done.
 */
export const prebundleHandlers = async (root: string, entries: Readonly<Record<string, string>>): Promise<void> => {
  const p = plan(root, entries);
  if (builds.has(p.key)) return;
  const { outputFiles } = await build(p.options);
  if (!builds.has(p.key)) keep(p, entries, outputFiles);
};

/** The project's root (this file is infra/constructs/control-plane/bundle.ts). */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** Each handler's entry file: `handlerEntry`, by default `lambdas/<name>/index.ts`. */
export const handlerEntries = (handlerEntry?: (name: HandlerName) => string): Record<HandlerName, string> =>
  Object.fromEntries(
    Object.values(HandlerName).map((name) => [name, handlerEntry?.(name) ?? path.join(PROJECT_ROOT, 'lambdas', name, 'index.ts')]),
  ) as Record<HandlerName, string>;

/** The name of the console function's bundle, beside the handlers' in the one build. */
export const CONSOLE_BUNDLE = 'console';

/**
 * Everything the control plane bundles, in one build: every handler's entry (`handlerEntry`)
 * and the console's (`consoleEntry`, by default `console/lambda.ts`).
 */
export const bundleEntries = (handlerEntry?: (name: HandlerName) => string, consoleEntry?: string): Record<string, string> => ({
  ...handlerEntries(handlerEntry),
  [CONSOLE_BUNDLE]: consoleEntry ?? path.join(PROJECT_ROOT, 'console', 'lambda.ts'),
});
