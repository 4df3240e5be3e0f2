import type * as z from 'zod';
import { ERROR_CODES, invalidRequest, type GatewayError } from './errors';

/** `messages[0].content` rather than zod's `messages.0.content`. */
function paramOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, key) => (typeof key === 'number' ? `${out}[${key}]` : out ? `${out}.${String(key)}` : String(key)),
    '',
  );
}

/** The 400 for the first problem zod found, naming the offending parameter. */
function toGatewayError(error: z.ZodError): GatewayError {
  const issue = error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    const param = paramOf([...issue.path, issue.keys[0]!]);
    return invalidRequest(`Unsupported parameter: '${param}' is not supported by this gateway.`, {
      code: ERROR_CODES.unsupportedParameter,
      param,
    });
  }
  const param = paramOf(issue.path);
  return invalidRequest(param ? `Invalid '${param}': ${issue.message}` : issue.message, param ? { param } : {});
}

/**
 * Validates input with a zod schema, or throws a 400 in OpenAI's shape naming the first bad
 * parameter (`Unsupported parameter` for keys the schema does not know).
 *
 * @example
 * const input = parseWith(createTeamInputSchema, parseJsonBody(request));
 */
export function parseWith<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw toGatewayError(result.error);
  return result.data;
}
