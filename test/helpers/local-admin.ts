import type { LocalGateway } from '../../local/local-gateway';

/**
 * Calls an admin route of a running local gateway as an admin (its admin token stands in for a
 * SigV4-signed IAM caller), with a JSON body when one is given.
 *
 * @example
 * const created = await adminFetch(gateway, 'POST', '/v1/admin/teams', { id: 'payments', name: 'Payments' });
 */
export function adminFetch(gateway: LocalGateway, method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${gateway.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${gateway.adminToken}`, 'content-type': 'application/json' },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
}
