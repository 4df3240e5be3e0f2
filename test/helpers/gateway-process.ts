/**
 * One local gateway in a process of its own, for tests that need several gateway processes (as
 * several Lambda instances) sharing one DynamoDB Local: `tsx gateway-process.ts <dynamodb endpoint>
 * <table prefix> <admin token>`. Prints `{"url": ...}` on one line once it serves, and stops on
 * SIGTERM. Serves the test catalog (`test/helpers/config.ts`).
 */
import { startLocalGateway } from '../../local/local-gateway';
import { testConfig } from './config';

async function main(): Promise<void> {
  const [dynamodbEndpoint, tablePrefix, adminToken] = process.argv.slice(2);
  const gateway = await startLocalGateway({ port: 0, dynamodbEndpoint, tablePrefix, adminToken, config: testConfig });
  process.stdout.write(`${JSON.stringify({ url: gateway.url })}\n`);
  process.once('SIGTERM', () => {
    void gateway.stop().finally(() => process.exit(0));
  });
}

void main();
