package testenv

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/irsa-guard/irsa-guard/manifest"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// Chart is the Helm chart rendered for a test, split the way an envtest control plane needs it: there
// is no kubelet to run the Deployment, so the test runs its container (Args) itself, with the Secret's
// certificate and the ConfigMap's configuration written to disk; Objects are applied as they are; the
// webhook configurations are registered only once the server answers, because they fail closed.
type Chart struct {
	// Objects is every rendered object except the Deployment and the webhook configurations, as YAML.
	Objects []byte
	// Webhooks holds the ValidatingWebhookConfiguration and MutatingWebhookConfiguration, as YAML.
	Webhooks []byte
	// Args are the irsa-guard container's arguments, mount paths unchanged (/etc/irsa-guard/...).
	Args []string
	// Files maps each mounted file's path in the container to its content: tls.crt, tls.key and
	// ca.crt under the TLS mount, config.yaml under the config mount.
	Files map[string][]byte
}

// RenderChart renders charts/irsa-guard under root with the value files given (HelmTemplate) and
// splits the render the way an envtest control plane needs it.
func RenderChart(ctx context.Context, root, namespace string, valueFiles ...string) (*Chart, error) {
	manifests, err := HelmTemplate(ctx, root, namespace, valueFiles...)
	if err != nil {
		return nil, err
	}
	return SplitChart(manifests)
}

// SplitChart sorts `helm template` output into a Chart.
func SplitChart(manifests []byte) (*Chart, error) {
	c := &Chart{Files: map[string][]byte{}}
	var deployment *appsv1.Deployment
	secrets := map[string]*corev1.Secret{}
	configMaps := map[string]*corev1.ConfigMap{}
	for i, d := range manifest.SplitDocuments(manifests) {
		doc, raw := i+1, d.Body
		var meta struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := sigsyaml.Unmarshal(raw, &meta); err != nil {
			return nil, fmt.Errorf("rendered document %d: %w", doc, err)
		}
		var into any
		switch meta.Kind {
		case "":
			continue // a template that rendered nothing
		case "Deployment":
			deployment = &appsv1.Deployment{}
			into = deployment
		case "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration":
			c.Webhooks = append(append(c.Webhooks, "---\n"...), raw...)
			continue
		case "Secret":
			s := &corev1.Secret{}
			secrets[meta.Metadata.Name], into = s, s
		case "ConfigMap":
			m := &corev1.ConfigMap{}
			configMaps[meta.Metadata.Name], into = m, m
		}
		if into != nil {
			if err := sigsyaml.UnmarshalStrict(raw, into); err != nil {
				return nil, fmt.Errorf("rendered %s %s: %w", meta.Kind, meta.Metadata.Name, err)
			}
		}
		if meta.Kind != "Deployment" {
			c.Objects = append(append(c.Objects, "---\n"...), raw...)
		}
	}
	if deployment == nil || len(deployment.Spec.Template.Spec.Containers) == 0 {
		return nil, errors.New("the chart rendered no Deployment with a container")
	}
	pod := deployment.Spec.Template.Spec
	c.Args = pod.Containers[0].Args
	volumes := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v
	}
	for _, m := range pod.Containers[0].VolumeMounts {
		v := volumes[m.Name]
		switch {
		case v.Secret != nil:
			s, ok := secrets[v.Secret.SecretName]
			if !ok {
				return nil, fmt.Errorf("the Deployment mounts Secret %s, which the chart did not render (use its generated TLS)", v.Secret.SecretName)
			}
			for k, data := range s.Data {
				c.Files[filepath.Join(m.MountPath, k)] = data
			}
		case v.ConfigMap != nil:
			cm, ok := configMaps[v.ConfigMap.Name]
			if !ok {
				return nil, fmt.Errorf("the Deployment mounts ConfigMap %s, which the chart did not render", v.ConfigMap.Name)
			}
			for k, data := range cm.Data {
				c.Files[filepath.Join(m.MountPath, k)] = []byte(data)
			}
		}
	}
	return c, nil
}
