package main

import (
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// checkEventDelivery checks that events reach the function with time to be answered: for every
// Trigger whose subscriber is the function, the per-attempt delivery timeout (the Trigger's own, else
// its Broker's) must exceed the function's batch time limit, or the broker gives up on (and redelivers)
// a batch that is still running, and must not exceed the Service's timeoutSeconds, after which Knative
// cuts the request anyway. Without Triggers for the function there is nothing to check.
func checkEventDelivery(svc *servingv1.Service, objects []eventingObject, configMaps map[string]*corev1.ConfigMap) error {
	brokers := map[string]*eventingv1.Broker{}
	var triggers []*eventingv1.Trigger
	for _, object := range objects {
		switch o := object.(type) {
		case *eventingv1.Broker:
			brokers[o.Name] = o
		case *eventingv1.Trigger:
			if ref := o.Spec.Subscriber.Ref; ref != nil && ref.Kind == "Service" && ref.Name == svc.Name {
				triggers = append(triggers, o)
			}
		}
	}
	if len(triggers) == 0 {
		return nil
	}
	fnEnv, err := resolveEnv(svc.Spec.Template.Spec.Containers[0], configMaps)
	if err != nil {
		return err
	}
	batch, err := time.ParseDuration(fnEnv["KNLLAMA_EVENTS_BATCH_TIMEOUT"])
	if err != nil {
		return fmt.Errorf("Service/%s: KNLLAMA_EVENTS_BATCH_TIMEOUT (%q) must be set to a duration when Triggers deliver to it",
			svc.Name, fnEnv["KNLLAMA_EVENTS_BATCH_TIMEOUT"])
	}
	serviceTimeout := time.Duration(derefInt(svc.Spec.Template.Spec.TimeoutSeconds)) * time.Second
	var problems []error
	for _, trigger := range triggers {
		delivery := trigger.Spec.Delivery
		if delivery == nil || delivery.Timeout == nil {
			if broker, ok := brokers[trigger.Spec.Broker]; ok {
				delivery = broker.Spec.Delivery
			}
		}
		if delivery == nil || delivery.Timeout == nil {
			problems = append(problems, fmt.Errorf("Trigger/%s: no delivery timeout on it or its Broker %q", trigger.Name, trigger.Spec.Broker))
			continue
		}
		timeout, err := parseISODuration(*delivery.Timeout)
		if err != nil {
			problems = append(problems, fmt.Errorf("Trigger/%s: delivery timeout %q: %w", trigger.Name, *delivery.Timeout, err))
			continue
		}
		if timeout <= batch || timeout > serviceTimeout {
			problems = append(problems, fmt.Errorf("Trigger/%s: delivery timeout %v must exceed KNLLAMA_EVENTS_BATCH_TIMEOUT (%v) "+
				"and stay within the Service's timeoutSeconds (%v)", trigger.Name, timeout, batch, serviceTimeout))
			continue
		}
		fmt.Printf("ok   Trigger/%s gives the function %v per attempt (batch limit %v, Service timeout %v)\n",
			trigger.Name, timeout, batch, serviceTimeout)
	}
	return errors.Join(problems...)
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
