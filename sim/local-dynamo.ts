/**
 * Local DynamoDB for the simulator: dynalite on loopback in a child process, and the
 * handsoff tables created with the same keys as the CDK stack defines.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DynamoDBClient, type KeySchemaElement } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { Agent } from 'node:http';
import { ENV } from '../lambdas/shared/config.ts';

export interface TableSpec {
  env: string;
  name: string;
  sortKey: boolean;
}

/** The control plane's tables: partition key `pk`, optional sort key `sk` (strings). */
export const TABLES: readonly TableSpec[] = [
  { env: ENV.DEPLOYMENTS_TABLE, name: 'handsoff-deployments', sortKey: true },
  { env: ENV.WAITERS_TABLE, name: 'handsoff-waiters', sortKey: false },
  { env: ENV.WATCHES_TABLE, name: 'handsoff-watches', sortKey: true },
  { env: ENV.WINDOWS_TABLE, name: 'handsoff-windows', sortKey: true },
  { env: ENV.HOLIDAYS_TABLE, name: 'handsoff-holidays', sortKey: true },
  { env: ENV.LANES_TABLE, name: 'handsoff-lanes', sortKey: true },
];

export interface LocalDynamo {
  endpoint: string;
  client: DynamoDBDocumentClient;
  stop(): Promise<void>;
}

const startServer = (): Promise<{ child: ChildProcess; port: number }> =>
  new Promise((resolve, reject) => {
    const script = fileURLToPath(new URL('./dynalite-server.cjs', import.meta.url));
    const child = fork(script, [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    child.once('message', (m) => resolve({ child, port: (m as { port: number }).port }));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`local DynamoDB (dynalite) exited with code ${code}`)));
  });

export const startLocalDynamo = async (): Promise<LocalDynamo> => {
  const { child, port } = await startServer();
  const endpoint = `http://127.0.0.1:${port}`;
  const raw = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    // No client-side timers: the simulator's clock is virtual and only moves while no
    // request is in flight.
    requestHandler: new NodeHttpHandler({ httpAgent: new Agent({ keepAlive: true, maxSockets: 8 }) }),
    maxAttempts: 1,
  });
  for (const t of TABLES) {
    const keys: KeySchemaElement[] = [{ AttributeName: 'pk', KeyType: 'HASH' }];
    if (t.sortKey) keys.push({ AttributeName: 'sk', KeyType: 'RANGE' });
    await raw.send(
      new CreateTableCommand({
        TableName: t.name,
        KeySchema: keys,
        AttributeDefinitions: keys.map((k) => ({ AttributeName: k.AttributeName!, AttributeType: 'S' })),
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    process.env[t.env] = t.name;
  }
  const client = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  return {
    endpoint,
    client,
    stop: async () => {
      raw.destroy();
      child.kill();
    },
  };
};
