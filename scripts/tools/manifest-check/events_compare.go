package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"sort"
	"strings"

	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// compareEvents checks that the kn commands scripts/kn-events.sh ran (recorded by a stand-in kn,
// one argument per line, commands separated by "---") create the same objects as the rendered
// knative/eventing manifests: every object is created by one command, with the same settings.
func compareEvents(renderedPath, recordedPath, namespace string) error {
	docs, err := readDocuments(renderedPath)
	if err != nil {
		return err
	}
	objects := map[string]any{}
	for _, doc := range docs {
		var object any
		switch doc.kind {
		case "Broker":
			object = &eventingv1.Broker{}
		case "Trigger":
			object = &eventingv1.Trigger{}
		case "PingSource":
			object = &sourcesv1.PingSource{}
		case "SinkBinding":
			object = &sourcesv1.SinkBinding{}
		case "Service":
			object = &servingv1.Service{}
		default:
			return fmt.Errorf("%v: kn-events.sh does not make this kind", doc)
		}
		if err := decodeStrict(doc, object); err != nil {
			return err
		}
		objects[doc.kind+"/"+doc.name] = object
	}
	commands, err := readCommands(recordedPath)
	if err != nil {
		return err
	}
	var problems []error
	covered := map[string]bool{}
	for _, c := range commands {
		key, err := compareCommand(c, objects, namespace)
		if err != nil {
			problems = append(problems, fmt.Errorf("kn %s: %w", strings.Join(c.words, " "), err))
			continue
		}
		covered[key] = true
		fmt.Printf("ok   kn %s %s matches %s\n", strings.Join(c.words, " "), c.name, key)
	}
	var keys []string
	for key := range objects {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	for _, key := range keys {
		if !covered[key] {
			problems = append(problems, fmt.Errorf("%s: kn-events.sh creates no such object", key))
		}
	}
	return errors.Join(problems...)
}

type command struct {
	words []string            // e.g. "source ping create"
	name  string              // the object's name
	flags map[string][]string // --flag -> values, in order
}

func readCommands(path string) ([]command, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var commands []command
	var args []string
	flush := func() error {
		if len(args) == 0 {
			return nil
		}
		c, err := parseCommand(args)
		if err != nil {
			return err
		}
		commands = append(commands, c)
		args = nil
		return nil
	}
	scanner := bufio.NewScanner(f)
	scanner.Buffer(make([]byte, 1<<20), 1<<20)
	for scanner.Scan() {
		if scanner.Text() == "---" {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		args = append(args, scanner.Text())
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return commands, scanner.Err()
}

func parseCommand(args []string) (command, error) {
	c := command{flags: map[string][]string{}}
	i := 0
	for ; i < len(args) && !strings.HasPrefix(args[i], "--"); i++ {
		c.words = append(c.words, args[i])
	}
	if len(c.words) < 3 || c.words[len(c.words)-2] != "create" {
		return c, fmt.Errorf("expected `kn KIND create NAME …`, got %q", args)
	}
	c.name = c.words[len(c.words)-1]
	c.words = c.words[:len(c.words)-2]
	for ; i < len(args); i += 2 {
		if i+1 >= len(args) || !strings.HasPrefix(args[i], "--") {
			return c, fmt.Errorf("expected --flag value pairs, got %q", args[i:])
		}
		c.flags[args[i]] = append(c.flags[args[i]], args[i+1])
	}
	return c, nil
}

// keyValues reads a repeated KEY=VALUE flag (--filter, --ce-override) as a map.
func (c command) keyValues(name string) map[string]string {
	values := map[string]string{}
	for _, kv := range c.flags[name] {
		k, v, _ := strings.Cut(kv, "=")
		values[k] = v
	}
	return values
}

func (c command) flag(name string) string {
	if values := c.flags[name]; len(values) == 1 {
		return values[0]
	}
	return ""
}

func compareCommand(c command, objects map[string]any, namespace string) (string, error) {
	if c.flag("--namespace") != namespace {
		return "", fmt.Errorf("namespace %q, expected %q", c.flag("--namespace"), namespace)
	}
	var problems []string
	differ := func(what string, kn, yaml any) {
		if !reflect.DeepEqual(kn, yaml) {
			problems = append(problems, fmt.Sprintf("%s: kn %v, manifest %v", what, kn, yaml))
		}
	}
	var key string
	switch strings.Join(c.words, " ") {
	case "service":
		key = "Service/" + c.name
		svc, ok := objects[key].(*servingv1.Service)
		if !ok {
			return "", fmt.Errorf("no %s in the manifests", key)
		}
		differ("image", c.flag("--image"), svc.Spec.Template.Spec.Containers[0].Image)
	case "broker":
		key = "Broker/" + c.name
		b, ok := objects[key].(*eventingv1.Broker)
		if !ok || b.Spec.Delivery == nil {
			return "", fmt.Errorf("no %s with delivery settings in the manifests", key)
		}
		d := b.Spec.Delivery
		differ("class", c.flag("--class"), b.Annotations["eventing.knative.dev/broker.class"])
		differ("retry", c.flag("--retry"), fmt.Sprint(deref(d.Retry)))
		differ("backoff policy", c.flag("--backoff-policy"), string(deref(d.BackoffPolicy)))
		differ("backoff delay", c.flag("--backoff-delay"), deref(d.BackoffDelay))
		differ("timeout", c.flag("--timeout"), deref(d.Timeout))
		differ("dead-letter sink", c.flag("--dl-sink"), "ksvc:"+d.DeadLetterSink.Ref.Name)
	case "trigger":
		key = "Trigger/" + c.name
		t, ok := objects[key].(*eventingv1.Trigger)
		if !ok {
			return "", fmt.Errorf("no %s in the manifests", key)
		}
		differ("broker", c.flag("--broker"), t.Spec.Broker)
		differ("filter", c.keyValues("--filter"), map[string]string(t.Spec.Filter.Attributes))
		sink := "ksvc:" + t.Spec.Subscriber.Ref.Name
		if t.Spec.Subscriber.URI != nil {
			sink = fmt.Sprintf("http://%s.%s.svc.cluster.local%s", t.Spec.Subscriber.Ref.Name, namespace, t.Spec.Subscriber.URI.String())
		}
		differ("sink", c.flag("--sink"), sink)
	case "source ping":
		key = "PingSource/" + c.name
		p, ok := objects[key].(*sourcesv1.PingSource)
		if !ok {
			return "", fmt.Errorf("no %s in the manifests", key)
		}
		differ("schedule", c.flag("--schedule"), p.Spec.Schedule)
		var knData, yamlData any
		if json.Unmarshal([]byte(c.flag("--data")), &knData) != nil || json.Unmarshal([]byte(p.Spec.Data), &yamlData) != nil {
			problems = append(problems, "data: not JSON")
		}
		differ("data", knData, yamlData)
		differ("ce overrides", c.keyValues("--ce-override"), p.Spec.CloudEventOverrides.Extensions)
		differ("sink", c.flag("--sink"), "broker:"+p.Spec.Sink.Ref.Name)
	case "source binding":
		key = "SinkBinding/" + c.name
		b, ok := objects[key].(*sourcesv1.SinkBinding)
		if !ok {
			return "", fmt.Errorf("no %s in the manifests", key)
		}
		differ("subject", c.flag("--subject"), fmt.Sprintf("%s:%s:%s", b.Spec.Subject.Kind, b.Spec.Subject.APIVersion, b.Spec.Subject.Name))
		differ("sink", c.flag("--sink"), "broker:"+b.Spec.Sink.Ref.Name)
	default:
		return "", fmt.Errorf("not a command kn-events.sh should run")
	}
	if len(problems) > 0 {
		return "", errors.New(strings.Join(problems, "; "))
	}
	return key, nil
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
