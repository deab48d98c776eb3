/**
 * How every handler's Lambda function is configured: the CDK app deploys exactly this
 * (infra/constructs/control-plane/functions.ts), the simulator's Lambda context reports it
 * and the bench's cost model (sim/bench/cost.ts) prices GB-seconds by it.
 */

/** Memory of every handler function, in MB (Lambda bills duration per GB-second of it). */
export const HANDLER_MEMORY_MB = 256;

/** Processor architecture of every handler function (Graviton: Lambda's Arm price). */
export const HANDLER_ARCHITECTURE: 'arm64' | 'x86_64' = 'arm64';
