package testenv

import (
	"fmt"

	"github.com/irsa-guard/irsa-guard/manifest"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// DecodeWebhookConfigurations picks the admissionregistration.k8s.io/v1 webhook configurations out of a
// multi-document YAML stream such as `helm template` output, ignoring every other kind, so a test can
// pass the chart's own configurations to InstallWebhooks.
func DecodeWebhookConfigurations(manifests []byte) ([]*admissionregistrationv1.MutatingWebhookConfiguration, []*admissionregistrationv1.ValidatingWebhookConfiguration, error) {
	var (
		mutating   []*admissionregistrationv1.MutatingWebhookConfiguration
		validating []*admissionregistrationv1.ValidatingWebhookConfiguration
	)
	for i, d := range manifest.SplitDocuments(manifests) {
		doc, raw := i+1, d.Body
		var meta struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := sigsyaml.Unmarshal(raw, &meta); err != nil {
			return nil, nil, fmt.Errorf("YAML document %d: %w", doc, err)
		}
		if meta.APIVersion != admissionregistrationv1.SchemeGroupVersion.String() {
			continue
		}
		switch meta.Kind {
		case "MutatingWebhookConfiguration":
			obj := &admissionregistrationv1.MutatingWebhookConfiguration{}
			if err := sigsyaml.UnmarshalStrict(raw, obj); err != nil {
				return nil, nil, fmt.Errorf("YAML document %d: MutatingWebhookConfiguration: %w", doc, err)
			}
			mutating = append(mutating, obj)
		case "ValidatingWebhookConfiguration":
			obj := &admissionregistrationv1.ValidatingWebhookConfiguration{}
			if err := sigsyaml.UnmarshalStrict(raw, obj); err != nil {
				return nil, nil, fmt.Errorf("YAML document %d: ValidatingWebhookConfiguration: %w", doc, err)
			}
			validating = append(validating, obj)
		}
	}
	return mutating, validating, nil
}
