/**
 * dynalite reads a Query's or a Scan's items through a Node stream over its store's iterator,
 * one promise and one stream event per item, then through a lazy list: for the few items of
 * the reconciler's index Query at each sweep, that machinery costs more than the items.
 * This reads the same key range of the same store in batches from the iterator and gives the
 * items to the same steps dynalite takes after its stream (the Limit and 1 MB page, the
 * filter, the projection, the consumed capacity, LastEvaluatedKey), with dynalite's own
 * functions. Validation, key ranges, conditions and writes stay dynalite's. A read that
 * fetches from the table for an index not projecting ALL goes dynalite's own way.
 */
import { createRequire } from 'node:module';

type Item = Record<string, unknown>;
type Callback = (err: unknown, result?: Record<string, unknown>) => void;
type Key = { AttributeName: string };

interface Table {
  TableName: string;
  KeySchema: Key[];
}

interface RangeOptions {
  reverse?: boolean;
  limit?: number;
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
}

interface Request {
  TableName: string;
  IndexName?: string;
  Limit?: number;
  ConsistentRead?: boolean;
  ReturnConsumedCapacity?: string;
  Select?: string;
  QueryFilter?: unknown;
  ScanFilter?: unknown;
  ConditionalOperator?: unknown;
  AttributesToGet?: unknown;
  _filter?: { expression: unknown };
  _projection?: { paths: unknown };
}

interface ValueIterator {
  nextv(size: number): Promise<Item[]>;
  close(): Promise<void>;
}

interface Store {
  db: { values(options: RangeOptions): ValueIterator };
}

type QueryTable = (store: Store, table: Table, data: Request, opts: RangeOptions, isLocal: boolean, fetchFromItemDb: boolean, startKeyNames: string[], cb: Callback) => void;

interface DynaliteDb {
  queryTable: QueryTable;
  itemSize(item: Item, compress?: boolean, addMetaSize?: boolean, rangeKey?: string): number;
  matchesExprFilter(item: Item, expression: unknown): boolean;
  matchesFilter(item: Item, filter: unknown, operator: unknown): boolean;
  mapPaths(paths: unknown, item: Item): Item;
}

/** dynalite's page: at most this many bytes of items per Query or Scan. */
const PAGE_BYTES = 1024 * 1024;
/** Items taken from the store's iterator at a time. */
const BATCH = 100;

/**
 * One state per process, kept on the process and not in this module: dynalite's module is one
 * per process, so a second copy of this module (another module graph) neither wraps its
 * queryTable again nor holds a switch that the installed read does not see.
 */
interface ReadsState {
  installed: boolean;
  /** Off: every read through dynalite's own stream (for tests). */
  enabled: boolean;
}
const state = ((globalThis as Record<symbol, unknown>)[Symbol.for('handsoff.dynalite.batchedReads')] ??= { installed: false, enabled: true }) as ReadsState;

/**
 * The key range of a table's or index's items in dynalite's one store: each sub-database is a
 * key prefix (dynalite's createPrefixedDbWrapper), with the same bounds it gives its stream.
 */
const prefixed = (prefix: string, opts: RangeOptions): RangeOptions => {
  const out: RangeOptions = { ...opts };
  if (out.gte) out.gte = prefix + out.gte;
  else if (out.gt) out.gt = prefix + out.gt;
  else out.gte = prefix;
  if (out.lte) out.lte = prefix + out.lte;
  else if (out.lt) out.lt = prefix + out.lt;
  else out.lt = `${prefix}\xFF`;
  return out;
};

