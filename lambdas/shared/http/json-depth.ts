/**
 * How deep client JSON may nest. Everything downstream of the parser walks client values
 * recursively: zod's validation, `JSON.stringify` (token estimates, provider request bodies), the
 * AWS SDK's document marshalling, DynamoDB's. V8's `JSON.parse` itself copes with any depth, but
 * `JSON.stringify` throws `RangeError` at a few thousand levels, so one deep tool schema would
 * otherwise end as a 500. Refusing deep text once, before it is parsed, bounds every later walk.
 *
 * 64 levels leave room for real requests: a chat body reaches about 6 levels before a tool's
 * JSON schema starts, and a schema needs two levels (`properties`, the property) per nested
 * object, so schemas may nest some 28 objects deep; OpenAI's own structured outputs allow 10.
 */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22; // "
const BACKSLASH = 0x5c; // \
const OPEN_BRACE = 0x7b; // {
const OPEN_BRACKET = 0x5b; // [
const CLOSE_BRACE = 0x7d; // }
const CLOSE_BRACKET = 0x5d; // ]

/**
 * Whether JSON text opens more than `limit` objects or arrays inside one another. One iterative
 * pass over the characters (brackets inside strings do not count), with no parse and no
 * recursion, so it is safe on any input and stops at the first level too deep. Text that is not
 * JSON at all gets an answer too; the parser refuses it afterwards.
 *
 * @example
 * exceedsJsonDepth('{"a":[1,[2]]}', 2) // true: three levels
 * exceedsJsonDepth('{"a":"[[[["}', 1) // false: brackets in a string are text
 */
export function exceedsJsonDepth(text: string, limit: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH)
        i++; // the escaped character cannot end the string
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}
