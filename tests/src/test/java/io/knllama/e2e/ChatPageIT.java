package io.knllama.e2e;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.ExpectedConditions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The chat page in a real headless Chromium (Debian's {@code chromium} and {@code chromium-driver}, which
 * {@code .ci/run} installs), against the real model: a person's question, the answer streamed in, the numbers
 * shown, and the Stop button. The screenshot lands in {@code target/chat-page.png}.
 */
class ChatPageIT {

    private static final Path CHROMIUM = Path.of(System.getProperty("knllama.e2e.chromium", "/usr/bin/chromium"));
    private static final Path CHROMEDRIVER = Path.of(System.getProperty("knllama.e2e.chromedriver", "/usr/bin/chromedriver"));
    private static final Path SCREENSHOT = Path.of("target", "chat-page.png");

    private static FunctionProcess function;
    private static ChromeDriver browser;
    private static Path profile;

    @BeforeAll
    static void start() throws IOException {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "No Chromium here: install Debian's chromium and chromium-driver (.ci/run does) to run the browser test");
        function = FunctionProcess.start("chat-page", Map.of("KNLLAMA_ENGINE_SLOTS", "2"));
        profile = Files.createTempDirectory("knllama-chromium");
        ChromeOptions options = new ChromeOptions().setBinary(CHROMIUM.toFile()).addArguments(
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1100,900", "--user-data-dir=" + profile);
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build();
        browser = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stop() throws IOException {
        if (browser != null) {
            browser.quit();
        }
        if (function != null) {
            function.close();
        }
        if (profile != null) {
            try (var files = Files.walk(profile)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @BeforeEach
    void freshPage() {
        function.awaitIdle();
        browser.get(function.uri("/").toString());
        new WebDriverWait(browser, Duration.ofSeconds(20)).until(ExpectedConditions.attributeToBe(
                By.id("model"), "data-id", FunctionProcess.MODEL_ID));
    }

    private static WebElement find(String id) {
        return browser.findElement(By.id(id));
    }

    /** Sets a field under Settings, opening them as a person would. */
    private static void set(String id, String value) {
        if (find("settings").getAttribute("open") == null) {
            find("settings").findElement(By.tagName("summary")).click();
        }
        find(id).clear();
        find(id).sendKeys(value);
    }

    /** Records every text the answer shows while it is streaming, so the test can tell a stream from one reply. */
    private static void watchTheAnswer() {
        ((JavascriptExecutor) browser).executeScript("""
                window.__seen = [];
                new MutationObserver(() => {
                  const answer = document.querySelector('.message.assistant.streaming');
                  if (answer && answer.textContent) window.__seen.push(answer.textContent);
                }).observe(document.getElementById('messages'), {subtree: true, childList: true, characterData: true});
                """);
    }

    @Test
    void a_question_typed_in_the_page_gets_a_streamed_answer_with_its_timings() throws IOException {
        set("temperature", "0");
        set("max-tokens", "48");
        watchTheAnswer();
        find("prompt").sendKeys("What is the capital of France?");
        find("send").click();

        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(90));
        wait.until(ExpectedConditions.textToBe(By.id("status"), "done"));

        WebElement answer = browser.findElement(By.cssSelector(".message.assistant"));
        assertThat(answer.getText()).contains("Paris");
        @SuppressWarnings("unchecked")
        List<String> seen = (List<String>) ((JavascriptExecutor) browser).executeScript("return window.__seen;");
        assertThat(seen.stream().distinct().count()).as("the answer grew piece by piece: %s", seen).isGreaterThan(2);
        assertThat(find("ttft").getText()).matches("\\d+ ms");
        assertThat(find("tps").getText()).matches("\\d+(\\.\\d)? tokens/s");
        assertThat(find("tokens").getText()).matches("\\d+ \\(\\+\\d+ prompt\\)");
        assertThat(browser.findElement(By.cssSelector(".message.user")).getText()).isEqualTo("What is the capital of France?");

        Files.createDirectories(SCREENSHOT.getParent());
        Files.copy(browser.getScreenshotAs(OutputType.FILE).toPath(), SCREENSHOT, StandardCopyOption.REPLACE_EXISTING);
    }

    @Test
    void the_stop_button_ends_a_long_answer_and_frees_the_slot() {
        set("temperature", "0.8");
        set("max-tokens", "3000");
        // A base model may end a story on its own within a second; ban its end-of-text tokens (as ConcurrencyIT
        // does) so the answer is still streaming when the button is pressed. The page's request is otherwise
        // untouched, abort signal included.
        ((JavascriptExecutor) browser).executeScript("""
                const original = window.fetch;
                window.fetch = (url, init) => {
                  if (String(url).endsWith('chat/completions') && init && init.body) {
                    const body = JSON.parse(init.body);
                    body.logit_bias = {"1": -100, "106": -100};
                    init = {...init, body: JSON.stringify(body)};
                  }
                  return original(url, init);
                };
                """);
        WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(60));
        // It can still stop at the transcript's next "User:" turn; a generation that ended by itself is not the
        // case under test, so start over and ask again, up to three times.
        for (int attempt = 1; ; attempt++) {
            if (attempt > 1) {
                find("clear").click();
            }
            find("prompt").sendKeys("Write a very long story about a llama who travels the world.");
            find("send").click();
            wait.until(d -> List.of("streaming", "done").contains(d.findElement(By.id("status")).getText()));
            if (find("status").getText().equals("streaming") || attempt == 3) {
                break;
            }
        }
        assertThat(find("status").getText()).isEqualTo("streaming");

        double cancelled = function.requests("cancelled");
        double cut = function.requests("length");
        find("stop").click();

        wait.until(ExpectedConditions.textToBe(By.id("status"), "stopped"));
        assertThat(find("send").isEnabled()).isTrue();
        assertThat(browser.findElement(By.cssSelector(".message.assistant")).getText()).isNotBlank();
        // The page's abort closes the connection, which cancels the generation instead of letting it run to 3000 tokens.
        function.awaitIdle();
        assertThat(function.requests("cancelled")).isEqualTo(cancelled + 1);
        assertThat(function.requests("length")).as("not run to max_tokens").isEqualTo(cut);
    }
}
