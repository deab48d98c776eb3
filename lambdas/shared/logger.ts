/**
 * The Powertools logger every handler shares (one per container). Log level from
 * POWERTOOLS_LOG_LEVEL; the simulator and tests may silence it with `logger.setLogLevel`.
 */
import { Logger } from '@aws-lambda-powertools/logger';

export const logger = new Logger({ serviceName: 'handsoff' });
