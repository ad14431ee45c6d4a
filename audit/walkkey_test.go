package audit

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/validators"
)

// TestAWalkKeyFollowsTheClockOnlyWhereTheTrustReadsIt: the walk's trust explanation prints the
// request time for a policy with aws:CurrentTime conditions, so such a walk is not reused at
// another time; a policy without them is, whatever the time.
func TestAWalkKeyFollowsTheClockOnlyWhereTheTrustReadsIt(t *testing.T) {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "app", UID: "u1", ResourceVersion: "7"}}
	key := func(role *validators.RoleFacts, at time.Time) walkKey {
		return walkKeyOf(target{sa: sa}, review.Report{
			ServiceAccount: sa,
			Identity:       &validators.Identity{Call: validators.WebIdentityCall{Now: at}},
			AWS:            &validators.AWSFacts{Role: role},
		})
	}
	t1, t2 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	const plain = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"*"},"Action":"sts:AssumeRoleWithWebIdentity"}]}`
	const window = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"*"},"Action":"sts:AssumeRoleWithWebIdentity",` +
		`"Condition":{"DateLessThan":{"aws:CurrentTime":"2027-01-01T00:00:00Z"}}}]}`
	plainRole := &validators.RoleFacts{Trust: validators.ParseTrustDocument(plain)}
	windowRole := &validators.RoleFacts{Trust: validators.ParseTrustDocument(window)}
	if key(plainRole, t1) != key(plainRole, t2) {
		t.Error("a trust without clock conditions: the walk is built again every day")
	}
	if key(windowRole, t1) == key(windowRole, t2) {
		t.Error("a trust with aws:CurrentTime: the walk made at one time is shown at another")
	}
}
