// The TypeScript SDK (pinned in package-lock.json) against a local Messages API: `node client.mjs URL` runs each
// check and prints one JSON line per check, {"name", "ok", "error"}. Written as the SDK's README writes it; nothing
// here knows the API is local but the base URL.
import Anthropic from '@anthropic-ai/sdk';
import { betaTool } from '@anthropic-ai/sdk/helpers/beta/json-schema';

const MODEL = 'claude-sonnet-4-6';
const client = new Anthropic({ baseURL: process.argv[2], apiKey: 'conformance-key' });

function assert(condition, what) {
  if (!condition) throw new Error(`expected ${what}`);
}

const weather = ({ location }) => JSON.stringify({ location, temperature: 18, conditions: 'cloudy' });
const WEATHER = {
  name: 'get_weather',
  description: 'The current weather in a city.',
  input_schema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
};

const checks = {
  async stream_text() {
    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 512,
      messages: [{ role: 'user', content: 'Explain streaming in one line.' }],
    });
    let text = '';
    stream.on('text', (delta) => (text += delta));
    const final = await stream.finalMessage();
    assert(text && final.content[0].text === text, 'the streamed text to be the final text');
    assert(final.stop_reason === 'end_turn' && final.usage.output_tokens > 0, 'end_turn with usage');
  },

  async tool_round_trip() {
    const messages = [{ role: 'user', content: "What's the weather in Paris?" }];
    const first = await client.messages.create({ model: MODEL, max_tokens: 512, tools: [WEATHER], messages });
    assert(first.stop_reason === 'tool_use', `tool_use, got ${first.stop_reason}`);
    const call = first.content.find((block) => block.type === 'tool_use');
    messages.push(
      { role: 'assistant', content: first.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: weather(call.input) }] },
    );
    const second = await client.messages.create({ model: MODEL, max_tokens: 512, tools: [WEATHER], messages });
    assert(second.stop_reason === 'end_turn' && second.content[0].text.includes('Paris'), 'an answer about Paris');
  },

  async thinking_round_trip() {
    const messages = [{ role: 'user', content: 'Is 1001 prime?' }];
    const thinking = { type: 'enabled', budget_tokens: 1024 };
    const final = await client.messages.stream({ model: MODEL, max_tokens: 2048, thinking, messages }).finalMessage();
    const [block] = final.content;
    assert(block.type === 'thinking' && block.thinking && block.signature, 'a thinking block with its signature');
    messages.push({ role: 'assistant', content: final.content }, { role: 'user', content: 'Why?' });
    const again = await client.messages.create({ model: MODEL, max_tokens: 2048, thinking, messages });
    assert(again.content.at(-1).type === 'text', 'a text answer after the signed thinking went back');
  },

  async citations() {
    const document = {
      type: 'document',
      source: { type: 'text', media_type: 'text/plain', data: 'The grass is green. The sky is blue.' },
      title: 'Colours',
      citations: { enabled: true },
    };
    const stream = client.messages.stream({
      model: MODEL,
      max_tokens: 512,
      messages: [{ role: 'user', content: [document, { type: 'text', text: 'What colour is the sky?' }] }],
    });
    let deltas = 0;
    stream.on('streamEvent', (event) => (deltas += event.delta?.type === 'citations_delta' ? 1 : 0));
    const final = await stream.finalMessage();
    const cited = final.content.flatMap((block) => (block.type === 'text' ? (block.citations ?? []) : []));
    assert(deltas > 0 && cited[0]?.document_title === 'Colours', 'citations of the document, streamed');
  },

  async retry_429() {
    const { data, response } = await client.messages
      .create(
        { model: MODEL, max_tokens: 64, messages: [{ role: 'user', content: 'hi' }] },
        { maxRetries: 2, headers: { 'x-offline-fault': 'http:429*1' } }, // the first attempt gets 429
      )
      .withResponse();
    assert(response.status === 200 && data.content[0].text, 'the retry to succeed');
  },

  async tool_runner() {
    const getWeather = betaTool({
      name: 'get_weather',
      description: 'The current weather in a city.',
      inputSchema: { type: 'object', properties: { location: { type: 'string' } }, required: ['location'] },
      run: weather,
    });
    const runner = client.beta.messages.toolRunner({
      model: MODEL,
      max_tokens: 1024,
      tools: [getWeather],
      messages: [{ role: 'user', content: "What's the weather in Lisbon?" }],
    });
    const stops = [];
    for await (const message of runner) stops.push(message.stop_reason);
    const final = await runner.done();
    assert(stops.join() === 'tool_use,end_turn', `tool_use then end_turn, got ${stops}`);
    assert(final.content[0].text.includes('Lisbon'), 'an answer about Lisbon');
  },

  async count_tokens() {
    const messages = [{ role: 'user', content: 'Explain streaming in one line.' }];
    const counted = await client.messages.countTokens({ model: MODEL, messages, tools: [WEATHER] });
    const created = await client.messages.create({ model: MODEL, max_tokens: 64, messages, tools: [WEATHER] });
    assert(counted.input_tokens > 0 && counted.input_tokens === created.usage.input_tokens, 'the billed count');
  },

  async models() {
    const ids = [];
    for await (const model of client.models.list({ limit: 2 })) ids.push(model.id); // auto-paging, two at a time
    const model = await client.models.retrieve(MODEL);
    assert(ids.includes(MODEL) && new Set(ids).size === ids.length && ids.length > 2, `paged ids, got ${ids}`);
    assert(model.id === MODEL && model.display_name && model.created_at, 'the model');
    const missing = await client.models.retrieve('claude-no-such-model').catch((error) => error);
    assert(missing instanceof Anthropic.NotFoundError, 'a 404 for an unknown model');
  },
};

for (const [name, check] of Object.entries(checks)) {
  try {
    await check();
    console.log(JSON.stringify({ name, ok: true }));
  } catch (error) {
    console.log(JSON.stringify({ name, ok: false, error: String(error?.stack ?? error) }));
  }
}
const { VERSION } = await import('@anthropic-ai/sdk/version');
console.log(JSON.stringify({ name: 'sdk', version: VERSION }));
