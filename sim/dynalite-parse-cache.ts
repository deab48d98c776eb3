/**
 * dynalite parses every expression of every request (condition, key condition, filter, update,
 * projection) with its PEG parsers, and the handlers send the same few expressions over and
 * over (the reconciler's index Query at each sweep, `attribute_not_exists(pk)`, the
 * OPEN -> DONE condition). This remembers a parse: the same expression with the same names and
 * values gives the same tree, so a repeated one is a copy of the tree dynalite built the first
 * time, and the names and values it used are marked used exactly as the parser marks them.
 * A parse that fails is never remembered (dynalite's error comes from its own parser, each
 * time). dynalite's validation, conditions and storage are untouched.
 */
import { createRequire } from 'node:module';

interface ParseContext {
  attrNames?: Record<string, string>;
  attrVals?: Record<string, unknown>;
  unusedAttrNames?: Record<string, boolean>;
  unusedAttrVals?: Record<string, boolean>;
  [key: string]: unknown;
}

type Parse = (expression: string, options: { context: ParseContext }) => unknown;

interface Parsed {
  tree: unknown;
  /** The expression attribute names and values the parse used (the parser marks them used). */
  names: string[];
  values: string[];
}

/** Parses kept per parser; past this the cache starts again (expressions with changing values never repeat). */
export const PARSE_CACHE_ENTRIES = 1_000;
/** Names and values longer than this (as JSON) are parsed each time, not kept. */
const MAX_KEY_CHARS = 2_000;

/** A deep copy that keeps each object's prototype (dynalite builds some with Object.create(null)). */
const copy = (v: unknown): unknown => {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) return v.map(copy);
  const out = Object.create(Object.getPrototypeOf(v) as object | null) as Record<string, unknown>;
  for (const k of Object.keys(v)) out[k] = copy((v as Record<string, unknown>)[k]);
  return out;
};

const flags = (keys: string[]): Record<string, boolean> => Object.fromEntries(keys.map((k) => [k, true]));

const state = { enabled: true, installed: false, hits: 0, misses: 0 };

const remembering = (parse: Parse): Parse => {
  const cache = new Map<string, Parsed>();
  return (expression, options) => {
    const ctx = options.context;
    if (!state.enabled) return parse(expression, options);
    const key = `${expression}\u0000${JSON.stringify(ctx.attrNames ?? null)}\u0000${JSON.stringify(ctx.attrVals ?? null)}`;
    if (key.length > MAX_KEY_CHARS) return parse(expression, options);
    let parsed = cache.get(key);
    if (parsed) state.hits++;
    else {
      state.misses++;
      const names = Object.keys(ctx.attrNames ?? {});
      const values = Object.keys(ctx.attrVals ?? {});
      // Parse with every name and value still unused, to learn exactly which this expression uses.
      const probe = { ...ctx, unusedAttrNames: flags(names), unusedAttrVals: flags(values) };
      const tree = parse(expression, { context: probe });
      parsed = { tree: copy(tree), names: names.filter((n) => !(n in probe.unusedAttrNames)), values: values.filter((v) => !(v in probe.unusedAttrVals)) };
      if (cache.size >= PARSE_CACHE_ENTRIES) cache.clear();
      cache.set(key, parsed);
    }
    for (const n of parsed.names) delete ctx.unusedAttrNames?.[n];
    for (const v of parsed.values) delete ctx.unusedAttrVals?.[v];
    return copy(parsed.tree);
  };
};

/** Puts the cache in front of dynalite's expression parsers (once per process). */
export const installParseCache = (): void => {
  if (state.installed) return;
  const require = createRequire(import.meta.url);
  for (const name of ['conditionParser', 'updateParser', 'projectionParser']) {
    const parser = require(`dynalite/db/${name}.js`) as { parse: Parse };
    parser.parse = remembering(parser.parse);
  }
  state.installed = true;
};

/** For tests: turn the cache off (every parse by dynalite's parser) or on, and read its hits and misses. */
export const parseCache = {
  set enabled(on: boolean) {
    state.enabled = on;
  },
  get enabled(): boolean {
    return state.enabled;
  },
  stats: (): { hits: number; misses: number } => ({ hits: state.hits, misses: state.misses }),
};
