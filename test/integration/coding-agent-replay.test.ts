import { newToolUseId, betasOf, type FakeAnthropicBlock } from '../fakes/anthropic-server';
import { anthropicReply, bedrockBetasOf } from '../fakes/bedrock-server';
import { eventually, messagesSince, startAnthropicFace, UPSTREAM, type AnthropicFace } from '../helpers/anthropic-face';

/**
 * A replay of the request shapes a coding agent such as Claude Code sends to `/v1/messages`,
 * written from public documentation (Messages API, prompt caching, extended thinking with tool
 * use, betas): raw HTTP with `x-api-key` and `anthropic-version: 2023-06-01`, a long system
 * prompt in blocks with `cache_control`, many tools with JSON schemas (the last one marked for
 * caching), thinking with a budget, several betas, a multi-turn conversation of assistant
 * thinking + tool_use and user tool_result blocks, `metadata.user_id`, and streaming. Each turn
 * must reach the fake upstream faithfully and stream back complete.
 */

const BETAS = ['claude-code-20250219', 'interleaved-thinking-2025-05-14', 'fine-grained-tool-streaming-2025-05-14'];

function schema(properties: Record<string, unknown>, required: string[]): Record<string, unknown> {
  return {
    type: 'object',
    properties,
    required,
    additionalProperties: false,
    $schema: 'http://json-schema.org/draft-07/schema#',
  };
}

const str = (description: string) => ({ type: 'string', description });
const num = (description: string) => ({ type: 'number', description });
const bool = (description: string) => ({ type: 'boolean', description });

/** Sixteen tools shaped like a coding agent's, the last one marked as the end of the cached prefix. */
const TOOLS: Record<string, unknown>[] = [
  {
    name: 'Task',
    description: 'Launch a sub-agent for a complex, multi-step task.',
    input_schema: schema(
      { description: str('Short task description'), prompt: str('The task'), subagent_type: str('Agent type') },
      ['description', 'prompt'],
    ),
  },
  {
    name: 'Bash',
    description: 'Run a bash command in a persistent shell.',
    input_schema: schema(
      { command: str('The command'), timeout: num('Timeout in ms'), run_in_background: bool('Run in background') },
      ['command'],
    ),
  },
  {
    name: 'Glob',
    description: 'Find files by glob pattern.',
    input_schema: schema({ pattern: str('Glob pattern'), path: str('Directory') }, ['pattern']),
  },
  {
    name: 'Grep',
    description: 'Search file contents with a regular expression.',
    input_schema: schema(
      {
        pattern: str('Regex'),
        path: str('Path'),
        glob: str('File filter'),
        output_mode: { type: 'string', enum: ['content', 'files_with_matches', 'count'] },
        '-i': bool('Case insensitive'),
        head_limit: num('Limit'),
      },
      ['pattern'],
    ),
  },
  {
    name: 'LS',
    description: 'List a directory.',
    input_schema: schema({ path: str('Absolute path'), ignore: { type: 'array', items: { type: 'string' } } }, [
      'path',
    ]),
  },
  {
    name: 'ExitPlanMode',
    description: 'Leave plan mode with a plan.',
    input_schema: schema({ plan: str('The plan') }, ['plan']),
  },
  {
    name: 'Read',
    description: 'Read a file.',
    input_schema: schema({ file_path: str('Absolute path'), offset: num('Line offset'), limit: num('Line count') }, [
      'file_path',
    ]),
  },
  {
    name: 'Edit',
    description: 'Replace a string in a file.',
    input_schema: schema(
      {
        file_path: str('Path'),
        old_string: str('Old'),
        new_string: str('New'),
        replace_all: { type: 'boolean', default: false },
      },
      ['file_path', 'old_string', 'new_string'],
    ),
  },
  {
    name: 'MultiEdit',
    description: 'Several edits to one file.',
    input_schema: schema(
      {
        file_path: str('Path'),
        edits: {
          type: 'array',
          minItems: 1,
          items: schema({ old_string: str('Old'), new_string: str('New') }, ['old_string', 'new_string']),
        },
      },
      ['file_path', 'edits'],
    ),
  },
  {
    name: 'Write',
    description: 'Write a file.',
    input_schema: schema({ file_path: str('Path'), content: str('Content') }, ['file_path', 'content']),
  },
  {
    name: 'NotebookEdit',
    description: 'Edit a Jupyter cell.',
    input_schema: schema(
      {
        notebook_path: str('Path'),
        cell_id: str('Cell'),
        new_source: str('Source'),
        edit_mode: { type: 'string', enum: ['replace', 'insert', 'delete'] },
      },
      ['notebook_path', 'new_source'],
    ),
  },
  {
    name: 'WebFetch',
    description: 'Fetch a URL and process it with a prompt.',
    input_schema: schema({ url: { type: 'string', format: 'uri' }, prompt: str('What to extract') }, ['url', 'prompt']),
  },
  {
    name: 'TodoWrite',
    description: 'Update the todo list.',
    input_schema: schema(
      {
        todos: {
          type: 'array',
          items: schema(
            {
              content: { type: 'string', minLength: 1 },
              status: { type: 'string', enum: ['pending', 'in_progress', 'completed'] },
              id: str('Id'),
            },
            ['content', 'status', 'id'],
          ),
        },
      },
      ['todos'],
    ),
  },
  {
    name: 'WebSearch',
    description: 'Search the web.',
    input_schema: schema(
      { query: { type: 'string', minLength: 2 }, allowed_domains: { type: 'array', items: { type: 'string' } } },
      ['query'],
    ),
  },
  {
    name: 'BashOutput',
    description: 'Read output of a background shell.',
    input_schema: schema({ bash_id: str('Shell id'), filter: str('Regex') }, ['bash_id']),
  },
  {
    name: 'KillShell',
    description: 'Kill a background shell.',
    input_schema: schema({ shell_id: str('Shell id') }, ['shell_id']),
    cache_control: { type: 'ephemeral' },
  },
];

