package audit

import (
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/irsa-guard/irsa-guard/validators"
)

// objectIndex is the pass's objects by subject key, for their Events.
type objectIndex map[string]runtime.Object

// The Event action of the audit's Events (events.k8s.io/v1 Event.action).
const eventAction = "Audit"

// resolvedSuffix ends the reason of an Event saying a finding cleared ("IRSA032Resolved"), so that
// `kubectl get events` tells the two apart and the recorder's per-reason rate limit never drops a
// clear because its finding appeared minutes before.
const resolvedSuffix = "Resolved"

// event records one change on the object the finding is about: the ServiceAccount for its own
// findings, the pod for a pod's. A pod's findings about its ServiceAccount are recorded once, on
// the ServiceAccount. Info findings are notes: they get no Event.
func (a *Auditor) event(c Change, objects objectIndex) {
	f := c.Finding
	if a.o.Events == nil || f.Severity == validators.SeverityInfo || f.Object.Kind != c.Subject.Kind {
		return
	}
	obj := objects[c.Subject.Key()]
	if obj == nil {
		return
	}
	if c.Cleared {
		a.o.Events.Eventf(obj, nil, corev1.EventTypeNormal, string(f.Check)+resolvedSuffix, eventAction, "%s",
			eventNote(string(f.Check)+" no longer found by the audit: "+f.Message))
		return
	}
	note := f.String()
	if f.PredictedError != "" {
		note += " (pods would get: " + f.PredictedError + ")"
	}
	a.o.Events.Eventf(obj, nil, corev1.EventTypeWarning, string(f.Check), eventAction, "%s", eventNote(note+" Fix: "+f.Fix))
}

// maxNoteBytes is the API server's limit on an Event's note (events.k8s.io/v1: 1 kB).
const maxNoteBytes = 1024

// eventNote is s on one line, cut at a rune boundary to fit an Event's note.
func eventNote(s string) string {
	s = validators.SanitizeMessage(s, maxNoteBytes)
	if len(s) <= maxNoteBytes {
		return s
	}
	cut := maxNoteBytes - len("...")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
