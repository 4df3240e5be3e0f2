/**
 * The placeholder rule, shared by every secret detector (private keys, JWTs, API keys, AWS keys).
 *
 * Documentation, tutorials and config templates are full of values shaped like secrets that are
 * not secrets: AWS's documented example keys, `sk-xxxx...`, `<paste your key here>`. Flagging them
 * blocks or redacts the code and questions users paste all day, and teaches them to ignore the
 * gateway. A secret-shaped value is a placeholder, and not reported, when its body (the value without
 * the provider's fixed prefix, e.g. `sk-proj-`, `AKIA`, `ghp_`) is any of:
 *
 * 1. an AWS documented example: it contains `EXAMPLE` in capitals (`AKIAIOSFODNN7EXAMPLE`,
 *    `wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY`): AWS marks every key in its documentation this way;
 * 2. a run of one character: 8 or more of the same character in a row (`xxxxxxxx`, `XXXX...`,
 *    `00000000`, `********`), or one character making up more than half of the body; a random
 *    token of this length has either with a probability far below one in a million;
 * 3. a template marker: `<...>` or `{{...}}` or `${...}` around it, `your...` (`your_key_here`,
 *    `YOUR_PRIVATE_KEY`), `...here`, `replace_me`/`replace-with`, `change_me`/`changeme`,
 *    `placeholder`, `redacted`, `dummy`, `insert`, `paste`, `sample`, or an ellipsis (`...`, `…`).
 *
 * Words are matched without regard to case and to `_`/`-` between their parts; a real random token
 * contains a given five-letter word with a probability of about 1e-6 per position, so the rule costs
 * no recall worth measuring.
 */

const EXAMPLE = /EXAMPLE/;
const TEMPLATE_MARKERS =
  /<[^<>]*>|\{\{|\$\{|your[_-]?|[_-]?here\b|replace[_-]?(?:me|with|this)|change[_-]?(?:me|this)|placeholder|redacted|dummy|insert[_-]|paste|sample|\.\.\.|…/i;

/** Per-character counts, reused between calls (the detectors run synchronously, one at a time). */
const COUNTS = new Uint32Array(128);

/** The longest run of one character in a text, and how often its most frequent character occurs. */
function repetition(body: string): { longestRun: number; mostFrequent: number } {
  let longestRun = 0;
  let run = 0;
  let mostFrequent = 0;
  COUNTS.fill(0);
  for (let i = 0; i < body.length; i++) {
    const code = body.charCodeAt(i);
    run = i > 0 && body.charCodeAt(i - 1) === code ? run + 1 : 1;
    if (run > longestRun) longestRun = run;
    if (code >= 128) continue; // secrets are ASCII; other characters only count for runs
    const count = ++COUNTS[code]!;
    if (count > mostFrequent) mostFrequent = count;
  }
  return { longestRun, mostFrequent };
}

/**
 * Whether a secret-shaped value is a placeholder (see the rule above). `prefixLength` skips the
 * provider prefix; separators that belong to the format (`-`, `_`, `.`) are ignored for the
 * repetition test so `sk-xxxx-xxxx` counts as one run. `runs: false` drops the run test for
 * DER-encoded bodies (private keys), whose zero bytes are long runs of `A`.
 *
 * @example
 * isPlaceholder('AKIAIOSFODNN7EXAMPLE') // true
 * isPlaceholder('sk-proj-xxxxxxxxxxxxxxxxxxxxxxxx', 'sk-proj-'.length) // true
 * isPlaceholder('ghp_R8vQ2mK7pX4tN9sL3wB6yF1hJ5dC0aE2gZ8u') // false
 */
export function isPlaceholder(value: string, prefixLength = 0, options: { runs?: boolean } = {}): boolean {
  const body = value.slice(prefixLength);
  if (EXAMPLE.test(body) || TEMPLATE_MARKERS.test(body)) return true;
  const compact = body.replace(/[-_.\s\\]/g, '');
  if (compact.length === 0) return true;
  const { longestRun, mostFrequent } = repetition(compact);
  if (compact.length >= 8 && mostFrequent * 2 > compact.length) return true;
  return (options.runs ?? true) && longestRun >= 8;
}
