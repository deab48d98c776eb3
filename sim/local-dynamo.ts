/**
 * Local DynamoDB for the simulator: a real DynamoDB-compatible server (dynalite), with the
 * handsoff tables created with the same keys and indexes as the CDK stack defines.
 *
 * dynalite runs in this process and the SDK hands it each request directly (an in-process
 * request handler instead of a socket): the same HTTP request and response bytes dynalite
 * sees on loopback, without the socket round trip. Over 9,000 requests a simulated week,
 * that halves the simulator's wall time. dynalite's own timers are not touched by the
 * virtual clock: it schedules with setImmediate, which the simulator leaves real. Two things
 * in front of dynalite save work it repeats, never changing an answer: its expression parses
 * are remembered (dynalite-parse-cache.ts), and a Query's or Scan's items are read from its
 * store in batches instead of through a stream (dynalite-reads.ts). On the SDK's side, the
 * DocumentClient resolves each command class's middleware chain once (`cacheHandlers`), with
 * the one endpoint set in place of the SDK's endpoint middleware.
 */
import { EventEmitter } from 'node:events';
import { createRequire } from 'node:module';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient, type KeySchemaElement } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { endpointMiddlewareOptions } from '@smithy/core/endpoints';
import { TABLE_ENV } from '../lambdas/shared/config.ts';
import { TABLE_SCHEMAS, type TableName, type TableSchema } from '../core/tables.ts';
import { installParseCache } from './dynalite-parse-cache.ts';
import { installFastReads } from './dynalite-reads.ts';

export interface TableSpec extends TableSchema {
  env: string;
  name: string;
}

/** The control plane's tables, keys and indexes exactly as core/tables.ts defines them (the CDK stack reads the same). */
export const TABLES: readonly TableSpec[] = (Object.entries(TABLE_SCHEMAS) as Array<[TableName, TableSchema]>).map(([t, schema]) => ({
  ...schema,
  env: TABLE_ENV[t],
  name: `handsoff-${t}`,
}));

export interface LocalDynamo {
  client: DynamoDBDocumentClient;
  stop(): Promise<void>;
}

type Listener = (req: EventEmitter & Record<string, unknown>, res: Record<string, unknown>) => void;

interface SdkHttpRequest {
  method: string;
  path?: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

/** An SDK request handler that gives each HTTP request to dynalite's request listener. */
const inProcessHandler = (listener: Listener) => ({
  metadata: { handlerProtocol: 'http/1.1' },
  handle: (request: SdkHttpRequest) =>
    new Promise((resolve) => {
      const req = Object.assign(new EventEmitter(), {
        method: request.method,
        url: request.path || '/',
        headers: Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k.toLowerCase(), v])),
      });
      const headers: Record<string, string> = {};
      const res = {
        statusCode: 200,
        setHeader: (name: string, value: unknown) => {
          headers[name.toLowerCase()] = String(value);
        },
        end: (body?: string) => {
          // The bytes as they are: the SDK collects a stream body into them anyway.
          resolve({ response: { statusCode: res.statusCode, headers, body: Buffer.from(body ?? '') } });
        },
      };
      listener(req as unknown as EventEmitter & Record<string, unknown>, res);
      const body = request.body ?? '';
      // The SDK's body is a Uint8Array that warns when read as a string: take its bytes.
      req.emit('data', typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength));
      req.emit('end');
    }),
  updateHttpClientConfig: () => undefined,
  httpHandlerConfigs: () => ({}),
  destroy: () => undefined,
});

/**
 * dynalite checks that a request carries a SigV4 header, not its signature: a fixed one
 * saves hashing every request body.
 */
const localSigner = {
  sign: async (request: SdkHttpRequest) => {
    request.headers['x-amz-date'] = '20261130T000000Z';
    request.headers.authorization = 'AWS4-HMAC-SHA256 Credential=local/20261130/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0';
    return request;
  },
};

