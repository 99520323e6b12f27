package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"go.k6.io/k6/js/modules"
)

func init() {
	modules.Register("k6/x/sse", new(rootModule))
}

type rootModule struct{}

// NewModuleInstance gives each VU its own HTTP client. One connection per request: a streamed POST sent on a
// kept-alive connection that the server has just closed fails with EOF and may not be resent (llama-server did
// this between the turns of concurrent conversations), and on loopback a new connection costs a fraction of a
// millisecond, alike for every server.
func (*rootModule) NewModuleInstance(vu modules.VU) modules.Instance {
	return &instance{vu: vu, client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}}
}

type instance struct {
	vu     modules.VU
	client *http.Client
}

func (i *instance) Exports() modules.Exports {
	return modules.Exports{Named: map[string]any{"post": i.post}}
}

// Options of one request, from the script: timeout in seconds (default 300), max_events to stop reading and
// close the connection after that many events (a client that leaves mid-stream), extra headers.
type Options struct {
	Timeout   float64           `js:"timeout"`
	MaxEvents int               `js:"max_events"`
	Headers   map[string]string `js:"headers"`
}

// Result is what the script sees of one request. Times are milliseconds from just before the request was
// written: Times[n] is when Events[n] (the payload of one "data:" line) was read. A body that is not an event
// stream (an error answer) is returned whole in Body. Error is set when the request could not be completed
// (connection refused, timeout, a stream cut off); the events read until then are kept.
type Result struct {
	Status     int       `js:"status"`
	RetryAfter string    `js:"retry_after"`
	Body       string    `js:"body"`
	Events     []string  `js:"events"`
	Times      []float64 `js:"times"`
	DurationMs float64   `js:"duration_ms"`
	Error      string    `js:"error"`
}

// post sends body as JSON to url and reads the answer as server-sent events, timestamping each one.
func (i *instance) post(url, body string, options *Options) *Result {
	if options == nil {
		options = &Options{}
	}
	timeout := 300 * time.Second
	if options.Timeout > 0 {
		timeout = time.Duration(options.Timeout * float64(time.Second))
	}
	result := &Result{Events: []string{}, Times: []float64{}}
	request, err := http.NewRequestWithContext(i.vu.Context(), http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		result.Error = err.Error()
		return result
	}
	request.Header.Set("Content-Type", "application/json")
	request.Header.Set("Accept", "text/event-stream")
	for name, value := range options.Headers {
		request.Header.Set(name, value)
	}
	start := time.Now()
	since := func() float64 { return float64(time.Since(start).Microseconds()) / 1000 }
	defer func() { result.DurationMs = since() }()
	client := *i.client // shares the transport (and its connections); the timeout covers reading the whole stream
	client.Timeout = timeout
	response, err := client.Do(request)
	if err != nil {
		result.Error = err.Error()
		return result
	}
	defer response.Body.Close()
	result.Status = response.StatusCode
	result.RetryAfter = response.Header.Get("Retry-After")
	if !strings.HasPrefix(response.Header.Get("Content-Type"), "text/event-stream") {
		whole, err := io.ReadAll(io.LimitReader(response.Body, 1<<20))
		result.Body = string(whole)
		if err != nil {
			result.Error = err.Error()
		}
		return result
	}
	lines := bufio.NewScanner(response.Body)
	lines.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for lines.Scan() {
		data, ok := strings.CutPrefix(lines.Text(), "data:")
		if !ok {
			continue // blank separators, comments, event names, ids: the OpenAI streams carry everything in data
		}
		result.Times = append(result.Times, since())
		result.Events = append(result.Events, strings.TrimPrefix(data, " "))
		if options.MaxEvents > 0 && len(result.Events) >= options.MaxEvents {
			return result // returning closes the body, and with it the connection: the server sees the client leave
		}
	}
	if err := lines.Err(); err != nil {
		var timeoutErr interface{ Timeout() bool }
		if errors.As(err, &timeoutErr) && timeoutErr.Timeout() {
			result.Error = fmt.Sprintf("timed out after %s", timeout)
		} else {
			result.Error = err.Error()
		}
	}
	return result
}
