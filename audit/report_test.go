package audit

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/irsa-guard/irsa-guard/validators"
)

func finding(id validators.CheckID, kind, name string) validators.Finding {
	return validators.NewFinding(id, validators.Object{Kind: kind, Namespace: "shop", Name: name}, "message of "+string(id))
}

func TestThePolicyReportHasAResultPerSubjectAndCheck(t *testing.T) {
	since := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	broken := &Subject{Kind: "ServiceAccount", Namespace: "shop", Name: "cart", UID: "u1",
		Findings: []validators.Finding{finding(validators.CheckTrustConditions, "ServiceAccount", "cart"),
			finding(validators.CheckTrustTooBroad, "ServiceAccount", "cart"), finding(validators.CheckCouldNotVerify, "ServiceAccount", "cart"),
			finding(validators.CheckPodHostNetwork, "ServiceAccount", "cart")}}
	carrySince(nil, broken, since)
	clean := &Subject{Kind: "Pod", Namespace: "shop", Name: "api-1", Findings: []validators.Finding{}}
	carrySince(nil, clean, since)

	u := report("shop", []*Subject{clean, broken})
	if u.GetName() != ReportName || u.GetNamespace() != "shop" || u.GetLabels()[labelManaged] != "irsa-guard" || u.GetAPIVersion() != "wgpolicyk8s.io/v1alpha2" {
		t.Fatalf("report identity: %s/%s %v %s", u.GetNamespace(), u.GetName(), u.GetLabels(), u.GetAPIVersion())
	}
	results := u.Object["results"].([]any)
	var got []string
	for _, r := range results {
		m := r.(map[string]any)
		ref := m["resources"].([]any)[0].(map[string]any)
		got = append(got, m["rule"].(string)+"="+m["result"].(string)+"/"+m["severity"].(string)+" "+ref["kind"].(string)+"/"+ref["name"].(string))
	}
	want := []string{"IRSA032=fail/high ServiceAccount/cart", "IRSA090=error/info ServiceAccount/cart",
		"IRSA034=warn/medium ServiceAccount/cart", "all-checks=pass/info Pod/api-1", "IRSA043=pass/info ServiceAccount/cart"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("results, worst first:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	first := results[0].(map[string]any)
	if first["source"] != "irsa-guard" || first["policy"] != "irsa-guard" || first["timestamp"].(map[string]any)["seconds"] != since.Unix() {
		t.Errorf("result fields: %v", first)
	}
	if p := first["properties"].(map[string]any); p["predictedError"] == "" || p["fix"] == "" || p["object"] != "ServiceAccount shop/cart" {
		t.Errorf("properties: %v", p)
	}
	if s := u.Object["summary"].(map[string]any); s["fail"] != int64(1) || s["error"] != int64(1) || s["warn"] != int64(1) || s["pass"] != int64(2) || s["skip"] != int64(0) {
		t.Errorf("summary: %v", s)
	}
	if digestOf(u) != digestOf(report("shop", []*Subject{broken, clean})) {
		t.Error("the same findings in another order must give the same report, or every pass would rewrite it")
	}
}

func TestAReportKeepsItsWorstResultsWithinTheLimit(t *testing.T) {
	var subjects []*Subject
	for i := range maxResults + 5 {
		s := &Subject{Kind: "Pod", Namespace: "shop", Name: "ok-" + string(rune('a'+i%26)) + time.Duration(i).String(), Findings: []validators.Finding{}}
		carrySince(nil, s, time.Now())
		subjects = append(subjects, s)
	}
	bad := &Subject{Kind: "Pod", Namespace: "shop", Name: "zz-broken", Findings: []validators.Finding{finding(validators.CheckPodNotInjected, "Pod", "zz-broken")}}
	carrySince(nil, bad, time.Now())
	u := report("shop", append(subjects, bad))
	results := u.Object["results"].([]any)
	if len(results) != maxResults || results[0].(map[string]any)["rule"] != "IRSA040" {
		t.Errorf("%d results, first %v; want %d with the failure first", len(results), results[0], maxResults)
	}
	if u.GetAnnotations()["irsa-guard.io/results-omitted"] != "6" || u.Object["summary"].(map[string]any)["pass"] != int64(maxResults+5) {
		t.Errorf("omitted %q, summary %v: the summary must still count every result", u.GetAnnotations(), u.Object["summary"])
	}
}

func TestNamespaceLabelsAreBounded(t *testing.T) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	m.namespaces = 2
	subjects := map[string]*Subject{}
	add := func(ns, name string, r Result, n int) {
		s := &Subject{Kind: "Pod", Namespace: ns, Name: name, Result: r}
		for range n {
			s.Findings = append(s.Findings, finding(validators.CheckPodNotInjected, "Pod", name))
		}
		subjects[s.Key()] = s
	}
	add("a-quiet", "p", ResultPass, 0)
	add("b-failing", "p", ResultFail, 1)
	add("c-noisy", "p", ResultWarn, 3)
	add("d-failing", "p", ResultFail, 1)
	m.observe(Pass{Outcome: OutcomeComplete}, subjects)
	got := m.namespaceLabels(subjects)
	if got["b-failing"] != "b-failing" || got["d-failing"] != "d-failing" || got["c-noisy"] != OtherNamespaces || got["a-quiet"] != OtherNamespaces {
		t.Errorf("labels %v: want the two namespaces with failing subjects named, the rest %s", got, OtherNamespaces)
	}
	if v := testutil.ToFloat64(m.subjects.WithLabelValues("Pod", "pass", OtherNamespaces)); v != 1 {
		t.Errorf("subjects{resource_namespace=_other,result=pass} = %v", v)
	}
}

func TestTheAuditEndpoint(t *testing.T) {
	w := newWorld(t, "api", nil)
	w.cluster.addServiceAccount("shop", "app", appRole)
	w.cluster.namespaces["pay"] = nil
	w.cluster.addServiceAccount("pay", "ok", "arn:aws:iam::111122223333:role/not-there")
	get := func(url string) (int, Snapshot) {
		rec := httptest.NewRecorder()
		w.audit.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil))
		var s Snapshot
		if err := json.Unmarshal(rec.Body.Bytes(), &s); err != nil {
			t.Fatalf("%s: %v\n%s", url, err, rec.Body)
		}
		return rec.Code, s
	}
	if code, s := get("/audit"); code != 200 || s.LastPass != nil || !strings.Contains(s.Message, "first audit pass") {
		t.Errorf("before the first pass: %d %+v", code, s)
	}
	w.run(t)
	code, s := get("/audit?namespace=shop")
	if code != 200 || len(s.Subjects) != 1 || s.Subjects[0].Name != "app" || s.Subjects[0].Findings[0].Check != validators.CheckTrustConditions {
		t.Fatalf("leader, namespace shop: %d %+v", code, s)
	}
	if d := s.Subjects[0].Diagnosis; d.Subject != "ServiceAccount shop/app" || len(d.Steps) == 0 {
		t.Errorf("the subject's diagnosis: %+v", d)
	}
	if _, s := get("/audit"); len(s.Subjects) != 2 || s.LastPass.Subjects != 2 {
		t.Errorf("all namespaces: %+v", s)
	}
	w.audit.setHolder("irsa-guard-7d9f_1234", "irsa-guard-abc_5678")
	w.audit.setLeader(false)
	if code, s := get("/audit"); code != http.StatusServiceUnavailable || s.Leader || len(s.Subjects) != 0 || !strings.Contains(s.Message, "irsa-guard-7d9f_1234") {
		t.Errorf("another replica: %d %+v, want 503 naming the leader", code, s)
	}
	if n := testutil.CollectAndCount(w.audit.o.Metrics.findings); n != 0 {
		t.Errorf("a replica that stopped leading still exports %d finding series", n)
	}
}

func TestAnEventNoteFitsTheAPIsLimit(t *testing.T) {
	long := strings.Repeat("é", 800) // two bytes each
	if n := eventNote(long); len(n) > maxNoteBytes || !strings.HasSuffix(n, "...") {
		t.Errorf("note of %d bytes", len(n))
	}
	if eventNote("IRSA032: short") != "IRSA032: short" {
		t.Error("a short note must be kept as is")
	}
}