const SYSTEM = [
  {
    type: 'text',
    text: "You are Claude Code, Anthropic's official CLI for Claude.",
    cache_control: { type: 'ephemeral' },
  },
  {
    type: 'text',
    text:
      'You are an interactive CLI tool that helps users with software engineering tasks. ' +
      'Follow the repository conventions; run the tests after each change; never commit secrets.\n'.repeat(120) +
      '<env>\nWorking directory: /home/dev/project\nIs directory a git repo: Yes\nPlatform: linux\n</env>',
    cache_control: { type: 'ephemeral' },
  },
];

const USER_ID = 'user_5f1c0ffee_account_8a7b_session_3d2e1f00';

/** The conversation after two tool round trips, as the agent sends it on its third turn. */
function conversation(read: string, grep: string, edit: string): Record<string, unknown>[] {
  return [
    {
      role: 'user',
      content: [
        { type: 'text', text: '<system-reminder>\nThe todo list is empty.\n</system-reminder>' },
        { type: 'text', text: 'Fix the failing date test in src/time.ts', cache_control: { type: 'ephemeral' } },
      ],
    },
    {
      role: 'assistant',
      content: [
        { type: 'thinking', thinking: 'I should read the file first.', signature: 'EuYBCkQYAiJAsigOne' },
        { type: 'text', text: "I'll look at the file." },
        { type: 'tool_use', id: read, name: 'Read', input: { file_path: '/home/dev/project/src/time.ts' } },
      ],
    },
    {
      role: 'user',
      content: [
        {
          type: 'tool_result',
          tool_use_id: read,
          content: '     1\texport function day(d: Date) {\n     2\t  return d.getDay();\n     3\t}\n',
        },
      ],
    },
    {
      role: 'assistant',
      content: [
        {
          type: 'thinking',
          thinking: 'getDay is the weekday; the test wants the date. Check usages.',
          signature: 'EuYBCkQYAiJAsigTwo',
        },
        { type: 'redacted_thinking', data: 'EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5' },
        { type: 'tool_use', id: grep, name: 'Grep', input: { pattern: 'day\\(', path: 'src', output_mode: 'content' } },
        {
          type: 'tool_use',
          id: edit,
          name: 'Edit',
          input: { file_path: '/home/dev/project/src/time.ts', old_string: 'getDay', new_string: 'getDate' },
        },
      ],
    },
    {
      role: 'user',
      content: [
        { type: 'tool_result', tool_use_id: grep, content: [{ type: 'text', text: 'src/report.ts:12:  day(now)' }] },
        {
          type: 'tool_result',
          tool_use_id: edit,
          content: 'File has been modified since read, either by the user or by a linter. Read it again.',
          is_error: true,
        },
        { type: 'text', text: 'Go on.', cache_control: { type: 'ephemeral' } },
      ],
    },
  ];
}

