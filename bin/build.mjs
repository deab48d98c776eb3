#!/usr/bin/env node
/**
 * The CLI's build: esbuild bundles the CLI, the simulator and their dependencies (tsx and
 * esbuild aside) into dist/ (git-ignored), so a start loads a few files instead of
 * transpiling the sources. `npm run build` makes it and `npm ci` runs it (the `prepare`
 * script); each bin calls `ensureBuilt()`, which makes it again first when it is missing or
 * older than what it was made from: a source file (every one esbuild read, with their sizes
 * and times in dist/build.json), this file, package.json or the installed dependencies. So
 * a developer who edits a source and runs `npm start` runs the edit.
 *
 * Concurrent starts may rebuild at once: chunks are named by their content, and every file is
 * written to a temporary name and renamed over the old one (entries after their chunks, the
 * manifest last), so a start reads either the old build or the new one, whole.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import nodeModule from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
const MANIFEST = join(DIST, 'build.json');
/** What a run may keep for the next (sim/asl-check.ts); every build empties it. */
const CACHE = join(DIST, 'cache');
const FORMAT = 1;

/** The bins' modules: dist/NAME.js. */
export const ENTRIES = { handsoff: 'cli/main.ts', chaos: 'sim/chaos.ts', bench: 'cli/bench.ts' };

/** What the build depends on besides the sources esbuild reads: its recipe and the installed packages. */
const FIXED_INPUTS = ['bin/build.mjs', 'package.json', 'package-lock.json', 'node_modules/.package-lock.json'];

const stamp = (path) => {
  try {
    const s = statSync(join(ROOT, path));
    return [s.mtimeMs, s.size];
  } catch {
    return null;
  }
};

/** Why the build must be made (again), or undefined when it is up to date. */
export const staleness = () => {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  } catch {
    return 'no build';
  }
  if (manifest.format !== FORMAT) return 'an older build format';
  for (const [path, was] of Object.entries(manifest.inputs)) {
    const now = stamp(path);
    if (!now || now[0] !== was?.[0] || now[1] !== was?.[1]) return `${path} changed`;
  }
  return undefined;
};

const writeAtomically = (path, contents) => {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, contents);
  renameSync(tmp, path);
};

/**
 * Removes the chunks this build does not use and older than `minAgeMs` (a start still
 * running an older build may yet load one of its chunks).
 */
const pruneChunks = (kept, minAgeMs) => {
  const dir = join(DIST, 'chunks');
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (kept.has(path)) continue;
    try {
      if (Date.now() - statSync(path).mtimeMs >= minAgeMs) unlinkSync(path);
    } catch {
      // another build removed it
    }
  }
};

/**
 * Builds dist/ now.
 * @param {{ pruneAfterMs?: number }} options how old an unused chunk must be to go (default an hour)
 */
export const buildNow = async ({ pruneAfterMs = 3_600_000 } = {}) => {
  const { build } = await import('esbuild');
  // A source saved while esbuild runs may be in the build as it was before: such an input is
  // recorded as changed, so the next start builds again.
  const startedMs = Date.now();
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ENTRIES,
    outdir: DIST,
    entryNames: '[name]',
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20.19',
    // ESM first: it tree-shakes (the AWS SDK clients are large and the handlers use a few commands).
    mainFields: ['module', 'main'],
    // tsx loads users' TypeScript pipelines (lazily); esbuild builds this.
    external: ['tsx', 'tsx/*', 'esbuild'],
    // CommonJS dependencies bundled into ESM still call require() for Node's modules.
    banner: { js: "import { createRequire as __handsoffRequire } from 'node:module'; const require = __handsoffRequire(import.meta.url);" },
    sourcemap: false,
    metafile: true,
    write: false,
    logLevel: 'error',
  });
  const inputs = {};
  for (const path of [...FIXED_INPUTS, ...Object.keys(result.metafile.inputs).filter((p) => !p.includes('node_modules/') && !p.includes(':'))]) {
    const s = stamp(path);
    if (s) inputs[path] = s[0] >= startedMs ? [0, -1] : s;
  }
  const entryFiles = new Set(Object.keys(ENTRIES).map((name) => join(DIST, `${name}.js`)));
  const files = [...result.outputFiles].sort((a, b) => Number(entryFiles.has(a.path)) - Number(entryFiles.has(b.path)));
  rmSync(CACHE, { recursive: true, force: true });
  for (const f of files) writeAtomically(f.path, f.contents);
  writeAtomically(MANIFEST, `${JSON.stringify({ format: FORMAT, inputs }, null, 1)}\n`);
  pruneChunks(new Set(files.map((f) => f.path)), pruneAfterMs);
};

/**
 * The file URL of a bin's module, built first when the build is missing or stale; points
 * the run's cache (HANDSOFF_CACHE_DIR) into the build.
 * @param {keyof typeof ENTRIES} name
 */
export const ensureBuilt = async (name) => {
  process.env.HANDSOFF_CACHE_DIR ??= CACHE;
  const why = staleness();
  if (why) {
    if (process.env.HANDSOFF_BUILD_VERBOSE) process.stderr.write(`handsoff: building dist/ (${why})\n`);
    await buildNow();
  }
  // Node 22+ keeps the bundle's compiled code for the next start (Node 20 has no such cache).
  nodeModule.enableCompileCache?.(join(CACHE, 'v8'));
  return pathToFileURL(join(DIST, `${name}.js`)).href;
};

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    await buildNow({ pruneAfterMs: 0 });
    process.stdout.write(`handsoff: built ${relative(process.cwd(), DIST) || '.'}/ (${Object.keys(ENTRIES).join(', ')})\n`);
  } catch (e) {
    process.stderr.write(`handsoff: the build failed: ${e.message}\n`);
    process.exit(1);
  }
}