/** The one endpoint: what the SDK's endpoint rules give for a custom endpoint, without evaluating them per request. */
const LOCAL_ENDPOINT = new URL('http://dynalite.local/');

/** A command class's endpoint parameters, as the SDK's endpoint middleware reads them. */
type EndpointInstructions = Record<string, { type: string; get?: (input: unknown) => unknown }>;

/**
 * In place of the SDK's endpoint middleware on the cached chains: what it gives for this
 * client's endpoint provider (the one endpoint, no auth scheme properties), set without
 * resolving every endpoint parameter and copying the client's whole configuration per request.
 * The parameters read from the input (the tables of a transaction) are still read, so an input
 * the SDK's middleware cannot read (TransactItems that is no list) fails as it does, unsent.
 */
const localEndpointMiddleware = (instructions: EndpointInstructions) => {
  const fromInput = Object.values(instructions).filter((i) => i.type === 'operationContextParams' && i.get);
  return (next: (args: { input: unknown }) => Promise<unknown>, context: Record<string, unknown>) =>
    (args: { input: unknown }): Promise<unknown> => {
      for (const i of fromInput) i.get!(args.input);
      context.endpointV2 = { url: LOCAL_ENDPOINT };
      context.authSchemes = undefined;
      return next(args);
    };
};

/**
 * Client middlewares whose only work is for a remote service, none of it read by dynalite or
 * the handlers: the SDK's logger (the client has no logger), the user-agent header and the
 * Lambda recursion-detection header. Serialisation, signing, retries and parsing stay.
 */
export const LOCAL_UNUSED_MIDDLEWARES = ['loggerMiddleware', 'getUserAgentMiddleware', 'recursionDetectionMiddleware'] as const;

export interface LocalDynamoOptions {
  /** Keep every SDK middleware and the endpoint rules (to compare against; the simulator trims them). */
  sdkDefaults?: boolean;
}

/** A DocumentClient command (@aws-sdk/lib-dynamodb): its DynamoDB command and the marshalling around it. */
interface DocCommand {
  clientCommand: { resolveMiddleware(stack: unknown, config: unknown, options: unknown): Handler };
  middlewareStack: unknown;
  addMarshallingMiddleware(config: unknown): void;
}
type Handler = (command: unknown) => Promise<{ output: unknown }>;

/** The middleware stack's methods that change it (`applyToStack` and `concat` write to another stack). */
const MUTATORS = ['add', 'addRelativeTo', 'remove', 'removeByTag', 'use'] as const;

/**
 * The SDK's own `cacheMiddleware` for the DocumentClient: each command class's middleware chain
 * is resolved once, not at every request (the SDK copies and sorts the whole stack per request,
 * about a twentieth of a simulation's CPU). The SDK's option cannot be used as it is with the
 * DocumentClient: its cache keeps the first command's handler, which sends that first
 * command's input again. Here the chain of a class is built as the DocumentClient builds it
 * (its marshalling, then the DynamoDB command's own middlewares) and each command is handed
 * to it, so each request carries its own input; the marshalling reads only the class's key
 * paths and the client's options. A change to the client's middlewares (the simulator's meter
 * and faults) empties the cache, so a request always runs the stack as it is.
 */
