import { request } from 'node:http';
import type { AfterResponse } from './after-response';

/**
 * The post-response extension: an internal Lambda extension (in the function's own process) that
 * keeps each invocation open until the work its handler deferred has settled, so a buffered
 * answer reaches the client before its usage record is written (AWS Compute Blog, "Running code
 * after returning a response from an AWS Lambda function"). Lambda ends an invocation, and may
 * freeze the environment, only when the runtime has sent the answer and every extension has asked
 * for its next event; this one asks only once the invocation's work is done.
 *
 * Registration must happen during Lambda's init phase, before the runtime asks for its first
 * invocation: the function preloads `lambdas/gateway/after-response-extension.mts` (an ES module,
 * `NODE_OPTIONS=--import`), which registers with top-level await before the handler module loads.
 */

/** Extensions API version path. */
const EXTENSION_API = '/2020-01-01/extension';

/** One HTTP exchange with the Extensions API: no timeout (`next` blocks until the next invocation, however long). */
function call(
  runtimeApi: string,
  method: 'GET' | 'POST',
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const [host, port] = runtimeApi.split(':');
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port ?? 80), method, path: `${EXTENSION_API}${path}`, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * Registers the extension for INVOKE events and starts its loop: for the n-th invocation, ask for
 * the next event only once n invocations have ended (answered, deferred work settled). Resolves
 * true once registered, false when the Extensions API refused (then nothing may be deferred).
 *
 * @example
 * if (await registerAfterResponseExtension(process.env.AWS_LAMBDA_RUNTIME_API!, 'after-response', registry)) installAfterResponse(registry);
 */
export async function registerAfterResponseExtension(
  runtimeApi: string,
  name: string,
  registry: AfterResponse,
  /** Stops the loop (tests); in Lambda it runs for the environment's life. */
  signal?: AbortSignal,
): Promise<boolean> {
  const registered = await call(
    runtimeApi,
    'POST',
    '/register',
    { 'Lambda-Extension-Name': name, 'content-type': 'application/json' },
    JSON.stringify({ events: ['INVOKE'] }),
  );
  const id = registered.headers['lambda-extension-identifier'];
  if (registered.status !== 200 || typeof id !== 'string') return false;
  void loop(runtimeApi, id, registry, signal);
  return true;
}

async function loop(runtimeApi: string, id: string, registry: AfterResponse, signal?: AbortSignal): Promise<void> {
  let invocations = 0;
  for (;;) {
    const event = await nextEvent(runtimeApi, id, signal);
    if (event !== 'INVOKE') return; // SHUTDOWN (internal extensions are not sent it, but be safe)
    invocations += 1;
    await registry.endedAtLeast(invocations);
  }
}

/**
 * The next event's type. A failed call is retried: were the loop to stop, Lambda would wait for
 * this extension until the invocation times out (the Runtime API is local, so failures are not expected).
 */
async function nextEvent(runtimeApi: string, id: string, signal?: AbortSignal): Promise<string | undefined> {
  while (!signal?.aborted) {
    try {
      const next = await call(runtimeApi, 'GET', '/event/next', { 'Lambda-Extension-Identifier': id });
      if (next.status === 200) return (JSON.parse(next.body) as { eventType?: string }).eventType;
    } catch {
      // retried below
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return undefined;
}
