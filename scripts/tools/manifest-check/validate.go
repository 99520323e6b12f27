package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	"k8s.io/kubernetes/pkg/apis/apps"
	_ "k8s.io/kubernetes/pkg/apis/apps/install"
	appsvalidation "k8s.io/kubernetes/pkg/apis/apps/validation"
	"k8s.io/kubernetes/pkg/apis/core"
	_ "k8s.io/kubernetes/pkg/apis/core/install"
	"k8s.io/kubernetes/pkg/apis/core/v1/helper/qos"
	corevalidation "k8s.io/kubernetes/pkg/apis/core/validation"
	"k8s.io/kubernetes/pkg/apis/networking"
	_ "k8s.io/kubernetes/pkg/apis/networking/install"
	networkingvalidation "k8s.io/kubernetes/pkg/apis/networking/validation"
	_ "k8s.io/kubernetes/pkg/apis/rbac/install"
	rbacvalidation "k8s.io/kubernetes/pkg/apis/rbac/validation"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"knative.dev/eventing/pkg/apis/feature"
	sourcesv1 "knative.dev/eventing/pkg/apis/sources/v1"
	netcfg "knative.dev/networking/pkg/config"
	"knative.dev/pkg/apis"
	"knative.dev/pkg/logging"
	apiconfig "knative.dev/serving/pkg/apis/config"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
	autoscalerconfig "knative.dev/serving/pkg/autoscaler/config"
	"knative.dev/serving/pkg/deployment"
	"knative.dev/serving/pkg/observability"
	cfgresources "knative.dev/serving/pkg/reconciler/configuration/resources"
	revconfig "knative.dev/serving/pkg/reconciler/revision/config"
	revresources "knative.dev/serving/pkg/reconciler/revision/resources"
	svcresources "knative.dev/serving/pkg/reconciler/service/resources"
)

// namespace stands in for the one `kubectl apply` fills in; Kubernetes' validation requires one.
const namespace = "knllama"

func validateFile(featuresPath, renderedPath string) error {
	features, err := loadFeatures(featuresPath)
	if err != nil {
		return err
	}
	docs, err := readDocuments(renderedPath)
	if err != nil {
		return err
	}
	var problems []error
	r := rendered{configMaps: map[string]*corev1.ConfigMap{}, roles: map[string]*rbacv1.Role{}}
	for _, doc := range docs {
		err := validateDocument(doc, features, &r)
		if err != nil {
			problems = append(problems, err)
		} else {
			fmt.Printf("ok   %v\n", doc)
		}
	}
	for _, s := range r.services {
		if !isKnllama(s.svc) {
			continue // the rules are about the function's Services, not the others (e.g. an event display)
		}
		if err := checkRules(s, r); err != nil {
			problems = append(problems, fmt.Errorf("serving.knative.dev/v1 Service/%s: knllama rules:\n%w", s.svc.Name, err))
		} else {
			fmt.Printf("ok   knllama rules for Service/%s (pod QoS %s)\n", s.svc.Name, s.qos)
		}
	}
	if err := checkEventDelivery(r); err != nil {
		problems = append(problems, err)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %d problem(s):\n%w", renderedPath, len(problems), errors.Join(problems...))
	}
	return nil
}

// rendered is what validation collected from a file for the cross-object checks.
type rendered struct {
	configMaps   map[string]*corev1.ConfigMap
	services     []knativeService
	eventing     []eventingObject
	roles        map[string]*rbacv1.Role
	roleBindings []*rbacv1.RoleBinding
}

// knativeService is a Service after Knative's defaulting, with the Deployment Knative's revision
// reconciler builds for its first Revision and that pod's QoS class, computed by Kubernetes' code.
type knativeService struct {
	svc        *servingv1.Service
	deployment *appsv1.Deployment
	qos        corev1.PodQOSClass
}

// isKnllama tells the function's Services (the API and the events Service) from any other.
func isKnllama(svc *servingv1.Service) bool {
	return svc.Labels["app.kubernetes.io/name"] == "knllama"
}

// eventingObject is what Knative Eventing's API types share: its webhook's defaulting and validation.
type eventingObject interface {
	SetDefaults(context.Context)
	Validate(context.Context) *apis.FieldError
}

