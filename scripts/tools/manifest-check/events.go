package main

import (
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
)

// checkEventDelivery checks the way events reach the function. Every Trigger whose subscriber is one of
// the function's Services must deliver to a cluster-local, events-only Service (the public one keeps its
// API key, which a Trigger cannot send), and give it time to answer: its per-attempt delivery timeout (the
// Trigger's own, else its Broker's) must exceed the longest reply (a prompt's request time limit, a batch's
// time limit), or the broker gives up on (and redelivers) work that is still running, and must fit in the
// Service's timeouts, after which Knative cuts the request anyway. A SinkBinding that gives the function
// K_SINK must bind the Service the Triggers deliver to, where batch items are answered.
func checkEventDelivery(r rendered) error {
	brokers := map[string]*eventingv1.Broker{}
	services := map[string]knativeService{}
	for _, s := range r.services {
		if isKnllama(s.svc) {
			services[s.svc.Name] = s
		}
	}
	var triggers []*eventingv1.Trigger
	var bindings []*sourcesv1.SinkBinding
	for _, object := range r.eventing {
		switch o := object.(type) {
		case *eventingv1.Broker:
			brokers[o.Name] = o
		case *eventingv1.Trigger:
			triggers = append(triggers, o)
		case *sourcesv1.SinkBinding:
			bindings = append(bindings, o)
		}
	}
	var problems []error
	subscribed := map[string]bool{}
	for _, trigger := range triggers {
		ref := trigger.Spec.Subscriber.Ref
		if ref == nil || ref.Kind != "Service" {
			continue
		}
		s, ok := services[ref.Name]
		if !ok {
			continue // not the function (e.g. the event display)
		}
		subscribed[ref.Name] = true
		if err := checkTrigger(trigger, brokers, s, r.configMaps); err != nil {
			problems = append(problems, fmt.Errorf("Trigger/%s: %w", trigger.Name, err))
		}
	}
	for _, binding := range bindings {
		subject := binding.Spec.Subject
		if _, ok := services[subject.Name]; ok && subject.Kind == "Service" && !subscribed[subject.Name] {
			problems = append(problems, fmt.Errorf("SinkBinding/%s binds Service/%s, which no Trigger delivers to: "+
				"batch items are answered by the Service the Triggers deliver to", binding.Name, subject.Name))
		}
	}
	return errors.Join(problems...)
}

func checkTrigger(trigger *eventingv1.Trigger, brokers map[string]*eventingv1.Broker, s knativeService, configMaps map[string]*corev1.ConfigMap) error {
	svc := s.svc
	fnEnv, err := resolveEnv(svc.Spec.Template.Spec.Containers[0], configMaps)
	if err != nil {
		return err
	}
	if !clusterLocal(svc) || fnEnv["KNLLAMA_API_ROUTES"] != "events" {
		return fmt.Errorf("delivers to Service/%s, which is not the cluster-local events-only Service (label %s=cluster-local, "+
			"KNLLAMA_API_ROUTES=events): the public Service requires an API key, which Triggers cannot send", svc.Name, visibilityLabel)
	}
	delivery := trigger.Spec.Delivery
	if delivery == nil || delivery.Timeout == nil {
		if broker, ok := brokers[trigger.Spec.Broker]; ok {
			delivery = broker.Spec.Delivery
		}
	}
	if delivery == nil || delivery.Timeout == nil {
		return fmt.Errorf("no delivery timeout on it or its Broker %q", trigger.Spec.Broker)
	}
	timeout, err := parseISODuration(*delivery.Timeout)
	if err != nil {
		return fmt.Errorf("delivery timeout %q: %w", *delivery.Timeout, err)
	}
	longest, err := silence(fnEnv)
	if err != nil {
		return err
	}
	spec := svc.Spec.Template.Spec
	limits := map[string]int64{"timeoutSeconds": derefInt(spec.TimeoutSeconds),
		"responseStartTimeoutSeconds": derefInt(spec.ResponseStartTimeoutSeconds), "idleTimeoutSeconds": derefInt(spec.IdleTimeoutSeconds)}
	if timeout <= longest {
		return fmt.Errorf("delivery timeout %v must exceed the longest reply of Service/%s (%v: KNLLAMA_ENGINE_REQUEST_TIMEOUT, "+
			"KNLLAMA_EVENTS_BATCH_TIMEOUT), or the broker redelivers work that is still running", timeout, svc.Name, longest)
	}
	for name, seconds := range limits {
		if limit := time.Duration(seconds) * time.Second; limit != 0 && timeout > limit {
			return fmt.Errorf("delivery timeout %v exceeds Service/%s's %s (%v), after which Knative cuts the delivery", timeout, svc.Name, name, limit)
		}
	}
	fmt.Printf("ok   Trigger/%s gives Service/%s %v per attempt (longest reply %v, Service timeout %ds)\n",
		trigger.Name, svc.Name, timeout, longest, limits["timeoutSeconds"])
	return nil
}

// parseISODuration reads the ISO-8601 durations Knative's delivery settings use, such as PT590S or PT1M30S.
func parseISODuration(iso string) (time.Duration, error) {
	if len(iso) < 3 || iso[:2] != "PT" {
		return 0, fmt.Errorf("only PT… durations are supported")
	}
	var total time.Duration
	number := 0
	digits := false
	for _, c := range iso[2:] {
		switch {
		case c >= '0' && c <= '9':
			number = number*10 + int(c-'0')
			digits = true
		case c == 'H' && digits:
			total += time.Duration(number) * time.Hour
		case c == 'M' && digits:
			total += time.Duration(number) * time.Minute
		case c == 'S' && digits:
			total += time.Duration(number) * time.Second
		default:
			return 0, fmt.Errorf("unexpected %q", c)
		}
		if c < '0' || c > '9' {
			number, digits = 0, false
		}
	}
	if digits {
		return 0, fmt.Errorf("a number without a unit")
	}
	return total, nil
}
