package io.knllama.modelcache.source;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ModelSourceTest {

    private static final HuggingFaceHub HUB = new HuggingFaceHub(HuggingFaceHub.DEFAULT_ENDPOINT, Optional.of(new BearerToken("hf_x")));

    @Test
    void resolves_an_hf_source_to_the_resolve_endpoint_at_main() {
        ModelSource source = ModelSource.parse("hf://ggml-org/gemma-3-270m-GGUF/gemma-3-270m-Q8_0.gguf");

        assertThat(source).isEqualTo(new ModelSource.HuggingFace("ggml-org/gemma-3-270m-GGUF", "gemma-3-270m-Q8_0.gguf", "main"));
        assertThat(source.fileName()).contains("gemma-3-270m-Q8_0.gguf");
        assertThat(source.canonical()).isEqualTo("hf://ggml-org/gemma-3-270m-GGUF/gemma-3-270m-Q8_0.gguf@main");
        Location.Http location = (Location.Http) source.resolve(HUB);
        assertThat(location.uri()).isEqualTo(URI.create("https://huggingface.co/ggml-org/gemma-3-270m-GGUF/resolve/main/gemma-3-270m-Q8_0.gguf"));
        assertThat(location.token()).isEqualTo(HUB.token());
        assertThat(location.repository()).contains("ggml-org/gemma-3-270m-GGUF");
    }

    @Test
    void takes_the_revision_after_the_file_and_encodes_slashes_in_it_as_hugging_face_expects() {
        ModelSource source = ModelSource.parse("hf://org/repo/sub dir/model.gguf@refs/pr/1");

        assertThat(source).isEqualTo(new ModelSource.HuggingFace("org/repo", "sub dir/model.gguf", "refs/pr/1"));
        assertThat(((Location.Http) source.resolve(HUB)).uri().toString())
                .isEqualTo("https://huggingface.co/org/repo/resolve/refs%2Fpr%2F1/sub%20dir/model.gguf");
    }

    @Test
    void also_accepts_the_revision_after_the_repository_as_fsspec_writes_it() {
        assertThat(ModelSource.parse("hf://org/repo@v1.0/model.gguf"))
                .isEqualTo(new ModelSource.HuggingFace("org/repo", "model.gguf", "v1.0"));
    }

    @Test
    void resolves_against_a_mirror_given_with_a_trailing_slash() {
        HuggingFaceHub mirror = new HuggingFaceHub(URI.create("http://mirror.internal:8080/hf/"), Optional.empty());

        assertThat(((Location.Http) ModelSource.parse("hf://org/repo/m.gguf@abc123").resolve(mirror)).uri())
                .isEqualTo(URI.create("http://mirror.internal:8080/hf/org/repo/resolve/abc123/m.gguf"));
    }

    @Test
    void rejects_hf_sources_that_name_no_file_or_have_invalid_parts() {
        assertThatThrownBy(() -> ModelSource.parse("hf://org/repo")).hasMessageContaining("names no file");
        assertThatThrownBy(() -> ModelSource.parse("hf://org/repo/")).hasMessageContaining("invalid path segment");
        assertThatThrownBy(() -> ModelSource.parse("hf://org/repo/../x.gguf")).hasMessageContaining("invalid path segment '..'");
        assertThatThrownBy(() -> ModelSource.parse("hf://-org/repo/x.gguf")).hasMessageContaining("not a Hugging Face");
        assertThatThrownBy(() -> ModelSource.parse("hf://org/repo/x.gguf@")).hasMessageContaining("invalid revision");
    }

    @Test
    void rejects_unknown_schemes_showing_the_forms_it_accepts() {
        assertThatThrownBy(() -> ModelSource.parse("s3://bucket/model.gguf"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("hf://<org>/<repo>/<file>.gguf[@revision]")
                .hasMessageContaining("file:///");
        assertThatThrownBy(() -> ModelSource.parse("/models/x.gguf")).hasMessageContaining("is not a model source");
    }

    @Test
    void names_a_url_source_by_its_last_path_segment_and_keeps_its_query_out_of_the_canonical_form() {
        ModelSource source = ModelSource.parse("https://cdn.example.com/models/tiny.gguf?X-Amz-Signature=secret");

        assertThat(source.fileName()).contains("tiny.gguf");
        assertThat(source.canonical()).isEqualTo("https://cdn.example.com/models/tiny.gguf?…").doesNotContain("secret");
        assertThat(((Location.Http) source.resolve(HUB)).uri().getQuery()).isEqualTo("X-Amz-Signature=secret");
        assertThat(ModelSource.parse("https://example.com/").fileName()).isEmpty();
    }

    @Test
    void sends_the_token_with_a_url_source_only_to_the_hugging_face_endpoint() {
        Location.Http hub = (Location.Http) ModelSource.parse("https://huggingface.co/org/repo/resolve/main/m.gguf").resolve(HUB);
        Location.Http other = (Location.Http) ModelSource.parse("https://example.com/m.gguf").resolve(HUB);

        assertThat(hub.token()).isPresent();
        assertThat(other.token()).isEmpty();
    }

    @Test
    void rejects_credentials_inside_a_url_without_repeating_them() {
        assertThatThrownBy(() -> ModelSource.parse("https://user:hunter2@example.com/m.gguf"))
                .hasMessageContaining("carries credentials")
                .hasMessageNotContaining("hunter2");
    }

    @Test
    void reads_a_file_source_as_an_absolute_path() {
        ModelSource source = ModelSource.parse("file:///mnt/models/tiny.gguf");

        assertThat(source.resolve(HUB)).isEqualTo(new Location.File(Path.of("/mnt/models/tiny.gguf")));
        assertThat(source.fileName()).contains("tiny.gguf");
        assertThat(source.canonical()).isEqualTo("file:///mnt/models/tiny.gguf");
        assertThatThrownBy(() -> ModelSource.parse("file://server/share/tiny.gguf")).hasMessageContaining("file:///<absolute path>");
    }

    @Test
    void hides_the_token_when_printed() {
        assertThat(HUB.toString()).doesNotContain("hf_x");
    }
}
