import { Logger } from '@aws-lambda-powertools/logger';
import { SERVICE_NAME } from '../config/constants';

/**
 * The gateway's structured logger (JSON lines, one per event, with the Lambda context). Log
 * statements carry ids, counts and decisions, never prompt text or key material.
 */
export const logger = new Logger({ serviceName: SERVICE_NAME });