const fastQueryTable =
  (db: DynaliteDb, original: QueryTable): QueryTable =>
  (store, table, data, opts, isLocal, fetchFromItemDb, startKeyNames, cb) => {
    if (!state.enabled || fetchFromItemDb) return original(store, table, data, opts, isLocal, fetchFromItemDb, startKeyNames, cb);
    const name = data.IndexName ? `index-${isLocal ? 'local' : 'global'}~${data.TableName}~${data.IndexName}` : `item-${data.TableName}`;
    const iterator = store.db.values(prefixed(`${name}~`, opts));
    const calculateCapacity = ['TOTAL', 'INDEXES'].includes(data.ReturnConsumedCapacity ?? '');
    const rangeKey = table.KeySchema[1]?.AttributeName;
    let tableCapacity = 0;
    let indexCapacity = 0;
    let size = 0;
    let count = 0;
    let items: Item[] = [];
    // What dynalite's takeWhile keeps: items until Limit or a 1 MB page.
    const full = (): boolean => (data.Limit !== undefined && count >= data.Limit) || size >= PAGE_BYTES;
    const take = async (): Promise<void> => {
      try {
        for (;;) {
          const batch = await iterator.nextv(BATCH);
          if (batch.length === 0) return;
          for (const val of batch) {
            if (full()) return;
            if (calculateCapacity) {
              const capacitySize = db.itemSize(val);
              if (data.IndexName) indexCapacity += capacitySize;
              else tableCapacity += capacitySize;
            }
            count++;
            size += db.itemSize(val, true, true, rangeKey);
            items.push(val);
          }
        }
      } finally {
        await iterator.close();
      }
    };
    /** The answer from the items taken, as dynalite's join of its stream gives it. */
    const answer = (): Record<string, unknown> => {
      const lastItem = items[items.length - 1];
      const queryFilter = data.QueryFilter ?? data.ScanFilter;
      if (data._filter) {
        const expression = data._filter.expression;
        items = items.filter((val) => db.matchesExprFilter(val, expression));
      } else if (queryFilter) {
        items = items.filter((val) => db.matchesFilter(val, queryFilter, data.ConditionalOperator));
      }
      const result: Record<string, unknown> = { ScannedCount: count };
      // Never more than Limit items were taken: the page ends at the last one.
      if (full() && lastItem) result.LastEvaluatedKey = Object.fromEntries(startKeyNames.map((attr) => [attr, lastItem[attr]]));
      const paths = data._projection ? data._projection.paths : data.AttributesToGet;
      if (paths) items = items.map((item) => db.mapPaths(paths, item));
      result.Count = items.length;
      if (data.Select !== 'COUNT') result.Items = items;
      if (calculateCapacity) {
        const tableUnits = Math.ceil(tableCapacity / 1024 / 4) * (data.ConsistentRead ? 1 : 0.5);
        const indexUnits = Math.ceil(indexCapacity / 1024 / 4) * (data.ConsistentRead ? 1 : 0.5);
        const consumed: Record<string, unknown> = { CapacityUnits: tableUnits + indexUnits, TableName: data.TableName };
        if (data.ReturnConsumedCapacity === 'INDEXES') {
          consumed.Table = { CapacityUnits: tableUnits };
          if (data.IndexName) consumed[isLocal ? 'LocalSecondaryIndexes' : 'GlobalSecondaryIndexes'] = { [data.IndexName]: { CapacityUnits: indexUnits } };
        }
        result.ConsumedCapacity = consumed;
      }
      return result;
    };
    take().then(() => {
      let result: Record<string, unknown>;
      try {
        result = answer();
      } catch (err) {
        return cb(err);
      }
      // Outside the try: what dynalite does with the answer is not this read's error.
      cb(null, result);
    }, cb);
  };

/** Puts the batched read in place of dynalite's streamed one (once per process). */
export const installFastReads = (): void => {
  if (state.installed) return;
  const db = createRequire(import.meta.url)('dynalite/db/index.js') as DynaliteDb;
  db.queryTable = fastQueryTable(db, db.queryTable);
  state.installed = true;
};

/** For tests: read through dynalite's own stream (`enabled` false) or in batches (true). */
export const fastReads: Pick<ReadsState, 'enabled'> = state;
