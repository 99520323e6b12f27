package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"
)

// compareFiles reports whether the Service in knPath (written by `kn service create --target`)
// deploys the same thing as the Service rendered by kustomize in renderedPath. "The same" is what
// the pods get: ConfigMap references are replaced by their values (kn passes literal values),
// volumes are named by what they mount (kn names them itself), lists are sorted, and kn's own
// bookkeeping annotations (client.knative.dev/*) are ignored.
func compareFiles(renderedPath, knPath string) error {
	rendered, err := loadService(renderedPath)
	if err != nil {
		return err
	}
	kn, err := loadService(knPath)
	if err != nil {
		return err
	}
	a, err := normalize(rendered)
	if err != nil {
		return fmt.Errorf("%s: %w", renderedPath, err)
	}
	b, err := normalize(kn)
	if err != nil {
		return fmt.Errorf("%s: %w", knPath, err)
	}
	// Quantities compare by value: "2" and "2000m" are the same CPU.
	sameQuantity := cmp.Comparer(func(x, y resource.Quantity) bool { return x.Cmp(y) == 0 })
	if diff := cmp.Diff(a, b, cmpopts.EquateEmpty(), sameQuantity); diff != "" {
		return fmt.Errorf("the Services differ (- %s, + %s):\n%s", renderedPath, knPath, diff)
	}
	fmt.Printf("ok   Service/%s from kn is equivalent to the rendered one\n", a.Name)
	return nil
}

type loaded struct {
	svc        *servingv1.Service
	configMaps map[string]*corev1.ConfigMap
}

func loadService(path string) (loaded, error) {
	docs, err := readDocuments(path)
	if err != nil {
		return loaded{}, err
	}
	out := loaded{configMaps: map[string]*corev1.ConfigMap{}}
	for _, doc := range docs {
		switch doc.kind {
		case "ConfigMap":
			var cm corev1.ConfigMap
			if err := decodeStrict(doc, &cm); err != nil {
				return loaded{}, err
			}
			out.configMaps[cm.Name] = &cm
		case "Service":
			if out.svc != nil {
				return loaded{}, fmt.Errorf("%s: more than one Service", path)
			}
			out.svc = &servingv1.Service{}
			if err := decodeStrict(doc, out.svc); err != nil {
				return loaded{}, err
			}
		}
	}
	if out.svc == nil {
		return loaded{}, fmt.Errorf("%s: no Service", path)
	}
	return out, nil
}

// normalized is what two equivalent Services agree on.
type normalized struct {
	Name                string
	Labels              map[string]string
	TemplateLabels      map[string]string
	TemplateAnnotations map[string]string
	Spec                servingv1.RevisionSpec
}

func normalize(in loaded) (normalized, error) {
	svc := in.svc.DeepCopy()
	spec := svc.Spec.Template.Spec

	// Volumes get a name derived from their source.
	rename := map[string]string{}
	for i, v := range spec.Volumes {
		var name string
		switch {
		case v.PersistentVolumeClaim != nil:
			name = "pvc-" + v.PersistentVolumeClaim.ClaimName
		case v.EmptyDir != nil:
			name = "emptydir-" + v.Name
		case v.ConfigMap != nil:
			name = "cm-" + v.ConfigMap.Name
		case v.Secret != nil:
			name = "secret-" + v.Secret.SecretName
		default:
			return normalized{}, fmt.Errorf("volume %q: unsupported source", v.Name)
		}
		rename[v.Name] = name
		spec.Volumes[i].Name = name
	}
	sort.Slice(spec.Volumes, func(i, j int) bool { return spec.Volumes[i].Name < spec.Volumes[j].Name })

	fix := func(cs []corev1.Container) error {
		for i := range cs {
			c := &cs[i]
			env, err := resolveEnv(*c, in.configMaps)
			if err != nil {
				return err
			}
			c.EnvFrom = nil
			c.Env = c.Env[:0]
			for name, value := range env {
				c.Env = append(c.Env, corev1.EnvVar{Name: name, Value: value})
			}
			sort.Slice(c.Env, func(a, b int) bool { return c.Env[a].Name < c.Env[b].Name })
			for j := range c.VolumeMounts {
				c.VolumeMounts[j].Name = rename[c.VolumeMounts[j].Name]
			}
			sort.Slice(c.VolumeMounts, func(a, b int) bool { return c.VolumeMounts[a].MountPath < c.VolumeMounts[b].MountPath })
		}
		return nil
	}
	if err := fix(spec.InitContainers); err != nil {
		return normalized{}, err
	}
	if err := fix(spec.Containers); err != nil {
		return normalized{}, err
	}

	annotations := map[string]string{}
	for k, v := range svc.Spec.Template.Annotations {
		if !strings.HasPrefix(k, "client.knative.dev/") {
			annotations[k] = v
		}
	}
	return normalized{
		Name:                svc.Name,
		Labels:              svc.Labels,
		TemplateLabels:      svc.Spec.Template.Labels,
		TemplateAnnotations: annotations,
		Spec:                spec,
	}, nil
}
