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

/**
 * Creates a team on a running local gateway (with any admin team fields) and issues it a key.
 *
 * @example
 * const key = await teamWithKey(gateway, { id: 'strict', name: 'strict', policy_profile: 'strict' });
 */
export async function teamWithKey(
  gateway: LocalGateway,
  team: { id: string } & Record<string, unknown>,
): Promise<string> {
  const created = await adminFetch(gateway, 'POST', '/v1/admin/teams', { name: team.id, ...team });
  if (created.status !== 201) throw new Error(`team ${team.id} not created: ${created.status}`);
  const issued = await adminFetch(gateway, 'POST', `/v1/admin/teams/${team.id}/keys`, { name: 'k' });
  return ((await issued.json()) as { key: string }).key;
}
