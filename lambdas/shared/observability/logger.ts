import { Logger } from '@aws-lambda-powertools/logger';

/**
 * The gateway's structured logger (JSON lines, one per event, with the Lambda context). Log
 * statements carry ids, counts and decisions, never prompt text or key material.
 */
export const logger = new Logger({ serviceName: 'llm-gateway' });
