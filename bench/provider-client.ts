import { FakeOpenAi } from '../test/fakes/openai-server';
import { postJson } from '../lambdas/shared/providers/http';
import type { BenchRow } from './dlp';

const SECTION = 'Provider HTTP client (2 KB POST to a local upstream)';

const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;

/**
 * CPU per provider call with the client the adapters use (`postJson`: Node.js's http with a
 * keep-alive pool) against `fetch` as the adapters used it before (the same request, read as
 * JSON), over one local upstream in this process. CPU time (user + system) rather than wall time:
 * what a call costs the instance, which throughput and Lambda's billed time follow. The upstream's
 * own CPU is in both figures alike. Interleaved rounds; a row is the median of the rounds.
 */
export async function benchProviderClient(rounds = 30, perRound = 100): Promise<BenchRow[]> {
  const upstream = new FakeOpenAi(() => ({
    kind: 'completion',
    text: 'Fine, here is the summary.',
    usage: { prompt_tokens: 512, completion_tokens: 7 },
  }));
  upstream.keepsRequests = false;
  const url = `${await upstream.start()}/v1/chat/completions`;
  const body = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(2048) }] };
  const headers = { authorization: 'Bearer sk-bench' };
  const clients = {
    postJson: async () => (await postJson('OpenAI', url, body, headers, new AbortController().signal)).json(),
    fetch: async () =>
      (
        await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
          signal: new AbortController().signal,
        })
      ).json(),
  };
  const cpu: Record<keyof typeof clients, number[]> = { postJson: [], fetch: [] };
  try {
    for (let round = -3; round < rounds; round++) {
      for (const name of round % 2 === 0 ? (['postJson', 'fetch'] as const) : (['fetch', 'postJson'] as const)) {
        const before = process.cpuUsage();
        for (let i = 0; i < perRound; i++) await clients[name]();
        const used = process.cpuUsage(before);
        if (round >= 0) cpu[name].push((used.user + used.system) / perRound);
      }
    }
  } finally {
    await upstream.stop();
  }
  const [ours, theirs] = [median(cpu.postJson), median(cpu.fetch)];
  return [
    { section: SECTION, metric: 'postJson (node:http, keep-alive): CPU per call', value: ours, unit: 'µs' },
    { section: SECTION, metric: 'fetch: CPU per call', value: theirs, unit: 'µs' },
    { section: SECTION, metric: 'saved per call', value: theirs - ours, unit: 'µs' },
  ];
}
