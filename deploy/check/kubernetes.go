package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// object is one decoded manifest document.
type object struct {
	File string `json:"file"`
	Kind string `json:"kind"`
	Name string `json:"name"`
	obj  any
}

// typed answers an empty API object for apiVersion/kind; unknown kinds are errors (nothing unchecked slips through).
func typed(apiVersion, kind string) (any, error) {
	switch apiVersion + "/" + kind {
	case "v1/Namespace":
		return &corev1.Namespace{}, nil
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	}
	return nil, fmt.Errorf("apiVersion %q kind %q is not one this check knows", apiVersion, kind)
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

// decodeFile strictly decodes every YAML document of one file: unknown fields, duplicate fields and wrong types fail.
func decodeFile(name string, data []byte) ([]object, []error) {
	var out []object
	var errs []error
	for i, doc := range docSeparator.Split(string(data), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		where := fmt.Sprintf("%s (document %d)", name, i+1)
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal([]byte(doc), &meta); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if meta.APIVersion == "kustomize.config.k8s.io/v1beta1" && meta.Kind == "Kustomization" {
			continue // kustomize's own file: `kubectl kustomize` reads it, and its output is checked here
		}
		target, err := typed(meta.APIVersion, meta.Kind)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
			continue
		}
		if err := yaml.UnmarshalStrict([]byte(doc), target); err != nil {
			errs = append(errs, fmt.Errorf("%s: %s %s: %w", where, meta.APIVersion, meta.Kind, err))
			continue
		}
		om := target.(metav1.ObjectMetaAccessor).GetObjectMeta()
		out = append(out, object{File: name, Kind: meta.Kind, Name: om.GetName(), obj: target})
	}
	return out, errs
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
			b.WriteString("\n")
		}
	}
	return b.String()
}

