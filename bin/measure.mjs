#!/usr/bin/env node
/**
 * Times the CLI on two scenarios, as a user runs it (`bin/handsoff.mjs simulate ... --json`):
 * - `rejected`: the example pipeline and one change the review gate rejects (start-up alone);
 * - `scale`: ten pipelines of six regions (the example pipeline under ten names, one team),
 *   one healthy change each, in one world.
 * With `--against DIR` (another checkout, its dependencies installed), runs alternate
 * between the two (A, B, A, B...) so that both see the same load. Prints, per scenario and
 * checkout, the median and min-max of wall and CPU seconds, and the load average. One
 * untimed run each first (it makes the build and its cache). Nothing here is a test.
 *
 * usage: node bin/measure.mjs [--runs N] [--against DIR] [rejected|scale]...
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = fileURLToPath(new URL('..', import.meta.url));
const { values, positionals } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, against: { type: 'string' } },
  allowPositionals: true,
});
const runs = Number(values.runs);
const checkouts = [HERE, ...(values.against ? [resolve(values.against)] : [])];
const which = positionals.length > 0 ? positionals : ['rejected', 'scale'];

const dir = mkdtempSync(join(tmpdir(), 'handsoff-measure-'));
const write = (name, value) => {
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify(value, null, 2));
  return path;
};
const example = JSON.parse(readFileSync(join(HERE, 'examples/pipeline.json'), 'utf8'));
const window = { start: '2026-11-30T08:00:00Z', until: '2026-12-21T00:00:00Z' };
const scale = Array.from({ length: 10 }, (_, i) => `svc-${String(i + 1).padStart(2, '0')}`);
const scenarios = {
  rejected: [
    '--pipeline', join(HERE, 'examples/pipeline.json'),
    '--scenario', write('rejected.json', { ...window, changes: [{ id: 'r1', at: '2026-11-30T09:00:00Z', author: 'alice', approvedBy: ['alice'] }] }),
  ],
  scale: [
    ...scale.flatMap((name, i) => ['--pipeline', write(`${name}.json`, { ...example, name, service: `Svc${String(i + 1).padStart(2, '0')}` })]),
    '--scenario',
    write('scale.json', { ...window, changes: scale.map((pipeline, i) => ({ id: `c${i + 1}`, at: '2026-11-30T09:00:00Z', author: 'alice', approvedBy: ['bob'], pipeline })) }),
  ],
};

/** CPU seconds of this process's waited-for children so far (Linux /proc; 0 elsewhere). */
const childCpu = () => {
  try {
    const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return (Number(fields[13]) + Number(fields[14])) / 100; // cutime + cstime, in clock ticks
  } catch {
    return 0;
  }
};

const once = (checkout, args) => {
  const cpu = childCpu();
  const t = process.hrtime.bigint();
  const r = spawnSync(process.execPath, [join(checkout, 'bin/handsoff.mjs'), 'simulate', ...args, '--json'], { cwd: checkout, stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`${checkout}: exit ${r.status}: ${r.stderr}`);
  return { wall: Number(process.hrtime.bigint() - t) / 1e9, cpu: childCpu() - cpu };
};

const summary = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const median = s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  return `${median.toFixed(2)} (${s[0].toFixed(2)}-${s[s.length - 1].toFixed(2)})`;
};

for (const name of which) {
  const args = scenarios[name];
  if (!args) throw new Error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(', ')}`);
  for (const c of checkouts) once(c, args);
  const figures = checkouts.map(() => ({ wall: [], cpu: [] }));
  const load = [loadavg()[0]];
  for (let i = 0; i < runs; i++) {
    checkouts.forEach((c, k) => {
      const { wall, cpu } = once(c, args);
      figures[k].wall.push(wall);
      figures[k].cpu.push(cpu);
    });
  }
  load.push(loadavg()[0]);
  checkouts.forEach((c, k) => {
    process.stdout.write(`${name}  ${c}: wall ${summary(figures[k].wall)} s, CPU ${summary(figures[k].cpu)} s (median (min-max) of ${runs}; load ${load.map((l) => l.toFixed(1)).join(' -> ')})\n`);
  });
}
