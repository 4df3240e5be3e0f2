#!/usr/bin/env node
/**
 * `npm start`: runs the whole gateway on this machine with no AWS account (DynamoDB Local, mock
 * models for providers without credentials). Environment: PORT, the HTTP API's port (default
 * 8080; the streaming door takes the next one). It records where it runs in `.local/gateway.json`
 * (removed when it stops), so the admin CLI finds it on any port.
 */
import * as path from 'node:path';
import { startLocalGateway } from '../local/local-gateway';
import { forgetLocalGateway, recordLocalGateway } from './local-state';

// The Lambdas run on Node.js 22; a local Node.js 20 works, so the SDK's upgrade notice is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Each request's EMF metrics document is for CloudWatch; locally it would bury the log lines.
// POWERTOOLS_METRICS_DISABLED=false shows them.
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

async function main(): Promise<void> {
  const port = Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new Error(`PORT must be a port number (0-65535), not '${process.env.PORT}'`);
  }
  const gateway = await startLocalGateway({ port });
  const root = path.join(__dirname, '..');
  recordLocalGateway(root, gateway, process.pid);
  // However the process ends, a record of a server that is gone must not stay behind.
  process.on('exit', () => forgetLocalGateway(root, process.pid));

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
      `  The admin CLI (npm run admin -- --help) finds this gateway by itself (.local/gateway.json).`,
      `  Another port: PORT=9000 npm start (the streaming endpoint takes the next port).`,
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
