/**
 * The console's backend on AWS: what it shows comes from the control plane's tables (the
 * changes table: every change started; the audit table: every event concerning a change,
 * keyed by core/operator-items.ts auditPk and sorted by time), folded by the same pure fold
 * as locally; what people do runs the operator handler's `operate()` in this process, with
 * the caller as `by` and, for a decision, the approvers group as the Cognito token says it
 * (the caller alone when they are in `approvers`, else nobody), so the rules of
 * core/operators.ts decide as they do for the operator function. The blockers come from the
 * alarms themselves (console/aws-blockers.ts). No clock: on AWS time is the clock's.
 */
import { GetCommand, ScanCommand, type ScanCommandInput } from '@aws-sdk/lib-dynamodb';
import type { HandsoffEvent } from '../core/events.ts';
import { auditPk } from '../core/operator-items.ts';
import type { OperatorAction, OperatorResult } from '../core/operators.ts';
import { CHANGE_STARTED_SK, changeKey, type ChangeStartedItem } from '../core/tables.ts';
import { operate as operatorOperate } from '../lambdas/operator/index.ts';
import { clients } from '../lambdas/shared/clients.ts';
import { queryAll } from '../lambdas/shared/dynamo.ts';
import { table } from '../lambdas/shared/tables.ts';
import type { ConsolePipeline } from '../core/console.ts';
import type { Caller, ChangeView, ConsoleBackend, PipelineView, StateView } from './api.ts';
import { blockerReader } from './aws-blockers.ts';
import { overrideConcernsChange } from './state.ts';

/** The pure fold of the event stream into what the API answers (console/state.ts). */
export interface ConsoleFold {
  state(input: { events: readonly HandsoffEvent[]; pipelines: readonly PipelineView[]; nowMs: number }): StateView;
  change(events: readonly HandsoffEvent[], id: string): ChangeView | undefined;
}

export interface AwsBackendOptions {
  /** The pipelines' stages, waves and teams, as the stack wrote them at synth (core/console.ts). */
  readonly pipelines: readonly ConsolePipeline[];
  readonly fold: ConsoleFold;
  /** @default the operator handler's operate() */
  readonly operate?: (action: OperatorAction) => Promise<OperatorResult>;
  /** The blocker alarms' states now, as `world.alarm` events. @default console/aws-blockers.ts blockerReader */
  readonly blockers?: () => Promise<HandsoffEvent[]>;
}

/** Keys of an audit record that are the table's, not the event's. */
const RECORD_KEYS = new Set(['pk', 'sk', 'expiresAt']);

const parsed = (json: string): unknown => {
  try {
    return JSON.parse(json);
  } catch {
    return undefined;
  }
};

/**
 * The event an audit record holds: its `event` attribute (the event as published, JSON, or an
 * object), else the record without its keys. A record that holds no event (no `type`, no
 * `time`) is none.
 */
export const eventOfRecord = (item: Record<string, unknown>): HandsoffEvent | undefined => {
  const held = typeof item.event === 'string' ? parsed(item.event) : item.event;
  const event = (held && typeof held === 'object' ? held : Object.fromEntries(Object.entries(item).filter(([k]) => !RECORD_KEYS.has(k)))) as Record<string, unknown>;
  return typeof event.type === 'string' && typeof event.time === 'string' ? (event as unknown as HandsoffEvent) : undefined;
};

/** In time order; records of one time keep their order (each partition's, by sort key). */
const byTime = (events: HandsoffEvent[]): HandsoffEvent[] =>
  events
    .map((e, i) => ({ e, i }))
    .sort((a, b) => (a.e.time < b.e.time ? -1 : a.e.time > b.e.time ? 1 : a.i - b.i))
    .map(({ e }) => e);

