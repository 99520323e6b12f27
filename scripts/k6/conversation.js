// Multi-turn conversations against one server: KNLLAMA_CONV_CONVERSATIONS clients at once, each holding one
// conversation of KNLLAMA_CONV_TURNS turns and resending the whole history every turn, as chat pages, Open WebUI and
// agent frameworks do. Each user turn pastes a part of a document (about 200 tokens), so the history passes 2,000
// tokens by turn 10; the server's own answers go back into the history. scripts/bench-conversation.sh runs it
// against each server and scripts/lib/bench_report.py puts the summaries side by side.
//   KNLLAMA_CONV_URL, KNLLAMA_CONV_MODEL, KNLLAMA_CONV_TARGET (a name for the tables)
//   KNLLAMA_CONV_API completions|chat (completions: the same transcript text to every server, whatever its chat
//     template), KNLLAMA_CONV_TURNS (10), KNLLAMA_CONV_CONVERSATIONS (1), KNLLAMA_CONV_MAX_TOKENS (96),
//   KNLLAMA_CONV_REPEATS (1: conversations each client holds, one after another, each with its own text),
//   KNLLAMA_CONV_OFFSET (0: the first conversation's number; runs against one server take different numbers, so
//     none finds its text in a cache left by an earlier run),
//   KNLLAMA_CONV_EXTRA (JSON fields merged into every request), KNLLAMA_CONV_SUMMARY (where the summary goes)
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import { send, body, abbreviate } from './stream.js';

const URL = __ENV.KNLLAMA_CONV_URL;
const MODEL = __ENV.KNLLAMA_CONV_MODEL;
const API = __ENV.KNLLAMA_CONV_API || 'completions';
const TURNS = parseInt(__ENV.KNLLAMA_CONV_TURNS || '10', 10);
const CONVERSATIONS = parseInt(__ENV.KNLLAMA_CONV_CONVERSATIONS || '1', 10);
const MAX_TOKENS = parseInt(__ENV.KNLLAMA_CONV_MAX_TOKENS || '96', 10);
const REPEATS = parseInt(__ENV.KNLLAMA_CONV_REPEATS || '1', 10);
const OFFSET = parseInt(__ENV.KNLLAMA_CONV_OFFSET || '0', 10);
const EXTRA = JSON.parse(__ENV.KNLLAMA_CONV_EXTRA || '{}');
if (!URL || !MODEL) {
  throw new Error('set KNLLAMA_CONV_URL and KNLLAMA_CONV_MODEL');
}

// The document a user pastes, part by part: each turn takes 8 of these sentences in an order set by the turn and
// the conversation, so no two turns (and no two concurrent conversations) share text beyond their own history.
const SENTENCES = [
  'The harbour town grew around a deep inlet where fishing boats could shelter from the winter storms.',
  'Its first lighthouse was a wooden tower lit by oil lamps, rebuilt in stone after a fire in the old century.',
  'Merchants brought salt, timber and wool, and the market square filled every Thursday from dawn until noon.',
  'A railway line reached the town late, which kept its narrow streets and slate roofs much as they had been.',
  'The school taught navigation alongside reading and arithmetic, since most boys expected to go to sea.',
  'When the herring shoals moved north, many families left for the cities and the population halved in a decade.',
  'Painters discovered the light on the bay and rented the empty net lofts as studios for the summer months.',
  'The council argued for years about a new breakwater, which was finally built with money from the fish market.',
  'A ferry now crosses to the islands twice a day, carrying post, groceries and a handful of walkers.',
  'The old customs house became a museum of ship models, charts and the logbooks of local captains.',
  'Tides here rise more than four metres, and the harbour empties to mud twice a day at the lowest springs.',
  'Local cooks are proud of a fish stew made with potatoes, leeks, cream and whatever the boats landed that morning.',
  'In the stormy winter of the great flood the sea broke through the dunes and reached the church steps.',
  'Volunteers run the lifeboat station, and the siren still calls them from their work at any hour.',
  'The library keeps a collection of letters sent home by sailors from ports on every continent.',
  'Sheep graze the headland above the town, and a footpath follows the cliffs for twenty kilometres.',
  'A small shipyard still builds wooden boats by hand, with oak from the estate forests inland.',
  'Every August a regatta fills the bay with sails, and the evening ends with music on the quay.',
  'The town hall clock was a gift from a shipping family whose name is carved above the door.',
  'Geologists come to study the folded rock layers exposed in the cliffs south of the harbour.',
  'The bakery opens at five so that the crews can buy bread and pies before the boats go out.',
  'Seals rest on the sandbanks at low tide, and boat trips leave from the slipway to watch them.',
  'A storm in the last spring damaged the pier, and repairs closed the lifeboat slip for three months.',
  'Young people now work in tourism, renewable energy and the marine research station on the point.',
];

