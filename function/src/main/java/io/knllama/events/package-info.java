/** CloudEvents in (prompts and batches from a Knative Trigger), reply events out. */
package io.knllama.events;
