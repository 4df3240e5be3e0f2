import type { ChatRequest } from '../chat/types';
import { unsupportedFeatures } from '../providers/capabilities';
import type { RouteCandidate } from './router';

/** Whether a request carries images (in a user turn or a tool result). */
function hasImages(request: ChatRequest): boolean {
  return request.messages.some(
    (m) =>
      (m.role === 'user' && m.content.some((part) => part.type === 'image')) ||
      (m.role === 'tool' && (m.images?.length ?? 0) > 0),
  );
}

/**
 * What a deployment cannot serve of a chat request: the features its provider API lacks
 * (`unsupportedFeatures`), then tools and images when its catalog entry says the model takes
 * none. Empty: it can serve the request. Every strategy chooses only among deployments with
 * nothing missing, so a tools request never goes to a model without tools.
 *
 * @example
 * missingCapabilities(request, candidate) // ['tools']
 */
export function missingCapabilities(request: ChatRequest, candidate: RouteCandidate): string[] {
  const missing = unsupportedFeatures(request, candidate.target);
  const { capabilities } = candidate.model;
  if (!capabilities.tools && (request.tools?.length ?? 0) > 0) missing.push('tools');
  if (!capabilities.images && hasImages(request)) missing.push('images');
  return missing;
}
