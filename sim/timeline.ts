/**
 * The human form of the event stream: one readable line per event that matters to a person
 * watching a rollout, and a closing summary per change.
 */
import type { HandsoffEvent } from '../core/events.ts';
import type { ChangeSummary, SimulationResult } from './types.ts';

const when = (iso: string): string => `${iso.slice(0, 10)} ${iso.slice(11, 16)}Z`;

const scopeOf = (e: HandsoffEvent): string => {
  const parts = [e.stage, e.region, e.unit ?? (e.target === 'onebox' ? 'one-box' : undefined)].filter(Boolean);
  return parts.join(' / ');
};

/** A line for the event, or undefined for events too fine-grained for the timeline. */
export const describeEvent = (e: HandsoffEvent): string | undefined => {
  const head = `${when(e.time)}  ${(e.change ?? '').padEnd(6)}`;
  const scope = scopeOf(e);
  switch (e.type) {
    case 'change.received':
      return `${head} merged by ${e.author} into ${e.pipeline}`;
    case 'change.rejected':
      return `${head} REJECTED: ${e.reason}`;
    case 'change.superseded':
      return `${head} superseded by ${e.by} at ${e.stage}`;
    case 'change.completed':
      return `${head} COMPLETED everywhere, lead time ${e.leadTime}`;
    case 'change.failed':
      return `${head} FAILED in ${[e.stage, e.region].filter(Boolean).join(' / ')}: ${e.reason}`;
    case 'build.completed':
      return `${head} built ${e.revision}, sha256 ${String(e.sha256).slice(0, 12)}...`;
    case 'stage.started':
      return `${head} ${e.stage} started`;
    case 'stage.completed':
      return `${head} ${e.stage} completed`;
    case 'blocked':
      return `${head} blocked (${e.reason}${e.alarm ? `: ${e.alarm}` : ''}) at ${scope}${e.until ? ` until ${when(String(e.until))}` : ''}`;
    case 'unblocked':
      return `${head} unblocked (${e.reason}) at ${scope}`;
    case 'deployment.started':
      return `${head} deploying to ${scope} (${e.target}) ${e.deploymentId}`;
    case 'deployment.succeeded':
      return `${head} deployed to ${scope}`;
    case 'deployment.failed':
      return `${head} deployment FAILED at ${scope}`;
    case 'bake.started':
      return `${head} baking ${scope} for ${e.duration}`;
    case 'bake.extended':
      return `${head} bake extended at ${scope} (${e.reason})`;
    case 'bake.completed':
      return `${head} bake done at ${scope}`;
    case 'tests.passed':
      return `${head} ${e.suite} tests passed at ${scope}`;
    case 'tests.failed':
      return `${head} ${e.suite} tests FAILED at ${scope}: ${e.reason}`;
    case 'alarm.triggered':
      return `${head} ALARM ${e.alarm} at ${scope}`;
    case 'rollback.started':
      return `${head} rolling back ${scope} to ${e.revision}`;
    case 'rollback.completed':
      return `${head} rolled back ${scope} to ${e.revision}`;
    case 'world.alarm':
      return e.state === 'ALARM' && (e.pipeline || String(e.alarm).includes('-aggregate')) ? `${when(e.time)}  ${''.padEnd(6)} (world) alarm ${e.alarm} is ALARM` : undefined;
    case 'world.fault':
      return describeFault(e);
    default:
      return undefined;
  }
};

/** Faults a person cares about: crashes, dead letters, deleted alarms, throttles that got through the SDK's retries. */
const describeFault = (e: HandsoffEvent): string | undefined => {
  const head = `${when(e.time)}  ${(e.change ?? '').padEnd(6)} (fault)`;
  switch (e.fault) {
    case 'crash':
      return `${head} ${e.handler} crashed ${e.when}`;
    case 'dead-letter':
      return `${head} ${e.handler} gave up on an event after every retry: ${e.error}`;
    case 'delete-alarm':
      return `${head} alarm ${e.alarm} deleted in ${e.region}`;
    case 'throttle':
      return e.surfaced ? `${head} ${e.service} ${e.operation} throttled on every attempt (${e.handler ?? 'handsoff'})` : undefined;
    default:
      return undefined;
  }
};

const row = (id: string, c: ChangeSummary): string =>
  `  ${id.padEnd(8)} ${c.status.padEnd(11)} lead time ${(c.leadTime ?? '-').padEnd(14)} failed requests ${String(c.failedRequests).padStart(7)}   regions reached ${c.regionsReached.length}`;

export const summary = (result: SimulationResult): string =>
  ['', 'Outcome:', ...Object.entries(result.changes).map(([id, c]) => row(id, c)), ''].join('\n');