func checkKubernetes(files []string, out io.Writer) error {
	var objects []object
	var errs []error
	for _, f := range files {
		var data []byte
		var err error
		if f == "-" {
			data, err = io.ReadAll(os.Stdin)
		} else {
			data, err = os.ReadFile(f)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		objs, decodeErrs := decodeFile(f, data)
		objects = append(objects, objs...)
		errs = append(errs, decodeErrs...)
	}
	if len(objects) == 0 && len(errs) == 0 {
		errs = append(errs, errors.New("no Kubernetes object found"))
	}
	if len(errs) == 0 {
		errs = append(errs, fitTogether(objects)...)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	enc := json.NewEncoder(out)
	enc.SetIndent("", "  ")
	return enc.Encode(objects)
}

// fitTogether checks what strict decoding cannot: names, selectors, references between the objects, and what a
// relay pod needs (probes on the relay's endpoints, resources, a non-root user).
func fitTogether(objects []object) []error {
	var errs []error
	bad := func(o object, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s %s: %s", o.File, o.Kind, o.Name, fmt.Sprintf(format, args...)))
	}
	byKind := map[string]map[string]object{}
	for _, o := range objects {
		if byKind[o.Kind] == nil {
			byKind[o.Kind] = map[string]object{}
		}
		if _, dup := byKind[o.Kind][o.Name]; dup {
			bad(o, "defined twice")
		}
		byKind[o.Kind][o.Name] = o
		for _, msg := range validation.IsDNS1123Subdomain(o.Name) {
			bad(o, "name: %s", msg)
		}
		for k, v := range o.obj.(metav1.ObjectMetaAccessor).GetObjectMeta().GetLabels() {
			for _, msg := range append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...) {
				bad(o, "label %s=%s: %s", k, v, msg)
			}
		}
	}
	var pods []struct {
		owner  object
		labels map[string]string
		spec   corev1.PodSpec
	}
	for _, o := range objects {
		switch w := o.obj.(type) {
		case *appsv1.Deployment:
			errs = append(errs, checkWorkload(o, w.Spec.Selector, w.Spec.Template, w.Spec.Replicas)...)
			pods = append(pods, struct {
				owner  object
				labels map[string]string
				spec   corev1.PodSpec
			}{o, w.Spec.Template.Labels, w.Spec.Template.Spec})
		case *appsv1.StatefulSet:
			errs = append(errs, checkWorkload(o, w.Spec.Selector, w.Spec.Template, w.Spec.Replicas)...)
			pods = append(pods, struct {
				owner  object
				labels map[string]string
				spec   corev1.PodSpec
			}{o, w.Spec.Template.Labels, w.Spec.Template.Spec})
		}
	}
	if len(pods) == 0 {
		errs = append(errs, errors.New("no Deployment or StatefulSet"))
	}
	// Every Service and PodDisruptionBudget selects some workload's pods, and every port it targets exists there.
	for _, o := range objects {
		switch s := o.obj.(type) {
		case *corev1.Service:
			matched := false
			for _, p := range pods {
				if len(s.Spec.Selector) > 0 && labels.SelectorFromSet(s.Spec.Selector).Matches(labels.Set(p.labels)) {
					matched = true
					for _, port := range s.Spec.Ports {
						if !podHasPort(p.spec, port.TargetPort.String(), port.TargetPort.IntValue()) {
							bad(o, "port %s targets %s, which no container of %s names or exposes", port.Name, port.TargetPort.String(), p.owner.Name)
						}
					}
				}
			}
			if !matched {
				bad(o, "its selector %v matches no workload's pods", s.Spec.Selector)
			}
		case *policyv1.PodDisruptionBudget:
			sel, err := metav1.LabelSelectorAsSelector(s.Spec.Selector)
			if err != nil || sel.Empty() {
				bad(o, "needs a non-empty selector")
				continue
			}
			matched := false
			for _, p := range pods {
				matched = matched || sel.Matches(labels.Set(p.labels))
			}
			if !matched {
				bad(o, "its selector matches no workload's pods")
			}
		}
	}
	// Every ConfigMap, Secret and ServiceAccount a pod uses is defined, unless it is the Secret the README creates.
	for _, p := range pods {
		if sa := p.spec.ServiceAccountName; sa != "" {
			if _, ok := byKind["ServiceAccount"][sa]; !ok {
				bad(p.owner, "uses ServiceAccount %s, which is not defined", sa)
			}
		}
		for _, v := range p.spec.Volumes {
			if v.ConfigMap != nil {
				if _, ok := byKind["ConfigMap"][v.ConfigMap.Name]; !ok {
					bad(p.owner, "volume %s uses ConfigMap %s, which is not defined", v.Name, v.ConfigMap.Name)
				}
			}
		}
	}
	return errs
}

func podHasPort(spec corev1.PodSpec, name string, number int) bool {
	for _, c := range spec.Containers {
		for _, p := range c.Ports {
			if p.Name == name || (number != 0 && int(p.ContainerPort) == number) {
				return true
			}
		}
	}
	return false
}

func checkWorkload(o object, selector *metav1.LabelSelector, tpl corev1.PodTemplateSpec, replicas *int32) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s %s: %s", o.File, o.Kind, o.Name, fmt.Sprintf(format, args...)))
	}
	sel, err := metav1.LabelSelectorAsSelector(selector)
	if err != nil || sel.Empty() {
		bad("needs a non-empty selector")
	} else if !sel.Matches(labels.Set(tpl.Labels)) {
		bad("its selector does not match its pod template's labels")
	}
	if replicas == nil || *replicas < 2 {
		bad("runs fewer than 2 replicas: a restart stops consumption and the ingest")
	}
	spec := tpl.Spec
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0 {
		bad("the pod must run as a non-root user (securityContext.runAsNonRoot and a runAsUser other than 0)")
	}
	if spec.TerminationGracePeriodSeconds == nil || *spec.TerminationGracePeriodSeconds <= 30 {
		bad("terminationGracePeriodSeconds must exceed the relay's shutdown.timeout (30 s by default)")
	}
	volumes := map[string]bool{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = true
	}
	if len(spec.Containers) == 0 {
		bad("has no container")
	}
	for _, c := range spec.Containers {
		probe := func(kind string, p *corev1.Probe, path string) {
			if p == nil || p.HTTPGet == nil {
				bad("container %s: needs an HTTP %s probe on %s", c.Name, kind, path)
				return
			}
			if p.HTTPGet.Path != path {
				bad("container %s: %s probe on %s, want %s", c.Name, kind, p.HTTPGet.Path, path)
			}
			if !podHasPort(spec, p.HTTPGet.Port.String(), p.HTTPGet.Port.IntValue()) {
				bad("container %s: %s probe port %s is not a container port", c.Name, kind, p.HTTPGet.Port.String())
			}
		}
		probe("liveness", c.LivenessProbe, "/healthz")
		probe("readiness", c.ReadinessProbe, "/readyz")
		if c.StartupProbe != nil {
			probe("startup", c.StartupProbe, "/healthz")
		}
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			if _, ok := c.Resources.Requests[r]; !ok {
				bad("container %s: no %s request", c.Name, r)
			}
			if _, ok := c.Resources.Limits[r]; !ok {
				bad("container %s: no %s limit", c.Name, r)
			}
		}
		if req, lim := c.Resources.Requests[corev1.ResourceMemory], c.Resources.Limits[corev1.ResourceMemory]; req.Cmp(lim) > 0 {
			bad("container %s: memory request above its limit", c.Name)
		}
		sc := c.SecurityContext
		dropsAll := false
		if sc != nil && sc.Capabilities != nil {
			for _, d := range sc.Capabilities.Drop {
				dropsAll = dropsAll || d == "ALL"
			}
		}
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || !dropsAll {
			bad("container %s: needs allowPrivilegeEscalation: false and capabilities.drop [ALL]", c.Name)
		}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				bad("container %s: mounts volume %s, which the pod does not define", c.Name, m.Name)
			}
		}
	}
	return errs
}