func validateDocument(doc document, features *apiconfig.Features, r *rendered) error {
	var object eventingObject
	switch doc.apiVersion + " " + doc.kind {
	case "eventing.knative.dev/v1 Broker":
		object = &eventingv1.Broker{}
	case "eventing.knative.dev/v1 Trigger":
		object = &eventingv1.Trigger{}
	case "sources.knative.dev/v1 PingSource":
		object = &sourcesv1.PingSource{}
	case "sources.knative.dev/v1 SinkBinding":
		object = &sourcesv1.SinkBinding{}
	}
	if object != nil {
		if err := decodeStrict(doc, object); err != nil {
			return err
		}
		r.eventing = append(r.eventing, object)
		return validateEventing(doc, object)
	}
	switch doc.apiVersion + " " + doc.kind {
	case "v1 ConfigMap":
		cm, err := decodeAndValidate[corev1.ConfigMap](doc, corevalidation.ValidateConfigMap)
		if cm != nil {
			r.configMaps[cm.Name] = cm
		}
		return err
	case "v1 Secret":
		_, err := decodeAndValidate[corev1.Secret](doc, corevalidation.ValidateSecret)
		return err
	case "v1 PersistentVolumeClaim":
		_, err := decodeAndValidate[corev1.PersistentVolumeClaim](doc, func(pvc *core.PersistentVolumeClaim) field.ErrorList {
			return corevalidation.ValidatePersistentVolumeClaim(pvc, corevalidation.ValidationOptionsForPersistentVolumeClaim(pvc, nil))
		})
		return err
	case "networking.k8s.io/v1 NetworkPolicy":
		_, err := decodeAndValidate[networkingv1.NetworkPolicy](doc, func(policy *networking.NetworkPolicy) field.ErrorList {
			return networkingvalidation.ValidateNetworkPolicy(policy, networkingvalidation.NetworkPolicyValidationOptions{})
		})
		return err
	case "v1 ServiceAccount":
		_, err := decodeAndValidate[corev1.ServiceAccount](doc, corevalidation.ValidateServiceAccount)
		return err
	case "rbac.authorization.k8s.io/v1 Role":
		role, err := decodeAndValidate[rbacv1.Role](doc, rbacvalidation.ValidateRole)
		if role != nil {
			r.roles[role.Name] = role
		}
		return err
	case "rbac.authorization.k8s.io/v1 RoleBinding":
		binding, err := decodeAndValidate[rbacv1.RoleBinding](doc, rbacvalidation.ValidateRoleBinding)
		if binding != nil {
			r.roleBindings = append(r.roleBindings, binding)
		}
		return err
	case "serving.knative.dev/v1 Service":
		var svc servingv1.Service
		if err := decodeStrict(doc, &svc); err != nil {
			return err
		}
		dep, err := validateService(doc, &svc, features)
		if err != nil {
			return err
		}
		r.services = append(r.services, knativeService{&svc, dep, qos.GetPodQOS(&corev1.Pod{Spec: dep.Spec.Template.Spec})})
		return nil
	default:
		return fmt.Errorf("%v: no validation for this kind; add it to scripts/tools/manifest-check", doc)
	}
}

// validateEventing runs Knative Eventing's defaulting and validating webhooks on an object, with
// Eventing's feature flags at their defaults (alpha features off).
func validateEventing(doc document, object eventingObject) error {
	flags, err := feature.NewFlagsConfigFromMap(map[string]string{})
	if err != nil {
		return err
	}
	ctx := feature.ToContext(context.Background(), flags)
	if meta, ok := object.(metav1.Object); ok {
		meta.SetNamespace(namespace)
	}
	object.SetDefaults(ctx)
	if fe := object.Validate(apis.WithinCreate(ctx)); fe != nil {
		return fmt.Errorf("%v: rejected by Knative Eventing's validation:\n%v", doc, fe)
	}
	return nil
}

// validateService runs what the cluster runs on a Service: Knative's defaulting and validating
// webhooks, then, on the Deployment Knative would make for its first Revision, Kubernetes' own
// Deployment validation.
func validateService(doc document, svc *servingv1.Service, features *apiconfig.Features) (*appsv1.Deployment, error) {
	cfg, err := knativeConfig(features)
	if err != nil {
		return nil, err
	}
	ctx := apiconfig.ToContext(context.Background(), cfg.Config)
	svc.Namespace = namespace
	svc.SetDefaults(ctx)
	if fe := svc.Validate(apis.WithinCreate(ctx)); fe != nil {
		return nil, fmt.Errorf("%v: rejected by Knative's validation:\n%v", doc, fe)
	}
	// Only errors fail the check; Knative's warnings (e.g. defaulted security settings) do not.
	rev := cfgresources.MakeRevision(ctx, svcresources.MakeConfiguration(svc), time.Unix(0, 0))
	rev.Name = svc.Name + "-00001"
	rev.UID = "00000000-0000-0000-0000-000000000001" // set by the API server; the Deployment's owner reference
	dep, err := revresources.MakeDeployment(rev, cfg)
	if err != nil {
		return nil, fmt.Errorf("%v: Knative could not make its Deployment: %w", doc, err)
	}
	var internal apps.Deployment
	err = kubeErrors(document{"apps/v1", "Deployment", dep.Name, nil}, toInternal(dep, &internal), func() field.ErrorList {
		return appsvalidation.ValidateDeployment(&internal, corevalidation.PodValidationOptions{})
	})
	if err != nil {
		return nil, err
	}
	return dep, nil
}

