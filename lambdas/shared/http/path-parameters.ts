import * as z from 'zod';
import { APPROVAL_ID } from '../approvals/store';
import { teamIdSchema } from '../teams/schema';
import { parseWith } from './validation';
import { pathParameterNames, ROUTES, type PathParameterName, type PathParameterNameOf, type RouteKey } from './routes';

/**
 * A key id as a path parameter. Anything that cannot be an id at all (characters no id uses,
 * longer than any id: traversal, control characters, injection payloads) is a 400. An id-like
 * string that names no key is answered 404 by the admin service, as an unknown key always was,
 * so an admin who mistypes one id character learns the key does not exist.
 */
const keyIdParameterSchema = z
  .string()
  .regex(/^[a-z0-9]{1,64}$/, 'key ids are lower-case letters and digits, as `gwk_<key id>_…` shows them');

/**
 * The schema of every path parameter, by name: a name means the same thing on every route
 * (`teamId` is always a team id), so each is stated once. The `satisfies` makes a new `{name}`
 * in the route table a compile error until it has a schema here.
 */
export const PATH_PARAMETERS = {
  teamId: teamIdSchema,
  keyId: keyIdParameterSchema,
  approvalId: z.string().regex(APPROVAL_ID, 'approval ids are apr_ and 20 lower-case letters and digits'),
} as const satisfies Record<PathParameterName, z.ZodType<string>>;

/** A route's path parameters after validation, e.g. `{ teamId: string }`; `{}` for a route without any. */
export type PathParametersOf<K extends RouteKey> = {
  readonly [N in PathParameterNameOf<K>]: z.output<(typeof PATH_PARAMETERS)[N]>;
};

/** One object schema per route key, built once from the route table. */
const schemasByRoute = new Map<string, z.ZodType<Record<string, string>>>(
  ROUTES.map((route) => {
    const shape = Object.fromEntries(
      pathParameterNames(route.path).map((name) => [name, PATH_PARAMETERS[name as PathParameterName]]),
    );
    return [`${route.method} ${route.path}`, z.object(shape)] as const;
  }),
);

/**
 * A route's path parameters, validated by their schemas, or a 400 in OpenAI's shape naming the
 * first bad one (`param: 'teamId'`). The value is never echoed: it may be anything a client sent.
 *
 * @example
 * parsePathParameters('GET /v1/admin/teams/{teamId}', { teamId: 'payments' }) // { teamId: 'payments' }
 */
export function parsePathParameters<K extends RouteKey>(
  key: K,
  raw: Readonly<Record<string, string>>,
): PathParametersOf<K> {
  const schema = schemasByRoute.get(key);
  if (!schema) throw new Error(`No route ${key} in the route table`);
  return parseWith(schema, raw) as PathParametersOf<K>;
}