function userTurn(conversation, turn) {
  const picked = [];
  for (let k = 0; k < 8; k++) {
    picked.push(SENTENCES[(turn * 5 + conversation * 11 + k * 7) % SENTENCES.length]);
  }
  return `Here is part ${turn + 1} of my notes on the harbour town. ${picked.join(' ')} `
    + 'Summarise this part in two sentences and say how it connects to the earlier parts.';
}

const thresholds = {};
const metricNames = ['ttft_ms', 'e2e_ms', 'prompt_tokens', 'cached_tokens', 'completion_tokens'];
for (let t = 1; t <= TURNS; t++) {
  // Always true: they make the summary carry each turn's figures (k6 reports a tagged sub-metric only then).
  metricNames.forEach((m) => { thresholds[`${m}{turn:${t}}`] = ['max>=0']; });
}

export const options = {
  scenarios: {
    conversations: { executor: 'per-vu-iterations', vus: CONVERSATIONS, iterations: REPEATS, maxDuration: '6h' },
  },
  thresholds: thresholds,
  summaryTrendStats: ['count', 'min', 'med', 'max', 'avg'],
};

const trends = Object.fromEntries(metricNames.map((m) => [m, new Trend(m, m.endsWith('_ms'))]));
const conversationMs = new Trend('conversation_ms', true);
const errors = new Counter('errors');

export function setup() {
  // One short request first, so the first turn does not pay for a cold server (JIT, first allocation).
  const r = send(URL, API, body(API, MODEL, API === 'chat' ? 'Hello.' : 'User: Hello.\nAssistant:', 8, EXTRA));
  if (r.outcome !== 'ok') {
    exec.test.abort(`${__ENV.KNLLAMA_CONV_TARGET}: the warm-up request did not succeed: ${r.error || r.outcome}`);
  }
}

export default function () {
  const conversation = OFFSET + exec.scenario.iterationInTest; // unique across clients: no two share text
  const messages = [];
  let transcript = '';
  const started = Date.now();
  for (let turn = 0; turn < TURNS; turn++) {
    const user = userTurn(conversation, turn);
    messages.push({ role: 'user', content: user });
    // The transcript the function renders for a model without a chat template, byte for byte.
    transcript += `User: ${user}\nAssistant:`;
    const r = send(URL, API, body(API, MODEL, API === 'chat' ? messages : transcript, MAX_TOKENS, EXTRA));
    if (r.outcome !== 'ok') {
      errors.add(1);
      exec.test.abort(`conversation ${conversation + 1}, turn ${turn + 1}: ${abbreviate(r.error || r.outcome)}`);
    }
    const tags = { turn: String(turn + 1) };
    trends.ttft_ms.add(r.ttft_ms, tags);
    trends.e2e_ms.add(r.e2e_ms, tags);
    trends.completion_tokens.add(r.tokens, tags);
    if (r.prompt_tokens !== null) trends.prompt_tokens.add(r.prompt_tokens, tags);
    if (r.cached_tokens !== null) trends.cached_tokens.add(r.cached_tokens, tags);
    const reply = r.text.trim();
    messages.push({ role: 'assistant', content: reply });
    transcript = transcript.slice(0, -'Assistant:'.length) + `Assistant: ${reply}\n`;
  }
  conversationMs.add(Date.now() - started);
}

export function handleSummary(data) {
  const out = { target: __ENV.KNLLAMA_CONV_TARGET || URL, url: URL, model: MODEL, api: API, turns: TURNS,
    conversations: CONVERSATIONS, repeats: REPEATS, max_tokens: MAX_TOKENS, extra: EXTRA, metrics: {} };
  for (const [name, metric] of Object.entries(data.metrics)) {
    out.metrics[name] = metric.values;
  }
  const file = __ENV.KNLLAMA_CONV_SUMMARY;
  return file ? { [file]: JSON.stringify(out, null, 1) } : { stdout: JSON.stringify(out) };
}