// knativeConfig is Knative Serving's configuration with every ConfigMap at its defaults except
// config-features, which comes from the patch under test.
func knativeConfig(features *apiconfig.Features) (*revconfig.Config, error) {
	defaults, err := apiconfig.NewDefaultsConfigFromMap(map[string]string{})
	if err != nil {
		return nil, err
	}
	autoscaler, err := autoscalerconfig.NewConfigFromMap(map[string]string{})
	if err != nil {
		return nil, err
	}
	// The queue-proxy image is required; any name does for building the Deployment.
	dep, err := deployment.NewConfigFromMap(map[string]string{"queue-sidecar-image": "queue-proxy"})
	if err != nil {
		return nil, err
	}
	logCfg, err := logging.NewConfigFromMap(map[string]string{})
	if err != nil {
		return nil, err
	}
	network, err := netcfg.NewConfigFromMap(map[string]string{})
	if err != nil {
		return nil, err
	}
	return &revconfig.Config{
		Config:        &apiconfig.Config{Defaults: defaults, Features: features, Autoscaler: autoscaler},
		Deployment:    dep,
		Logging:       logCfg,
		Network:       network,
		Observability: observability.DefaultConfig(),
	}, nil
}

// loadFeatures reads a config-features patch as Knative reads its ConfigMap: unknown flag values
// are errors, flags the patch leaves out keep Knative's defaults (mostly disabled).
func loadFeatures(path string) (*apiconfig.Features, error) {
	docs, err := readDocuments(path)
	if err != nil {
		return nil, err
	}
	if len(docs) != 1 || docs[0].kind != "ConfigMap" || docs[0].name != "config-features" {
		return nil, fmt.Errorf("%s: expected one ConfigMap named config-features", path)
	}
	var cm corev1.ConfigMap
	if err := decodeStrict(docs[0], &cm); err != nil {
		return nil, err
	}
	if cm.Namespace != "knative-serving" {
		return nil, fmt.Errorf("%s: config-features lives in namespace knative-serving, not %q", path, cm.Namespace)
	}
	features, err := apiconfig.NewFeaturesConfigFromMap(cm.Data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return features, nil
}

// toInternal applies the API server's defaults to a v1 object and converts it to the internal
// version that Kubernetes' validation functions take.
func toInternal(versioned runtime.Object, internal any) error {
	if meta, ok := versioned.(metav1.Object); ok && meta.GetNamespace() == "" {
		meta.SetNamespace(namespace)
	}
	legacyscheme.Scheme.Default(versioned)
	return legacyscheme.Scheme.Convert(versioned, internal, nil)
}

// decodeAndValidate decodes doc strictly into the versioned Kubernetes type V, converts it to its internal type I and
// runs Kubernetes' API validation on that. It returns the decoded object whenever decoding succeeded (nil
// otherwise), so that the cross-object checks see it even when validation found problems.
func decodeAndValidate[V any, PV interface {
	*V
	runtime.Object
}, I any](doc document, validate func(*I) field.ErrorList) (PV, error) {
	versioned := PV(new(V))
	if err := decodeStrict(doc, versioned); err != nil {
		return nil, err
	}
	var internal I
	return versioned, kubeErrors(doc, toInternal(versioned, &internal), func() field.ErrorList { return validate(&internal) })
}

func kubeErrors(doc document, convertErr error, validate func() field.ErrorList) error {
	if convertErr != nil {
		return fmt.Errorf("%v: %w", doc, convertErr)
	}
	if errs := validate(); len(errs) > 0 {
		return fmt.Errorf("%v: rejected by Kubernetes' validation: %w", doc, errs.ToAggregate())
	}
	return nil
}
