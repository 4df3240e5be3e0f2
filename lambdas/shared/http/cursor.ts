import type * as z from 'zod';
import type { GatewayError } from './errors';

/**
 * A pagination cursor's JSON (base64url), checked against its schema. Anything else (not base64,
 * not JSON, another shape) is the client's mistake, the listing's own 400, never something to
 * hand DynamoDB.
 *
 * @example
 * const { m, sk } = cursorJson(cursor, periodCursorSchema, invalidCursor);
 */
export function cursorJson<S extends z.ZodType>(cursor: string, schema: S, invalid: () => GatewayError): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw invalid();
  return parsed.data;
}
