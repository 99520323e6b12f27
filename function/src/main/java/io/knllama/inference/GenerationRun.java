package io.knllama.inference;

import de.kherud.llama.LlamaIterator;
import de.kherud.llama.LlamaOutput;
import io.knllama.error.ApiError;
import io.knllama.error.ApiException;
import io.knllama.inference.GenerationEvent.Finished;
import io.knllama.inference.GenerationEvent.FinishReason;
import io.knllama.inference.GenerationEvent.Timings;
import io.knllama.inference.GenerationEvent.Token;
import io.knllama.inference.GenerationEvent.Usage;
import io.knllama.inference.InferenceMetrics.Outcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import reactor.core.publisher.MonoSink;
import reactor.core.publisher.Sinks;

import java.time.Duration;

/**
 * One generation's token loop, on its slot's thread: hands the caller its stream once the slot is held, then
 * turns llama.cpp's outputs into {@link GenerationEvent}s, until the model stops, the token limit or the time
 * limit is reached, or the caller cancels (checked between tokens, which frees the native slot at once).
 */
final class GenerationRun {

    private static final Logger LOG = LoggerFactory.getLogger(GenerationRun.class);

    private final ModelHost.Loaded llama;
    private final NativeRequests requests;
    private final PromptCache cache;
    private final InferenceMetrics metrics;
    private final GenerationRequest request;
    private final MonoSink<GenerationStream> admission;
    private final long arrival;
    private final Duration timeLimit;
    private static final Duration CUT_EMIT = Duration.ofMillis(200);
    private final Sinks.Many<GenerationEvent> events = Sinks.many().unicast().onBackpressureBuffer();

    GenerationRun(ModelHost.Loaded llama, NativeRequests requests, PromptCache cache, InferenceMetrics metrics,
                  GenerationRequest request, MonoSink<GenerationStream> admission, long arrival, Duration timeLimit) {
        this.llama = llama;
        this.requests = requests;
        this.cache = cache;
        this.metrics = metrics;
        this.request = request;
        this.admission = admission;
        this.arrival = arrival;
        this.timeLimit = timeLimit;
    }

    /**
     * Ends the stream with the {@code shutting_down} error, retrying while this run's own thread is emitting (a
     * unicast sink takes one emitter at a time); nothing if the stream has ended already.
     */
    private void emitCut() {
        long until = System.nanoTime() + CUT_EMIT.toNanos();
        while (events.tryEmitError(SlotScheduler.shuttingDown()) == Sinks.EmitResult.FAIL_NON_SERIALIZED
                && System.nanoTime() < until) {
            Thread.onSpinWait();
        }
    }

    void run(NativeRequests.Prepared prepared, long queuedNanos, Admission.Ticket ticket) {
        long granted = System.nanoTime();
        long deadline = arrival + timeLimit.toNanos();
        int tokens = 0;
        int uncounted = 0;
        boolean endedOnText = false;
        long firstToken = 0;
        long last = 0;
        boolean timedOut = false;
        boolean streaming = false;
        StringBuilder answer = new StringBuilder();
        PromptCache.Claim claim = cache.claim(prepared.promptIds());
        int[] slotHolds = new int[0];
        boolean slotReleased = false;
        try {
            admission.success(new GenerationStream(events.asFlux().doOnCancel(ticket::cancel)));
            streaming = true;
            // From the shutdown's thread, while this one may be inside llama.cpp (a long prompt) until the exit.
            ticket.whenCut(this::emitCut);
            LlamaIterator outputs = llama.model().generate(requests.parameters(llama, prepared, request.sampling(), claim.slot())).iterator();
            while (outputs.hasNext()) {
                if (ticket.cancelled()) {
                    // Only here, between tokens: cancelling while this thread waits in the binding
                    // would leave it waiting for a result that never comes.
                    LOG.debug("Generation cancelled by its client after {} tokens", tokens);
                    outputs.cancel();
                    break;
                }
                if (System.nanoTime() - deadline > 0) {
                    outputs.cancel();
                    timedOut = true;
                    break;
                }
                LlamaOutput output = outputs.next();
                if (!outputs.hasNext()) {
                    break; // the closing result; in streaming mode it carries no text
                }
                // Each intermediate result stands for one decoded token: text held back (a possible stop
                // sequence, an EOS) arrives as an empty result, and only a token that ends inside a UTF-8
                // character sends nothing (its bytes come with the next result).
                tokens++;
                endedOnText = !output.text.isEmpty();
                long now = System.nanoTime();
                if (firstToken == 0) {
                    firstToken = now;
                    metrics.firstToken(now - arrival);
                } else {
                    metrics.interToken(now - last);
                }
                last = now;
                if (!output.text.isEmpty()) {
                    uncounted += Utf8Tokens.mayHideTokens(output.text);
                    answer.append(output.text);
                    events.tryEmitNext(new Token(output.text));
                }
            }
            if (ticket.cutByServer()) {
                // Cut by a shutdown that ran out of grace: the shutdown's thread has told the client (emitCut).
                metrics.outcome(Outcome.UNAVAILABLE);
                return;
            }
            if (ticket.cancelled()) {
                metrics.outcome(Outcome.CANCELLED);
                return;
            }
            if (timedOut) {
                LOG.warn("A generation reached the request time limit of {} s after {} tokens", timeLimit.toSeconds(), tokens);
            }
            long end = System.nanoTime();
            // A token that ends inside a UTF-8 character sends no text of its own, so the count can fall short;
            // when the shortfall could reach the limit, the answer may have been cut there: say so.
            int hidden = uncounted + (endedOnText ? Utf8Tokens.MAX_UNSENT_AT_END : 0);
            FinishReason reason = timedOut || tokens + hidden >= prepared.maxTokens() ? FinishReason.LENGTH : FinishReason.STOP;
            // The tokens that wrote text: all counted ones but an end-of-text token (an empty last output), known
            // exactly only when no token went unreported inside a character.
            int generated = uncounted > 0 ? -1 : endedOnText ? tokens : tokens - 1;
            slotHolds = PromptCache.afterGeneration(prepared.promptTokens(),
                    NativeRequests.withAnswer(llama, prepared, answer.toString(), generated), reason == FinishReason.LENGTH);
            long first = firstToken == 0 ? end : firstToken;
            Finished finished = new Finished(reason, new Usage(prepared.promptTokens(), tokens, claim.reusedTokens()), new Timings(
                    Duration.ofNanos(queuedNanos), Duration.ofNanos(first - granted),
                    Duration.ofNanos(end - first), Duration.ofNanos(end - arrival)));
            // Free before the client hears the end: its next turn may come at once, and must find this slot free to
            // reuse what it holds (llama.cpp is done with the slot: the last result has come).
            cache.release(claim.slot(), slotHolds);
            slotReleased = true;
            metrics.finished(finished);
            events.tryEmitNext(finished);
            events.tryEmitComplete();
        } catch (RuntimeException e) {
            LOG.error("Generation failed after {} tokens: {}", tokens, e.toString());
            metrics.outcome(Outcome.ERROR);
            ApiException failure = new ApiException(requests.failure(e, prepared));
            if (streaming) {
                events.tryEmitError(failure);
            } else {
                admission.error(failure);
            }
        } finally {
            if (!slotReleased) {
                cache.release(claim.slot(), slotHolds);
            }
        }
    }
}