/** Reads the SSE body: the event names and data objects, in order. */
function parseSse(body: string): { event: string; data: Record<string, unknown> }[] {
  return body
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      const event = /^event: (.+)$/m.exec(frame)?.[1] ?? '';
      const data = /^data: (.*)$/m.exec(frame)?.[1] ?? '{}';
      return { event, data: JSON.parse(data) as Record<string, unknown> };
    });
}

describe('coding-agent request replay against the Anthropic face', () => {
  let face: AnthropicFace;

  beforeAll(async () => {
    face = await startAnthropicFace('agent-replay');
  });
  afterAll(() => face?.stop());

  const cases = [
    ['the fake Anthropic', 'claude-sonnet-4-5-20250929', 'buffered', () => face.gateway.url],
    ['the fake Anthropic', 'claude-sonnet-4-5-20250929', 'streaming', () => face.gateway.streamUrl],
    ['the fake Bedrock', 'claude-sonnet-4-6', 'buffered', () => face.gateway.url],
    ['the fake Bedrock', 'claude-sonnet-4-6', 'streaming', () => face.gateway.streamUrl],
  ] as const;

  it.each(cases)(
    'through %s (%s, %s door): every block reaches upstream as sent and the answer streams back whole',
    async (upstream, model, _door, base) => {
      const [read, grep, edit] = [newToolUseId(), newToolUseId(), newToolUseId()];
      const next = newToolUseId();
      const answer: FakeAnthropicBlock[] = [
        {
          type: 'thinking',
          thinking: 'The file changed; read it again before editing.',
          signature: 'EuYBCkQYAiJAsigThree',
        },
        { type: 'text', text: "The file changed on disk, so I'll read it again." },
        {
          type: 'tool_use',
          id: next,
          name: 'Read',
          input: { file_path: '/home/dev/project/src/time.ts', offset: 1, limit: 40 },
        },
      ];
      const usage = {
        input_tokens: 12,
        output_tokens: 180,
        cache_read_input_tokens: 18_000,
        cache_creation_input_tokens: 950,
      };
      face.anthropic.setResponder(() => ({ kind: 'message', blocks: answer, usage }));
      face.bedrock.setResponder(() => anthropicReply({ blocks: answer, usage }));
      const messages = conversation(read, grep, edit);
      const body = {
        model,
        max_tokens: 32_000,
        messages,
        system: SYSTEM,
        tools: TOOLS,
        metadata: { user_id: USER_ID },
        thinking: { type: 'enabled', budget_tokens: 31_999 },
        stream: true,
      };
      const fromAnthropic = face.anthropic.requests.length;
      const fromBedrock = face.bedrock.requests.length;

      const response = await fetch(`${base()}/v1/messages?beta=true`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json',
          'anthropic-version': '2023-06-01',
          'anthropic-beta': BETAS.join(','),
          'anthropic-dangerous-direct-browser-access': 'true',
          'x-api-key': face.gateway.demoKey,
          'x-app': 'cli',
          'user-agent': 'claude-cli/2.0.0 (external, cli)',
          'x-stainless-lang': 'js',
          'x-stainless-retry-count': '0',
        },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
      const events = parseSse(await response.text());

      // The answer: complete, in Anthropic's event grammar.
      expect(events[0]!.event).toBe('message_start');
      expect(events.at(-1)!.event).toBe('message_stop');
      for (const { event, data } of events) expect(data['type']).toBe(event);
      const starts = events.filter((e) => e.event === 'content_block_start');
      expect(starts.map((e) => (e.data['content_block'] as { type: string }).type)).toEqual([
        'thinking',
        'text',
        'tool_use',
      ]);
      const deltas = events
        .filter((e) => e.event === 'content_block_delta')
        .map((e) => e.data['delta'] as Record<string, string>);
      expect(
        deltas
          .filter((d) => d['type'] === 'thinking_delta')
          .map((d) => d['thinking'])
          .join(''),
      ).toBe('The file changed; read it again before editing.');
      expect(deltas.filter((d) => d['type'] === 'signature_delta').map((d) => d['signature'])).toEqual([
        'EuYBCkQYAiJAsigThree',
      ]);
      expect(
        deltas
          .filter((d) => d['type'] === 'text_delta')
          .map((d) => d['text'])
          .join(''),
      ).toBe("The file changed on disk, so I'll read it again.");
      expect(
        JSON.parse(
          deltas
            .filter((d) => d['type'] === 'input_json_delta')
            .map((d) => d['partial_json'])
            .join(''),
        ),
      ).toEqual({
        file_path: '/home/dev/project/src/time.ts',
        offset: 1,
        limit: 40,
      });
      const messageDelta = events.find((e) => e.event === 'message_delta')!.data;
      expect(messageDelta).toMatchObject({
        delta: { stop_reason: 'tool_use', stop_sequence: null },
        usage: { output_tokens: 180 },
      });
      const start = events[0]!.data['message'] as { usage: Record<string, number> };
      const cacheRead = Math.max(
        start.usage['cache_read_input_tokens'] ?? 0,
        (messageDelta['usage'] as Record<string, number>)['cache_read_input_tokens'] ?? 0,
      );
      expect(cacheRead).toBe(18_000);

      // What went upstream: the same blocks, in the same order, cache_control and signatures intact.
      let sent: Record<string, unknown>;
      if (upstream === 'the fake Anthropic') {
        const [request] = messagesSince(face.anthropic, fromAnthropic);
        expect(request).toBeDefined();
        expect(betasOf(request!)).toEqual(BETAS);
        expect(request!.body).toMatchObject({ model: UPSTREAM.sonnet, stream: true });
        sent = request!.body;
      } else {
        const [request] = face.bedrock.requests.slice(fromBedrock);
        expect(request).toBeDefined();
        expect(request!.operation).toBe('invoke-stream');
        expect(request!.modelId).toBe(UPSTREAM.bedrock);
        expect(request!.body['anthropic_version']).toBe('bedrock-2023-05-31');
        expect(request!.body).not.toHaveProperty('model');
        expect(request!.body).not.toHaveProperty('stream');
        // Only the betas the Bedrock connection allows; the rest are named in the response.
        expect(bedrockBetasOf(request!)).toEqual(['interleaved-thinking-2025-05-14']);
        expect(
          response.headers
            .get('x-gateway-dropped-betas')
            ?.split(',')
            .map((b) => b.trim())
            .sort(),
        ).toEqual(['claude-code-20250219', 'fine-grained-tool-streaming-2025-05-14']);
        sent = request!.body;
      }
      expect(sent['system']).toEqual(SYSTEM);
      expect(sent['tools']).toEqual(TOOLS);
      expect(sent['messages']).toEqual(messages);
      expect(sent['thinking']).toEqual({ type: 'enabled', budget_tokens: 31_999 });
      expect(sent['max_tokens']).toBe(32_000);
      if (upstream === 'the fake Anthropic') expect(sent['metadata']).toEqual({ user_id: USER_ID });
    },
  );

  it('counts the same request with count_tokens and bills only the message', async () => {
    const id = `agent-${Date.now() % 1_000_000}`;
    const admin = { 'content-type': 'application/json', authorization: `Bearer ${face.gateway.adminToken}` };
    await fetch(`${face.gateway.url}/v1/admin/teams`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ id, name: id }),
    });
    const issued = await fetch(`${face.gateway.url}/v1/admin/teams/${id}/keys`, {
      method: 'POST',
      headers: admin,
      body: '{}',
    });
    const key = ((await issued.json()) as { key: string }).key;
    const headers = {
      'content-type': 'application/json',
      'anthropic-version': '2023-06-01',
      'anthropic-beta': BETAS.join(','),
      'x-api-key': key,
    };
    const messages = conversation(newToolUseId(), newToolUseId(), newToolUseId());
    const counted = await fetch(`${face.gateway.url}/v1/messages/count_tokens?beta=true`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        model: 'claude-sonnet-4-5',
        system: SYSTEM,
        tools: TOOLS,
        messages,
        thinking: { type: 'enabled', budget_tokens: 16_000 },
      }),
    });
    expect(counted.status).toBe(200);
    const { input_tokens } = (await counted.json()) as { input_tokens: number };
    expect(input_tokens).toBeGreaterThan(100);

    face.anthropic.setResponder(() => ({ kind: 'message', text: 'ok', usage: { input_tokens: 10, output_tokens: 1 } }));
    const sent = await fetch(`${face.gateway.url}/v1/messages`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ model: 'claude-sonnet-4-5', max_tokens: 100, system: SYSTEM, tools: TOOLS, messages }),
    });
    expect(sent.status).toBe(200);
    const usage = await eventually(
      async () =>
        (await (await fetch(`${face.gateway.url}/v1/usage?days=1`, { headers: { 'x-api-key': key } })).json()) as {
          totals: { requests: number };
        },
      (report) => report.totals?.requests >= 1,
    );
    expect(usage.totals.requests).toBe(1);
  });
});
