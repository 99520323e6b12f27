// The chat page: talks to the function's own OpenAI-compatible API (relative URLs, so it works under any
// path the route gives it), streams answers as server-sent events, and measures what a user feels:
// time to first token and tokens per second.
'use strict';

const $ = (id) => document.getElementById(id);
const conversation = [];
let model = null;
let running = null; // the AbortController of the generation in flight

function headers() {
  const h = { 'Content-Type': 'application/json' };
  const key = $('api-key').value.trim();
  if (key) h.Authorization = 'Bearer ' + key;
  return h;
}

function status(text) { $('status').textContent = text; }

function bubble(role, text) {
  const div = document.createElement('div');
  div.className = 'message ' + role;
  div.textContent = text;
  $('messages').appendChild(div);
  div.scrollIntoView({ block: 'end' });
  return div;
}

async function errorText(response) {
  try {
    const body = await response.json();
    return body.error && body.error.message ? body.error.message : JSON.stringify(body);
  } catch (e) {
    return response.status + ' ' + response.statusText;
  }
}

async function loadModel() {
  try {
    const response = await fetch('v1/models', { headers: headers() });
    if (!response.ok) throw new Error(await errorText(response));
    const body = await response.json();
    model = body.data[0].id;
    const meta = body.data[0].meta || {};
    $('model').textContent = model + (meta.context_length ? ' · ' + meta.context_length + ' tokens of context' : '');
    $('model').dataset.id = model;
  } catch (e) {
    $('model').textContent = 'model unavailable: ' + e.message;
  }
}

/** Reads a server-sent event stream, calling onData with each event's data. */
async function readEvents(response, onData) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split('\n').filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trim()).join('\n');
      if (data) onData(data);
    }
  }
}

async function send(text) {
  if (!model) await loadModel();
  if (!model) return;
  conversation.push({ role: 'user', content: text });
  bubble('user', text);
  const answer = bubble('assistant streaming', '');
  const messages = [];
  const system = $('system').value.trim();
  if (system) messages.push({ role: 'system', content: system });
  messages.push(...conversation);

  running = new AbortController();
  $('send').disabled = true;
  $('stop').disabled = false;
  $('ttft').textContent = '…';
  $('tps').textContent = '…';
  $('tokens').textContent = '…';
  status('waiting for the first token');
  const started = performance.now();
  let first = null;
  let last = null;
  let chunks = 0;
  let usage = null;
  let finish = null;
  let reply = '';
  let failed = false;
  try {
    const response = await fetch('v1/chat/completions', {
      method: 'POST',
      headers: headers(),
      signal: running.signal,
      body: JSON.stringify({
        model, messages, stream: true, stream_options: { include_usage: true },
        temperature: Number($('temperature').value), max_tokens: Number($('max-tokens').value),
      }),
    });
    if (!response.ok) throw new Error(await errorText(response));
    await readEvents(response, (data) => {
      if (data === '[DONE]') return;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices && chunk.choices[0];
      if (!choice) return;
      if (choice.finish_reason) finish = choice.finish_reason;
      const piece = choice.delta && choice.delta.content;
      if (piece) {
        const now = performance.now();
        if (first === null) {
          first = now;
          $('ttft').textContent = Math.round(first - started) + ' ms';
          status('streaming');
        }
        last = now;
        chunks++;
        reply += piece;
        answer.textContent = reply;
        if (chunks > 1) $('tps').textContent = ((chunks - 1) / ((last - first) / 1000)).toFixed(1) + ' tokens/s';
        $('tokens').textContent = String(chunks);
        answer.scrollIntoView({ block: 'end' });
      }
    });
    status(finish === 'length' ? 'stopped at the token limit' : 'done');
  } catch (e) {
    if (e.name === 'AbortError') {
      status('stopped');
      finish = 'stopped';
    } else {
      failed = true;
      answer.classList.add('error');
      answer.textContent += (answer.textContent ? '\n' : '') + e.message;
      status('error');
    }
  } finally {
    answer.classList.remove('streaming');
    running = null;
    $('send').disabled = false;
    $('stop').disabled = true;
  }
  // Exact counts from the usage chunk; the first token's time is excluded from the rate, as llama.cpp does.
  const tokens = usage ? usage.completion_tokens : chunks;
  if (first !== null && last > first && tokens > 1) {
    $('tps').textContent = ((tokens - 1) / ((last - first) / 1000)).toFixed(1) + ' tokens/s';
  }
  if (usage) $('tokens').textContent = usage.completion_tokens + ' (+' + usage.prompt_tokens + ' prompt)';
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = [first !== null ? 'first token ' + Math.round(first - started) + ' ms' : null,
    $('tps').textContent !== '…' ? $('tps').textContent : null, finish].filter(Boolean).join(' · ');
  answer.appendChild(meta);
  if (failed) {
    conversation.pop(); // the question that failed is not part of the conversation
  } else {
    conversation.push({ role: 'assistant', content: reply });
  }
}

$('composer').addEventListener('submit', (event) => {
  event.preventDefault();
  const text = $('prompt').value.trim();
  if (!text || running) return;
  $('prompt').value = '';
  send(text);
});
$('prompt').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey) {
    event.preventDefault();
    $('composer').requestSubmit();
  }
});
// Aborting the fetch closes the connection, which cancels the generation on the server and frees its slot.
$('stop').addEventListener('click', () => { if (running) running.abort(); });
$('clear').addEventListener('click', () => {
  conversation.length = 0;
  $('messages').textContent = '';
  status('ready');
});
$('api-key').value = localStorage.getItem('knllama.apiKey') || '';
$('api-key').addEventListener('change', () => {
  localStorage.setItem('knllama.apiKey', $('api-key').value.trim());
  loadModel();
});
loadModel();
