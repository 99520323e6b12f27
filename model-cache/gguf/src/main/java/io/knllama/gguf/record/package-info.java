/**
 * The record of a passed GGUF check that model-cache writes beside the model and the function trusts to
 * skip its own full check: its format ({@link io.knllama.gguf.record.CheckRecord}), what it binds to
 * ({@link io.knllama.gguf.record.FileIdentity}) and who may sign it ({@link io.knllama.gguf.record.RecordKey}).
 * The decision to trust one is the function's; writing one is model-cache's.
 */
package io.knllama.gguf.record;
