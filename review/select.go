package review

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// MentionsIRSA reports whether a ServiceAccount's annotations hold an eks.amazonaws.com key, or a
// near miss of one (IRSA002 reports which): the ServiceAccounts that diagnose cluster and the
// audit review.
func MentionsIRSA(annotations map[string]string) bool {
	for k := range annotations {
		if strings.Contains(k, "eks.amazonaws.com") || strings.Contains(k, "role-arn") || strings.Contains(k, "role_arn") {
			return true
		}
	}
	return false
}

// Injected reports whether pod-identity-webhook injected IRSA into a container: a pod whose
// ServiceAccount lost its annotation since still uses the role.
func Injected(pod *corev1.Pod) bool {
	for _, c := range pod.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == envRoleARN {
				return true
			}
		}
	}
	return false
}
