/**
 * `simulate --report FILE.html`: one self-contained file (inline CSS and SVG, no script, no
 * reference outside the file) with the outcome table, the pipeline graph and every change's
 * timeline and decisions; and a run for a person writes one by default, says where on one
 * stderr line, and prints the same stdout as without it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HandsoffEvent } from '../../core/events.ts';
import { demo } from '../sim/cli-harness.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'handsoff-report-'));

const cli = (args: string[], cwd = ROOT) => {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin/handsoff.mjs'), ...args], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 1 << 28 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
};

let html = '';
let events: HandsoffEvent[] = [];

beforeAll(async () => {
  // The demo's run with its report, shared with the other test files that read the demo.
  const run = await demo();
  events = run.events;
  expect(run.stderr).toContain(`handsoff: report written to ${run.report}\n`);
  html = readFileSync(run.report, 'utf8');
});

describe('the report of a run', () => {
  it('needs nothing outside the file: no script, no stylesheet link, no external image or font', () => {
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<link\b/i);
    expect(html).not.toMatch(/\bsrc=/i);
    expect(html).not.toMatch(/url\((?!#)/i);
    expect(html).not.toMatch(/href="(?!#)/i);
    expect(html).toContain('<style>');
  });

  it("holds the outcome table of simulation.finished, the pipeline graph, and every change's timeline and decisions", () => {
    const finished = events.find((e) => e.type === 'simulation.finished')!.changes as Record<string, { status: string; failedRequests: number; regionsReached: string[]; boxesAtEnd: number }>;
    const ids = Object.keys(finished);
    expect(ids).toEqual(['c1', 'c2']);
    for (const id of ids) {
      const row = new RegExp(`<tr data-change="${id}">(.*?)</tr>`).exec(html)![1]!;
      expect(row).toContain(finished[id]!.status);
      expect(row).toContain(`<td class="num">${finished[id]!.failedRequests}</td><td class="num">${finished[id]!.regionsReached.length}</td><td class="num">${finished[id]!.boxesAtEnd}</td>`);
      expect(html).toContain(`<title id="timeline-${id}-`);
      expect(html).toMatch(new RegExp(`<title id="timeline-${id}-[^"]*-title">Rollout timeline of change ${id}: ${finished[id]!.status}`));
    }
    expect(html).toMatch(/<svg [^>]*class="handsoff-graph" role="img"/);
    expect(html).toMatch(/<title id="graph-[^"]*">Pipeline graph at 2026-12-07 12:50 UTC: storefront-api; 2 changes<\/title>/);
    // The decisions: each rollback and the alarm that caused them, in c2's table.
    const c2 = html.slice(html.indexOf('<section class="change" id="change-c2"'));
    const rollbacks = events.filter((e) => e.change === 'c2' && e.type === 'rollback.started').length;
    expect(c2.match(/<tr data-type="rollback.started">/g)!.length).toBe(rollbacks);
    expect(c2).toContain('<tr data-type="alarm.triggered">');
  });

  it('is written by default for a person (not with --json), said on one stderr line, with the same stdout as --no-report', () => {
    // A short run of the small pipeline (the demo's report is above).
    const scenario = join(dir, 'short.json');
    writeFileSync(scenario, JSON.stringify({ start: '2026-11-30T08:00:00Z', until: '2026-11-30T12:00:00Z', changes: [{ id: 'ok1', at: '2026-11-30T09:00:00Z', author: 'alice', approvedBy: ['bob'], behavior: { kind: 'healthy' } }] }));
    const args = ['simulate', '--pipeline', join(ROOT, 'test/fixtures/small-pipeline.json'), '--scenario', scenario];
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    const withReport = cli(args, cwd);
    expect(withReport.code).toBe(0);
    const path = join(cwd, 'handsoff-report.html');
    expect(existsSync(path)).toBe(true);
    expect(withReport.stderr.split('\n').filter((l) => l.includes('report'))).toEqual([`handsoff: report written to ${path}`]);
    const without = cli([...args, '--no-report'], mkdtempSync(join(dir, 'cwd-')));
    expect(without.code).toBe(0);
    expect(without.stderr).not.toContain('report');
    const stable = (s: string) => s.replace(/in [\d.]+ s wall time/, 'in N s wall time');
    expect(stable(withReport.stdout)).toBe(stable(without.stdout));
    // --json alone prints the stream and writes no report.
    const jsonCwd = mkdtempSync(join(dir, 'cwd-'));
    expect(cli([...args, '--json'], jsonCwd).code).toBe(0);
    expect(existsSync(join(jsonCwd, 'handsoff-report.html'))).toBe(false);
  });
});
