package io.knllama.modelcache;

/**
 * Every setting, with its environment variable and its {@code --flag=value}: the one table that
 * parsing, {@code --help} and the README's table follow.
 */
enum Setting {
    SOURCE("KNLLAMA_MODEL_SOURCE", "source", "hf://<org>/<repo>/<file>.gguf[@revision], https://…, or file:///… (required)"),
    SHA256("KNLLAMA_MODEL_SHA256", "sha256", "expected sha256, sha256:<hex> or <hex>; a mismatch fails (recommended)"),
    DIR("KNLLAMA_MODEL_DIR", "dir", "directory on the shared volume (default /models)"),
    FILE("KNLLAMA_MODEL_FILE", "file", "file name in that directory (default: the source's last path segment)"),
    VERIFY("KNLLAMA_MODEL_VERIFY", "verify", "manifest: trust a matching manifest (default); full: re-hash a present model"),
    HF_ENDPOINT("HF_ENDPOINT", "hf-endpoint", "Hugging Face or a mirror (default https://huggingface.co)"),
    HF_TOKEN("HF_TOKEN", null, "token for private and gated repositories; environment only, to keep it out of `ps`"),
    LOCK_STALE_SECONDS("KNLLAMA_MODEL_LOCK_STALE_SECONDS", "lock-stale-seconds",
            "a download lock not renewed for this long belongs to a dead process and is taken over (default 30)"),
    RECORD_KEY("KNLLAMA_MODEL_RECORD_KEY", null,
            "secret (32+ characters) signing the check record that lets the function skip its own full GGUF check; "
                    + "the same value in the function; environment only (see README)"),
    MAX_SIZE("KNLLAMA_MODEL_MAX_SIZE", "max-size",
            "largest model fetched, in bytes or with MB/GB/TB (decimal); a source announcing more is refused, "
                    + "a body announcing no size is cut off there (default 64GB)");

    final String env;
    final String flag;
    final String description;

    Setting(String env, String flag, String description) {
        this.env = env;
        this.flag = flag;
        this.description = description;
    }

    /** How a message names the setting, e.g. {@code KNLLAMA_MODEL_SHA256 (--sha256)}. */
    String names() {
        return flag == null ? env : env + " (--" + flag + ")";
    }
}