const cacheHandlers = (client: DynamoDBDocumentClient): void => {
  const handlers = new Map<Function, Handler>();
  const stack = client.middlewareStack as unknown as Record<(typeof MUTATORS)[number], (...a: unknown[]) => unknown> & { concat(s: unknown): unknown };
  for (const m of MUTATORS) {
    const original = stack[m];
    stack[m] = (...a: unknown[]) => {
      handlers.clear();
      return original.apply(stack, a);
    };
  }
  const send = client.send.bind(client) as (...a: unknown[]) => Promise<unknown>;
  (client as unknown as { send: typeof send }).send = (command: unknown, ...rest: unknown[]) => {
    const doc = command as DocCommand;
    // Per-request options, callbacks and plain DynamoDB commands take the SDK's own path.
    if (rest.length > 0 || typeof doc.addMarshallingMiddleware !== 'function' || !doc.clientCommand) return send(command, ...rest);
    let handler = handlers.get(doc.constructor);
    if (!handler) {
      doc.addMarshallingMiddleware(client.config);
      // The command adds its own middlewares (the endpoint's among them) to this stack's concat, then resolves it.
      const outer = stack.concat(doc.middlewareStack) as typeof stack;
      const concat = outer.concat.bind(outer);
      const commandClass = doc.clientCommand.constructor as { getEndpointParameterInstructions?: () => EndpointInstructions };
      const endpoint = localEndpointMiddleware(commandClass.getEndpointParameterInstructions?.() ?? {});
      outer.concat = (own: unknown) => {
        const all = concat(own) as typeof stack;
        // The SDK's own placement and name for its endpoint middleware (override: true), so this one replaces it.
        all.addRelativeTo(endpoint, endpointMiddlewareOptions);
        return all;
      };
      handler = doc.clientCommand.resolveMiddleware(outer, client.config, undefined);
      handlers.set(doc.constructor, handler);
    }
    return handler(doc.clientCommand).then((r) => r.output);
  };
};

export const startLocalDynamo = async (opts: LocalDynamoOptions = {}): Promise<LocalDynamo> => {
  installParseCache();
  installFastReads();
  const dynalite = createRequire(import.meta.url)('dynalite') as (opts: Record<string, number>) => EventEmitter & { close(cb: () => void): void };
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  const listener = server.listeners('request')[0] as Listener;
  const raw = new DynamoDBClient({
    endpoint: 'http://dynalite.local',
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    requestHandler: inProcessHandler(listener) as never,
    httpAuthSchemes: [{ schemeId: 'aws.auth#sigv4', identityProvider: (ipc) => ipc.getIdentityProvider('aws.auth#sigv4'), signer: localSigner as never }],
    maxAttempts: 1,
    ...(opts.sdkDefaults ? {} : { endpointProvider: () => ({ url: LOCAL_ENDPOINT }) }),
  });
  if (!opts.sdkDefaults) for (const name of LOCAL_UNUSED_MIDDLEWARES) raw.middlewareStack.remove(name);
  for (const t of TABLES) {
    const keys: KeySchemaElement[] = [{ AttributeName: 'pk', KeyType: 'HASH' }];
    if (t.sortKey) keys.push({ AttributeName: 'sk', KeyType: 'RANGE' });
    const attributes = new Set([...keys.map((k) => k.AttributeName!), ...(t.indexes ?? []).flatMap((i) => [i.partitionKey, i.sortKey])]);
    await raw.send(
      new CreateTableCommand({
        TableName: t.name,
        KeySchema: keys,
        AttributeDefinitions: [...attributes].map((name) => ({ AttributeName: name, AttributeType: 'S' })),
        BillingMode: 'PAY_PER_REQUEST',
        ...(t.indexes
          ? {
              GlobalSecondaryIndexes: t.indexes.map((i) => ({
                IndexName: i.name,
                KeySchema: [
                  { AttributeName: i.partitionKey, KeyType: 'HASH' as const },
                  { AttributeName: i.sortKey, KeyType: 'RANGE' as const },
                ],
                Projection: { ProjectionType: 'ALL' as const },
              })),
            }
          : {}),
      }),
    );
    process.env[t.env] = t.name;
  }
  // Tables become ACTIVE on dynalite's next timer tick (real time, before the clock is faked).
  for (const t of TABLES) {
    for (let i = 0; ; i++) {
      const { Table } = await raw.send(new DescribeTableCommand({ TableName: t.name }));
      if (Table?.TableStatus === 'ACTIVE') break;
      if (i > 200) throw new Error(`local DynamoDB table ${t.name} did not become ACTIVE`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  if (!opts.sdkDefaults) cacheHandlers(client);
  return {
    client,
    stop: () =>
      new Promise<void>((resolve) => {
        raw.destroy();
        server.close(() => resolve());
      }),
  };
};
