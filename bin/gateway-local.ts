#!/usr/bin/env node
/**
 * `npm start`: runs the whole gateway on this machine with no AWS account (DynamoDB Local, mock
 * models for providers without credentials). Environment: PORT (default 8080).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { startLocalGateway } from '../local/local-gateway';

// The Lambdas run on Node.js 22; a local Node.js 20 works, so the SDK's upgrade notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Each request's EMF metrics document is for CloudWatch; locally it would bury the log lines.
// POWERTOOLS_METRICS_DISABLED=false shows them.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

async function main(): Promise<void> {
  const gateway = await startLocalGateway({ port: Number(process.env.PORT ?? 8080) });
  const stateDir = path.join(__dirname, '..', '.local');
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(path.join(stateDir, 'demo-key'), gateway.demoKey + '\n', { mode: 0o600 });
  writeFileSync(path.join(stateDir, 'admin-token'), gateway.adminToken + '\n', { mode: 0o600 });

  const mocked = gateway.mockedProviders.length
    ? `\n  No credentials found for ${gateway.mockedProviders.join(', ')}: their models are answered by the mock.`
    : '';
  process.stdout.write(
    [
      '',
      `LLM gateway listening on ${gateway.url} (HTTP API) and ${gateway.streamUrl} (streaming endpoint)`,
      `  DynamoDB Local: ${gateway.dynamodbEndpoint} (in memory: data is gone when this stops)${mocked}`,
      `  Demo team "${gateway.demoTeamId}", API key (also in .local/demo-key):`,
      `    ${gateway.demoKey}`,
      `  Admin token for /v1/admin/* (also in .local/admin-token):`,
      `    ${gateway.adminToken}`,
      '',
      'Try:',
      `  curl ${gateway.url}/v1/chat/completions -H "Authorization: Bearer $(cat .local/demo-key)" \\`,
      `    -H "content-type: application/json" -d '{"model":"mock-small","messages":[{"role":"user","content":"Hello"}]}'`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\n${signal}: stopping...\n`);
    gateway.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`Could not start the local gateway: ${(error as Error).message}\n`);
  process.exit(1);
});
