import fc from 'fast-check';
import { GatewayError } from '../../lambdas/shared/http/errors';
import { exceedsJsonDepth, MAX_JSON_DEPTH } from '../../lambdas/shared/http/json-depth';
import { parseJsonBody, type HttpRequest } from '../../lambdas/shared/http/request';

/** The real nesting depth of a parsed JSON value, walked iteratively. */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    max = Math.max(max, depth + 1);
    for (const inner of Object.values(item)) stack.push([inner, depth + 1]);
  }
  return max;
}

describe('JSON depth check', () => {
  it('counts objects and arrays inside one another, up to the limit and no further', () => {
    expect(exceedsJsonDepth('{}', 1)).toBe(false);
    expect(exceedsJsonDepth('{"a":[]}', 1)).toBe(true);
    expect(exceedsJsonDepth('{"a":[],"b":{}}', 2)).toBe(false);
    expect(exceedsJsonDepth('[1,[2,[3]]]', 3)).toBe(false);
    expect(exceedsJsonDepth('[1,[2,[3]]]', 2)).toBe(true);
    expect(exceedsJsonDepth('"plain"', 0)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(exceedsJsonDepth('{"a":"[[[[{{{{"}', 1)).toBe(false);
    expect(exceedsJsonDepth('{"a":"\\"[[[[\\\\"}', 1)).toBe(false);
    expect(exceedsJsonDepth('{"a":"\\\\","b":[[]]}', 2)).toBe(true);
  });

  it('answers for any depth without recursion, a million levels included', () => {
    const text = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
    expect(exceedsJsonDepth(text)).toBe(true);
    expect(exceedsJsonDepth('{"a":'.repeat(100_000) + '1' + '}'.repeat(100_000))).toBe(true);
  });

  it('agrees with the parsed value for any JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 10 }), (value, limit) => {
        const text = JSON.stringify(value);
        expect(exceedsJsonDepth(text, limit)).toBe(depthOf(value) > limit);
      }),
      { numRuns: 300 },
    );
  });

  it('lets the depth of real requests through', () => {
    expect(MAX_JSON_DEPTH).toBe(64);
    // A tool whose JSON schema nests 25 objects (two levels each: properties, the property).
    let schema = '{"type":"string"}';
    for (let i = 0; i < 25; i++) schema = `{"type":"object","properties":{"p":${schema}}}`;
    const body = `{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"tools":[{"type":"function","function":{"name":"t","parameters":${schema}}}]}`;
    expect(exceedsJsonDepth(body)).toBe(false);
  });

  it('makes parseJsonBody refuse a body a million levels deep with a 400, before parsing it', () => {
    const request = { body: '['.repeat(1_000_000) + ']'.repeat(1_000_000) } as HttpRequest;
    let thrown: unknown;
    try {
      parseJsonBody(request);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect((thrown as GatewayError).status).toBe(400);
    expect((thrown as GatewayError).toBody().error).toMatchObject({
      code: 'invalid_json',
      type: 'invalid_request_error',
    });
    const limit = { body: `{"a":${'['.repeat(MAX_JSON_DEPTH - 1)}${']'.repeat(MAX_JSON_DEPTH - 1)}}` } as HttpRequest;
    expect(parseJsonBody(limit)).toHaveProperty('a');
  });
});
