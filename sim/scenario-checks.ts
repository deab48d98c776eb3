/**
 * The checks of a scenario that relate its fields to each other and to the pipelines it runs
 * against (a change's `pipeline`, the regions a behavior names, times within the run): every
 * problem at once, each naming the field, the value and the fix. They read the raw input
 * defensively, so they still run when some other field failed the schema.
 */
import type { ResolvedPipeline } from '../core/model.ts';
import { type Problem, formatPath, isRecord, showValue } from '../core/problems.ts';
import { REGION_CATALOG } from '../infra/catalog/regions.ts';
import { DEFAULT_LENGTH_DAYS, parseTime } from './scenario.ts';
import { faultProblems } from './scenario-faults.ts';
import { overrideProblems } from '../core/operators.ts';
import { consolePipeline, productionRegions } from '../core/console.ts';


const prodRegions = (p: ResolvedPipeline): string[] => p.waves.flatMap((w) => w.regions.map((r) => r.region));

export function semanticProblems(raw: Record<string, unknown>, file: string, pipelines: readonly ResolvedPipeline[]): Problem[] {
  const problems: Problem[] = [];
  const add = (path: readonly PropertyKey[], message: string) => problems.push({ file, path: formatPath(path), message });
  const catalog = new Set(REGION_CATALOG.map((r) => r.code));
  const byName = new Map(pipelines.map((p) => [p.name, p]));
  const names = pipelines.map((p) => `'${p.name}'`).join(', ');
  const teams = [...new Set(pipelines.map((p) => p.team))];

  if (pipelines.length === 0) add([], 'no pipeline to run the scenario against; pass at least one pipeline');

  const startMs = parseTime(raw.start);
  const untilMs =
    raw.until === undefined ? (startMs === undefined ? undefined : startMs + DEFAULT_LENGTH_DAYS * 86_400_000) : parseTime(raw.until);
  if (startMs !== undefined && untilMs !== undefined && raw.until !== undefined && untilMs <= startMs) {
    add(['until'], `until ${showValue(raw.until)} is not after start ${showValue(raw.start)}; set until later than start`);
  }
  const checkInRun = (path: readonly PropertyKey[], at: unknown, what: string) => {
    const ms = parseTime(at);
    if (ms === undefined || startMs === undefined || untilMs === undefined || untilMs <= startMs) return;
    if (ms < startMs || ms >= untilMs) {
      add(
        path,
        `${what} at ${showValue(at)} is outside the simulated time [${new Date(startMs).toISOString()}, ${new Date(untilMs).toISOString()}); move it inside or change start/until`,
      );
    }
  };
  const checkPipelineName = (path: readonly PropertyKey[], name: unknown): ResolvedPipeline | undefined => {
    if (typeof name !== 'string') return undefined;
    const p = byName.get(name);
    if (!p) add(path, `names pipeline '${name}', which is not one of the pipelines of this run (${names || 'none'}); use one of them`);
    return p;
  };
  const checkRegion = (path: readonly PropertyKey[], region: unknown, what: string) => {
    if (typeof region === 'string' && !catalog.has(region)) {
      add(path, `${what} region '${region}' is not in the region catalog; known: ${[...catalog].join(', ')}`);
    }
  };

  // changes
  const changeIds = new Set<string>();
  const changes = Array.isArray(raw.changes) ? raw.changes : [];
  changes.forEach((change, i) => {
    if (!isRecord(change)) return;
    if (typeof change.id === 'string') {
      if (changeIds.has(change.id)) add(['changes', i, 'id'], `change id '${change.id}' is used twice; give each change its own id`);
      changeIds.add(change.id);
    }
    checkInRun(['changes', i, 'at'], change.at, 'change');
    let pipeline: ResolvedPipeline | undefined;
    if (change.pipeline === undefined) {
      if (pipelines.length > 1) {
        add(['changes', i, 'pipeline'], `missing required field 'pipeline': this run has several pipelines (${names}); name the one this change goes through`);
      } else pipeline = pipelines[0];
    } else pipeline = checkPipelineName(['changes', i, 'pipeline'], change.pipeline);

    const behavior = change.behavior;
    if (pipeline && isRecord(behavior) && Array.isArray(behavior.regions)) {
      const prod = prodRegions(pipeline);
      const preProd = pipeline.preProd.map((s) => `${s}:${pipeline.preProdRegion}`);
      behavior.regions.forEach((entry, j) => {
        if (typeof entry !== 'string' || prod.includes(entry) || preProd.includes(entry)) return;
        const path = ['changes', i, 'behavior', 'regions', j];
        const colon = entry.indexOf(':');
        if (colon >= 0) {
          add(
            path,
            `'${entry}' is not a pre-production stage of pipeline '${pipeline.name}'; its stages are ${preProd.map((s) => `'${s}'`).join(', ') || 'none'}`,
          );
        } else {
          add(
            path,
            `region '${entry}' is not a production region of pipeline '${pipeline.name}'; use one of its regions (${prod.join(', ')}) or 'stage:region' for pre-production (e.g. '${preProd[preProd.length - 1] ?? 'gamma:us-west-2'}')`,
          );
        }
      });
    }
    // A suite of a stage the pipeline does not have never runs: the failure would never happen.
    if (pipeline && isRecord(behavior) && behavior.kind === 'test-failure' && Array.isArray(behavior.stages)) {
      behavior.stages.forEach((stage, j) => {
        if (typeof stage !== 'string' || (pipeline.preProd as readonly string[]).includes(stage)) return;
        add(
          ['changes', i, 'behavior', 'stages', j],
          `stage '${stage}' is not a pre-production stage of pipeline '${pipeline.name}', so its suite never runs; its stages are ${pipeline.preProd.map((x) => `'${x}'`).join(', ') || 'none'} (add '${stage}' to the pipeline's preProd, or name one of them)`,
        );
      });
    }
  });

  // events
  const events = Array.isArray(raw.events) ? raw.events : [];
  events.forEach((event, i) => {
    if (!isRecord(event)) return;
    checkInRun(['events', i, 'at'], event.at, `${typeof event.kind === 'string' ? event.kind : 'event'} event`);
    switch (event.kind) {
      case 'company-event':
        checkRegion(['events', i, 'region'], event.region, 'company-event');
        break;
      case 'team-alarm':
        checkRegion(['events', i, 'region'], event.region, 'team-alarm');
        if (typeof event.team === 'string' && teams.length > 0 && !teams.includes(event.team)) {
          add(['events', i, 'team'], `team '${event.team}' owns none of the pipelines of this run; teams: ${teams.map((t) => `'${t}'`).join(', ')}`);
        } else if (event.team === undefined && teams.length > 1) {
          add(['events', i, 'team'], `missing required field 'team': the pipelines of this run belong to several teams (${teams.join(', ')}); name one`);
        }
        break;
      case 'override': {
        // The operator handler's own rule (core/operators.ts), with `at` as its now; a time
        // with a zone offset is judged as the UTC time it names.
        const at = parseTime(event.at);
        if (at === undefined) break;
        const expires = parseTime(event.expires);
        const input = expires === undefined ? event : { ...event, expires: new Date(expires).toISOString() };
        // The console's POST /api/overrides accepts the same regions (core/console.ts productionRegions).
        const regions = productionRegions(pipelines.map(consolePipeline));
        for (const problem of overrideProblems(input, { nowMs: at, regions, pipelines: pipelines.map((p) => p.name), changes: [...changeIds] })) {
          add(['events', i, ...(problem.field ? [problem.field] : [])], `override: ${problem.message}`);
        }
        break;
      }
      case 'emergency-request':
      case 'emergency-decision':
        if (typeof event.change === 'string' && !changeIds.has(event.change)) {
          add(
            ['events', i, 'change'],
            `${event.kind} names change '${event.change}', which is not a change of this scenario; known changes: ${[...changeIds].map((c) => `'${c}'`).join(', ') || 'none'}`,
          );
        }
        break;
      case 'holiday':
        checkRegion(['events', i, 'region'], event.region, 'holiday');
        if (event.pipeline !== undefined) checkPipelineName(['events', i, 'pipeline'], event.pipeline);
        break;
      case 'lose-events': {
        const at = parseTime(event.at);
        const until = parseTime(event.until);
        if (at !== undefined && until !== undefined && until <= at) {
          add(['events', i, 'until'], `lose-events until ${showValue(event.until)} is not after at ${showValue(event.at)}; set until later than at`);
        }
        break;
      }
      case 'fault':
        faultProblems(
          event,
          (field, message) => add(['events', i, field], message),
          parseTime,
          (field, region) => checkRegion(['events', i, field], region, 'delete-alarm'),
        );
        break;
      default:
        break;
    }
  });
  return problems;
}
