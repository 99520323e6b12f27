// One streamed OpenAI request, timed as a client sees it, through k6/x/sse (scripts/k6/build/sse.go), which
// timestamps every server-sent event: k6's own http module reads a stream whole. Shared by sweep.js,
// conversation.js and mixed.js. Nothing but what every OpenAI-compatible server does is assumed: "data:" events,
// choices[0].delta.content (chat) or choices[0].text (completions), an optional usage object, "data: [DONE]".
import sse from 'k6/x/sse';

/** Base URL without a trailing slash or /v1, so a target may be given either way. */
export function baseUrl(url) {
  return url.replace(/\/+$/, '').replace(/\/v1$/, '');
}

/** The request body for `api` ('chat' or 'completions') with one user message or a whole prompt, plus extra fields. */
export function body(api, model, input, maxTokens, extra) {
  const b = { model: model, max_tokens: maxTokens, temperature: 0, stream: true, stream_options: { include_usage: true } };
  if (api === 'chat') {
    b.messages = Array.isArray(input) ? input : [{ role: 'user', content: input }];
  } else {
    b.prompt = input;
    b.stop = ['\nUser:'];
  }
  return Object.assign(b, extra || {});
}

/**
 * Sends `payload` to `base`'s endpoint for `api` and returns:
 *   outcome   'ok' (a complete stream), 'shed' (503 with Retry-After: an overload answer, not a failure) or 'error'
 *   error     what went wrong, for 'error'
 *   ttft_ms   request written to the first event with text; itl_ms: the gaps between events with text
 *   e2e_ms    to the end of the stream; decode_ms: first to last event with text
 *   tokens    usage.completion_tokens when the server sent usage (tokens_from 'usage'), else the events with text ('chunks')
 *   prompt_tokens, cached_tokens   from usage when present (cached: usage.prompt_tokens_details.cached_tokens,
 *             or llama-server's timings.cache_n), else null
 *   text      the generated text
 * `options` goes to sse.post: timeout (seconds), max_events (leave after that many events).
 */
export function send(base, api, payload, options) {
  const url = `${baseUrl(base)}/v1/${api === 'chat' ? 'chat/completions' : 'completions'}`;
  const r = sse.post(url, JSON.stringify(payload), options || {});
  const result = { outcome: 'error', status: r.status, error: null, ttft_ms: null, itl_ms: [], e2e_ms: r.duration_ms,
    decode_ms: null, tokens: 0, tokens_from: 'chunks', prompt_tokens: null, cached_tokens: null, text: '' };
  if (r.status === 503 && r.retry_after) {
    result.outcome = 'shed';
    result.body = r.body;
    return result;
  }
  if (r.status !== 200) {
    result.error = r.error || `HTTP ${r.status}: ${abbreviate(r.body)}`;
    return result;
  }
  let first = null;
  let last = null;
  let chunks = 0;
  let done = false;
  const text = [];
  for (let i = 0; i < r.events.length; i++) {
    const data = r.events[i];
    if (data.trim() === '[DONE]') {
      done = true;
      break;
    }
    let event;
    try {
      event = JSON.parse(data);
    } catch (e) {
      result.error = `unparsable event: ${abbreviate(data)}`;
      return result;
    }
    if (event.error) {
      result.error = `error event in the stream: ${abbreviate(data)}`;
      return result;
    }
    const choice = (event.choices || [])[0] || {};
    const piece = choice.delta ? choice.delta.content : choice.text;
    if (piece) {
      const at = r.times[i];
      if (first === null) {
        first = at;
      } else {
        result.itl_ms.push(at - last);
      }
      last = at;
      chunks++;
      text.push(piece);
    }
    if (event.usage) {
      result.tokens = event.usage.completion_tokens;
      result.tokens_from = 'usage';
      result.prompt_tokens = event.usage.prompt_tokens;
      const details = event.usage.prompt_tokens_details;
      if (details && details.cached_tokens !== undefined) {
        result.cached_tokens = details.cached_tokens;
      }
    }
    if (event.timings && event.timings.cache_n !== undefined && result.cached_tokens === null) {
      result.cached_tokens = event.timings.cache_n;
    }
  }
  if (options && options.max_events && !done) {
    result.outcome = 'left'; // the client left on purpose after max_events
    return result;
  }
  if (!done) {
    result.error = r.error || 'the stream ended without data: [DONE]';
    return result;
  }
  if (result.tokens_from === 'chunks') {
    result.tokens = chunks;
  }
  result.outcome = 'ok';
  result.ttft_ms = first;
  result.decode_ms = first === null ? null : last - first;
  result.text = text.join('');
  return result;
}

export function abbreviate(s) {
  const flat = String(s || '').replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
