/**
 * The README and the docs point only to files the repository has: a newcomer who follows
 * a pointer finds the contract, not a path outside the repository.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOCS = ['README.md', 'docs/simulation.md', 'docs/design.md', 'docs/console.md', 'docs/console-pages.md', 'docs/sources.md', 'docs/tests.md'];

/** Markdown link targets and backquoted paths that name a file (`.md`, `.ts`, `.json`). */
const pointers = (text: string): string[] => [
  ...[...text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)].map((m) => m[1]!).filter((t) => !/^[a-z]+:/.test(t)),
  ...[...text.matchAll(/`((?:\.\.?\/)?[A-Za-z0-9_.-]+(?:\/[A-Za-z0-9_.-]+)*\.(?:md|ts|json))`/g)].map((m) => m[1]!),
];

describe('documentation pointers', () => {
  it.each(DOCS)('%s exists and points only to files inside the repository', (doc) => {
    const path = join(ROOT, doc);
    expect(existsSync(path), doc).toBe(true);
    const text = readFileSync(path, 'utf8');
    for (const target of pointers(text)) {
      // Paths in the docs are relative to the document for links, to the root for code names.
      const candidates = [resolve(dirname(path), target), resolve(ROOT, target)];
      const inside = candidates.filter((c) => !relative(ROOT, c).startsWith('..'));
      expect(inside.some((c) => existsSync(c)), `${doc} points to ${target}`).toBe(true);
    }
  });

  it('README points to the simulator contract and the design in docs/', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain('(docs/simulation.md)');
    expect(readme).toContain('(docs/design.md)');
  });
});