const scanAll = async <T>(input: ScanCommandInput): Promise<T[]> => {
  const items: T[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await clients().dynamo().send(new ScanCommand({ ...input, ExclusiveStartKey: startKey }));
    items.push(...((page.Items ?? []) as T[]));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return items;
};

const recordsToEvents = (items: Record<string, unknown>[]): HandsoffEvent[] =>
  items
    .sort((a, b) => String(a.pk).localeCompare(String(b.pk)) || String(a.sk).localeCompare(String(b.sk)))
    .map(eventOfRecord)
    .filter((e): e is HandsoffEvent => e !== undefined);

/**
 * A change the changes table knows and the audit trail does not name yet (its
 * `change.received` is still on its way): the received event, from the change's record.
 */
const receivedOf = (c: ChangeStartedItem): HandsoffEvent => ({
  time: c.mergedAt ?? c.startedAt,
  type: 'change.received',
  pipeline: c.pipeline,
  change: c.change,
  author: c.author,
});

const withChanges = (events: HandsoffEvent[], changes: readonly ChangeStartedItem[]): HandsoffEvent[] => {
  const named = new Set(events.filter((e) => e.type === 'change.received').map((e) => `${e.pipeline}#${e.change}`));
  return byTime([...events, ...changes.filter((c) => !named.has(`${c.pipeline}#${c.change}`)).map(receivedOf)]);
};

export const createAwsBackend = (options: AwsBackendOptions): ConsoleBackend => {
  const operate = options.operate ?? operatorOperate;
  const pipelineNames = options.pipelines.map((p) => p.name);
  const blockers = options.blockers ?? blockerReader(options.pipelines);

  const allEvents = async (): Promise<HandsoffEvent[]> => byTime(recordsToEvents(await scanAll<Record<string, unknown>>({ TableName: table.audit() })));

  /** The change's record in the changes table, found by its id in each pipeline. */
  const findChange = async (id: string, pipeline?: string): Promise<ChangeStartedItem | undefined> => {
    const candidates = pipeline ? [pipeline] : pipelineNames;
    const found = await Promise.all(
      candidates.map(async (p) => (await clients().dynamo().send(new GetCommand({ TableName: table.changes(), Key: changeKey(p, id) }))).Item as ChangeStartedItem | undefined),
    );
    return found.find((c) => c !== undefined);
  };

  const act = async (action: OperatorAction, caller: Caller): Promise<OperatorResult> => {
    // Who acts is who signed in, whatever the request says.
    let asked: OperatorAction = { ...action, by: caller.name };
    if (asked.action === 'emergency-decision') asked = { ...asked, approvers: caller.approver ? [caller.name] : [] };
    if (asked.action !== 'override' && asked.pipeline === undefined) {
      const change = await findChange(asked.change);
      if (!change) return { status: 404, error: `no change '${asked.change}' in ${pipelineNames.join(', ') || 'any pipeline'}`, reason: 'unknown-change' };
      asked = { ...asked, pipeline: change.pipeline };
    }
    // An override of a change is for the change's pipeline (its events and audit record carry it).
    if (asked.action === 'override' && asked.change !== undefined && asked.pipeline === undefined) {
      const change = await findChange(asked.change);
      if (!change) {
        const message = `no change '${asked.change}' in ${pipelineNames.join(', ') || 'any pipeline'}; name a merged change, or give its pipeline too`;
        return { status: 400, error: `change: ${message}`, reason: 'invalid-request', problems: [{ field: 'change', message }] };
      }
      asked = { ...asked, pipeline: change.pipeline };
    }
    return operate(asked);
  };

  return {
    kind: 'aws',
    async state() {
      const [events, changes, alarms] = await Promise.all([allEvents(), scanAll<ChangeStartedItem>({ TableName: table.changes() }), blockers()]);
      const started = changes.filter((c) => c.sk === CHANGE_STARTED_SK);
      // The alarms' states are now's: after every recorded event.
      return options.fold.state({ events: [...withChanges(events, started), ...alarms], pipelines: options.pipelines, nowMs: Date.now() });
    },
    async change(id) {
      const change = await findChange(id);
      const pipelines = change ? [change.pipeline] : pipelineNames;
      const partition = (pk: string) => queryAll<Record<string, unknown>>({ TableName: table.audit(), KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': pk } });
      // The change's own records, and the overrides that concern it recorded under its
      // pipeline or `*` (an override of the pipeline, or of every pipeline), as the local fold shows them.
      const [own, wider] = await Promise.all([
        Promise.all(pipelines.map((p) => partition(auditPk(p, id)))),
        Promise.all([...pipelines.map((p) => auditPk(p, undefined)), auditPk(undefined, undefined)].map(partition)),
      ]);
      const overrides = recordsToEvents(wider.flat()).filter((e) => overrideConcernsChange(e, id, change?.pipeline));
      const events = withChanges(byTime([...recordsToEvents(own.flat()), ...overrides]), change ? [change] : []);
      return options.fold.change(events, id);
    },
    act,
    events: allEvents,
  };
};
