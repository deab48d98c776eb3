/**
 * `npm run chaos -- --runs N [--seed S]`: N seeded random fault mixes over healthy and bad
 * changes on a small pipeline, each run checked against the invariants of docs/simulation.md
 * ("Faults") from the world's own ground truth (`world.deployment`) and the run's summary:
 * - never promoted on doubt: a bad change (its boxes fail in the first production region
 *   only) is deployed nowhere past that region's one-box;
 * - never two deployments at once in one deployment group;
 * - a revision deployed at most once per group (rollbacks aside): no second deployment of a
 *   revision that already succeeded there, with no other revision in between;
 * - a failed change on no box at the end (`boxesAtEnd` 0);
 * - nothing older deploys after something newer in any deployment group (release batching);
 * - every healthy change completes when the faults are moderate (no deleted alarm), or is
 *   superseded by a newer change that completes (which carries it).
 */
import type { HandsoffEvent } from '../core/events.ts';
import type { ResolvedPipeline } from '../core/model.ts';
import { validatePipeline } from '../core/pipeline/resolve.ts';
import { REGION_CATALOG } from '../infra/catalog/regions.ts';
import { CHAOS_PIPELINE, groupOf, orderViolations } from './chaos-shared.ts';
import { simulate } from './engine.ts';
import { DUPLICATED_SOURCES, LOST_SOURCES, THROTTLED_SERVICES } from './faults.ts';
import { validateScenario, type ScenarioJson } from './scenario.ts';
import { toSimScenario } from './scenario-adapter.ts';
import type { ChangeSummary } from './types.ts';
import { keyOf, noise } from './world/random.ts';

const START = '2026-11-30T08:00:00Z';
const UNTIL = '2026-12-03T08:00:00Z';
const at = (minutes: number): string => new Date(Date.parse(START) + minutes * 60_000).toISOString();

export const chaosPipeline = (): ResolvedPipeline => {
  const v = validatePipeline(CHAOS_PIPELINE, 'chaos', { catalog: REGION_CATALOG });
  if (!v.ok) throw new Error(`internal: the chaos pipeline is invalid: ${v.problems.map((p) => p.message).join('; ')}`);
  return v.pipeline;
};

export interface Mix {
  seed: number;
  scenario: ScenarioJson;
  /** Changes expected to be caught at the first production region's one-box. */
  bad: string[];
  healthy: string[];
  /** No deleted alarm: healthy changes must complete. */
  moderate: boolean;
  /** One line per fault, for the report. */
  description: string[];
}

/** A random mix of faults and changes, all drawn from `seed`. */
export const randomMix = (seed: number, pipeline: ResolvedPipeline): Mix => {
  let n = 0;
  const u = (): number => noise(seed, keyOf('chaos-mix'), n++);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(u() * items.length)]!;
  const firstRegion = pipeline.waves[0]!.regions[0]!.region;
  const events: NonNullable<ScenarioJson['events']> = [];
  const description: string[] = [];
  const window = (): { at: string; until: string } => {
    const from = Math.floor(u() * 240);
    return { at: at(from), until: at(from + 30 + Math.floor(u() * 2000)) };
  };
  for (const service of THROTTLED_SERVICES) {
    if (u() < 0.5) continue;
    const rate = Math.round(u() * 30) / 100;
    events.push({ kind: 'fault', fault: 'throttle', service, rate, at: at(0), until: UNTIL });
    description.push(`throttle ${service} ${rate}`);
  }
  if (u() < 0.7) {
    const handler = u() < 0.6 ? 'any' : pick(['start-deployment', 'start-bake', 'bake-end', 'rollback', 'lane', 'on-deployment-event', 'on-alarm-event', 'reconcile', 'check-window', 'notify']);
    const rate = Math.round(u() * 20) / 100;
    events.push({ kind: 'fault', fault: 'crash', handler, rate, at: at(0), until: UNTIL });
    description.push(`crash ${handler} ${rate}`);
  }
  for (const source of DUPLICATED_SOURCES) {
    if (u() < 0.6) continue;
    events.push({ kind: 'fault', fault: 'duplicate-events', source, at: at(0), until: UNTIL });
    description.push(`duplicate ${source}`);
  }
  for (const source of LOST_SOURCES) {
    if (u() < 0.7) continue;
    const w = window();
    events.push({ kind: 'fault', fault: 'lose-events', source, ...w });
    description.push(`lose ${source} ${w.at}..${w.until}`);
  }
  let moderate = true;
  if (u() < 0.15) {
    const region = pick(pipeline.waves.flatMap((w) => w.regions.map((r) => r.region)));
    const alarm = pick(['team-aggregate', 'company-event']);
    events.push({ kind: 'fault', fault: 'delete-alarm', region, alarm, at: at(Math.floor(u() * 600)) });
    description.push(`delete ${alarm} ${region}`);
    moderate = false;
  }
  const reviewed = { author: 'alice', approvedBy: ['bob'] };
  const badBehavior = u() < 0.5 ? { kind: 'faults' as const, rate: 0.5, regions: [firstRegion] } : { kind: 'crash' as const, regions: [firstRegion] };
  const withBad = u() < 0.7;
  const changes: NonNullable<ScenarioJson['changes']> = [
    { id: 'c1', at: at(60), ...reviewed, behavior: { kind: 'healthy' } },
    { id: 'c2', at: at(90), ...reviewed, behavior: withBad ? badBehavior : { kind: 'healthy' } },
    // The next commit: it replaces whatever a failed change left in pre-production.
    { id: 'c3', at: at(600), ...reviewed, behavior: { kind: 'healthy' } },
  ];
  if (withBad) description.push(`c2 bad: ${badBehavior.kind} in ${firstRegion}`);
  return {
    seed,
    scenario: { start: START, until: UNTIL, seed, changes, events },
    bad: withBad ? ['c2'] : [],
    healthy: withBad ? ['c1', 'c3'] : ['c1', 'c2', 'c3'],
    moderate,
    description,
  };
};

