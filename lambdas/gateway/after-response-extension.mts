/**
 * Preloaded into the gateway function (`NODE_OPTIONS=--import`, bundled as an ES module of its
 * own): registers the post-response extension during Lambda's init phase, with top-level await,
 * so that it is registered before the runtime loads the handler and asks for the first
 * invocation. The handler finds the registry in a global (`installedAfterResponse`); outside
 * Lambda, or if registration is refused, there is none and the handler writes before answering.
 */
import { AfterResponse, installAfterResponse } from '../shared/lifecycle/after-response.js';
import { registerAfterResponseExtension } from '../shared/lifecycle/extension.js';

const runtimeApi = process.env['AWS_LAMBDA_RUNTIME_API'];
if (runtimeApi) {
  const registry = new AfterResponse();
  try {
    if (await registerAfterResponseExtension(runtimeApi, 'llm-gateway-after-response', registry)) {
      installAfterResponse(registry);
    }
  } catch (error) {
    // Never fail the function's start for this: the handler then writes before answering.
    process.stderr.write(`post-response extension not registered: ${(error as Error).name}\n`);
  }
}