/** Every invariant the run breaks, one line each. */
export const violations = (mix: Mix, pipeline: ResolvedPipeline, events: HandsoffEvent[]): string[] => {
  const out: string[] = [];
  const firstRegion = pipeline.waves[0]!.regions[0]!.region;
  const deployments = events.filter((e) => e.type === 'world.deployment');

  // Never promoted on doubt.
  const reported = new Set<string>();
  for (const e of deployments) {
    if (!mix.bad.includes(String(e.revision)) || e.status !== 'Created') continue;
    const preProd = typeof e.stage === 'string' && !e.stage.startsWith('wave-');
    const firstOneBox = e.region === firstRegion && e.target === 'onebox';
    const where = `${String(e.stage)}/${String(e.region)}/${String(e.unit ?? e.target)}`;
    if (!preProd && !firstOneBox && !reported.has(where)) {
      reported.add(where);
      out.push(`promoted on doubt: bad change ${String(e.revision)} deployed to ${where} at ${e.time}, past the one-box of ${firstRegion} that should have caught it`);
    }
  }

  // One deployment at a time per group; a revision at most once per group.
  const active = new Map<string, string>();
  const last = new Map<string, { revision: string; succeeded: boolean }>();
  const statusOf = new Map<string, string>();
  for (const e of deployments) {
    const group = groupOf(e);
    const id = String(e.deploymentId);
    if (e.status === 'Created') {
      const running = active.get(group);
      if (running && running !== id) out.push(`two deployments at once in ${group}: ${id} created at ${e.time} while ${running} runs`);
      active.set(group, id);
      const previous = last.get(group);
      if (previous && previous.succeeded && previous.revision === e.revision) {
        out.push(`revision ${String(e.revision)} deployed twice to ${group}: ${id} at ${e.time}, after it succeeded there`);
      }
      last.set(group, { revision: String(e.revision), succeeded: false });
    } else if (['Succeeded', 'Failed', 'Stopped'].includes(String(e.status))) {
      if (active.get(group) === id) active.delete(group);
      if (e.status === 'Succeeded' && last.get(group)?.revision === e.revision) last.set(group, { revision: String(e.revision), succeeded: true });
    }
    statusOf.set(id, String(e.status));
  }

  out.push(...orderViolations(events, (mix.scenario.changes ?? []).map((c) => c.id)));

  const finished = events.find((e) => e.type === 'simulation.finished');
  const changes = (finished?.changes ?? {}) as Record<string, ChangeSummary>;
  const carriedBy = new Map(events.filter((e) => e.type === 'change.superseded').map((e) => [String(e.change), String(e.by)]));
  for (const [id, c] of Object.entries(changes)) {
    if (c.status === 'failed' && c.boxesAtEnd !== 0) out.push(`failed change ${id} still on ${c.boxesAtEnd} boxes at the end`);
  }
  /** The change that carried `id` on: itself, or the end of its chain of supersessions (c1 by c2, c2 by c3: c3). */
  const carrierOf = (id: string): string => {
    const seen = new Set<string>();
    let at = id;
    while (changes[at]?.status === 'superseded' && carriedBy.has(at) && !seen.has(at)) {
      seen.add(at);
      at = carriedBy.get(at)!;
    }
    return at;
  };
  if (mix.moderate) {
    for (const id of mix.healthy) {
      const end = carrierOf(id);
      const carrier = end === id ? undefined : end;
      if (changes[end]?.status === 'succeeded') continue;
      out.push(`healthy change ${id} did not complete under moderate faults: ${changes[id]?.status ?? 'no summary'}${carrier ? ` (superseded by ${carrier})` : ''}`);
    }
  }
  return out;
};

export interface ChaosRun {
  seed: number;
  mix: Mix;
  violations: string[];
  events: HandsoffEvent[];
}

/** Runs one mix through the simulator and checks it. */
export const runMix = async (seed: number): Promise<ChaosRun> => {
  const pipeline = chaosPipeline();
  const mix = randomMix(seed, pipeline);
  const v = validateScenario(mix.scenario, `chaos seed ${seed}`, [pipeline]);
  if (!v.ok) throw new Error(`internal: chaos scenario of seed ${seed} is invalid: ${v.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
  const events: HandsoffEvent[] = [];
  await simulate({ pipelines: [pipeline], scenario: toSimScenario(v.scenario, [pipeline]), onEvent: (e) => events.push(e) });
  return { seed, mix, violations: violations(mix, pipeline, events), events };
};

/** `runs` mixes from seeds `seed`, `seed + 1`, ...; prints each violation with its seed and a summary. */
export const runChaos = async (opts: { runs: number; seed: number; write: (line: string) => void }): Promise<{ passed: number; failed: number }> => {
  let passed = 0;
  let failed = 0;
  for (let i = 0; i < opts.runs; i++) {
    const seed = opts.seed + i;
    const run = await runMix(seed);
    if (run.violations.length === 0) passed++;
    else {
      failed++;
      opts.write(`seed ${seed} [${run.mix.description.join(', ') || 'no faults'}]:`);
      for (const v of run.violations) opts.write(`  seed ${seed}: ${v}`);
    }
  }
  opts.write(`${passed} passed, ${failed} failed`);
  return { passed, failed };
};
