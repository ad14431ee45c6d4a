package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/irsa-guard/irsa-guard/audit"
	"github.com/irsa-guard/irsa-guard/diagnose"
)

// auditOptions are diagnose cluster's flags for reading the audit's state instead of
// recomputing it.
type auditOptions struct {
	url        string
	ca         string
	serverName string
}

// maxAuditBytes bounds the audit's answer: a diagnosis is a few kilobytes per subject.
const maxAuditBytes = 256 << 20

// fromAudit reads the running audit's state (GET /audit on serve's metrics port) as the
// kubeconfig's user: the endpoint lets in bearer tokens the API server authenticates and
// authorizes for get on /audit (the chart's <release>-metrics-reader ClusterRole).
func (o *diagnoseOptions) fromAudit(ctx context.Context, a auditOptions) ([]diagnose.Result, audit.Snapshot, error) {
	var snap audit.Snapshot
	u, err := url.Parse(a.url)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, snap, usageErrorf("--from-audit %q: give the audit endpoint's https URL, e.g. https://localhost:8080/audit after kubectl port-forward (docs/audit.md)", a.url)
	}
	if ns := o.overrides.Context.Namespace; ns != "" {
		q := u.Query()
		q.Set("namespace", ns)
		u.RawQuery = q.Encode()
	}
	client, err := o.auditClient(a)
	if err != nil {
		return nil, snap, err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, snap, usageErrorf("--from-audit: %v", err)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, snap, &exitError{code: 2, err: fmt.Errorf("read the audit at %s: %w", u.Redacted(), err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAuditBytes))
	if err != nil {
		return nil, snap, &exitError{code: 2, err: fmt.Errorf("read the audit at %s: %w", u.Redacted(), err)}
	}
	switch resp.StatusCode {
	case http.StatusOK, http.StatusServiceUnavailable:
	case http.StatusUnauthorized:
		return nil, snap, &exitError{code: 2, err: fmt.Errorf("the audit at %s did not accept your credentials (401): it takes a bearer token the API server "+
			"authenticates; a kubeconfig user with a client certificate has none, so pass --token (e.g. $(kubectl create token NAME))", u.Redacted())}
	case http.StatusForbidden:
		return nil, snap, &exitError{code: 2, err: fmt.Errorf("the audit at %s refused your user (403): it needs get on the non-resource URL /audit, "+
			"which the chart's <release>-metrics-reader ClusterRole grants", u.Redacted())}
	default:
		return nil, snap, &exitError{code: 2, err: fmt.Errorf("the audit at %s answered %s", u.Redacted(), resp.Status)}
	}
	if err := json.Unmarshal(body, &snap); err != nil {
		return nil, snap, &exitError{code: 2, err: fmt.Errorf("the answer of %s is not the audit's state: %w", u.Redacted(), err)}
	}
	switch {
	case !snap.Leader:
		return nil, snap, &exitError{code: 2, err: fmt.Errorf("%s: %s; port-forward to the leader's pod (the Lease's holder, docs/audit.md)", u.Redacted(), snap.Message)}
	case snap.LastPass == nil:
		return nil, snap, &exitError{code: 2, err: fmt.Errorf("%s: %s; try again shortly, or run without --from-audit", u.Redacted(), snap.Message)}
	}
	return auditResults(snap), snap, nil
}

// auditClient is an HTTPS client that verifies the endpoint against --audit-ca (else the system
// roots) and authenticates as the kubeconfig's user (its token, exec plugin or --token).
func (o *diagnoseOptions) auditClient(a auditOptions) (*http.Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = o.kubeconfig
	restCfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &o.overrides).ClientConfig()
	if err != nil {
		return nil, usageErrorf("read the kubeconfig for the audit's credentials: %v", err)
	}
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: a.serverName}
	if a.ca != "" {
		pem, err := os.ReadFile(a.ca)
		if err != nil {
			return nil, usageErrorf("--audit-ca: %v", err)
		}
		tlsCfg.RootCAs = x509.NewCertPool()
		if !tlsCfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, usageErrorf("--audit-ca %s holds no PEM certificate", a.ca)
		}
	}
	// Only the user's credentials are taken from the kubeconfig: the endpoint is not the API
	// server, so neither is its CA or its client certificate.
	rt, err := rest.HTTPWrappersForConfig(restCfg, &http.Transport{TLSClientConfig: tlsCfg, Proxy: http.ProxyFromEnvironment})
	if err != nil {
		return nil, usageErrorf("the kubeconfig's credentials: %v", err)
	}
	return &http.Client{Transport: rt}, nil
}

// auditResults turns the audit's subjects into diagnose cluster's results: the diagnosis the
// audit made for each, pods of one controller once (through their worst pod), and a subject the
// last pass could not re-verify marked with when it last was.
func auditResults(s audit.Snapshot) []diagnose.Result {
	var out []diagnose.Result
	byOwner := map[string]int{} // owner -> index in out
	more := map[int]int{}
	for _, sub := range s.Subjects { // worst first: an owner's first pod is its worst
		if sub.Owner != "" {
			if at, ok := byOwner[sub.Owner]; ok {
				more[at]++
				continue
			}
			byOwner[sub.Owner] = len(out)
		}
		r := sub.Diagnosis
		if sub.Inconclusive {
			r.Subject += " (AWS not re-verified since " + sub.CheckedAt.UTC().Format(time.RFC3339) + ")"
		}
		out = append(out, r)
	}
	for owner, at := range byOwner {
		if n := more[at]; n > 0 {
			out[at].Subject += fmt.Sprintf(" (and %d more of %s)", n, owner)
		}
	}
	return out
}

// auditHeader says which pass the results come from.
func auditHeader(w io.Writer, s audit.Snapshot) {
	p := s.LastPass
	fmt.Fprintf(w, "From the audit of %s: pass finished %s (%s), %d subjects", s.Identity, p.Finished.UTC().Format(time.RFC3339), p.Outcome, p.Subjects)
	if p.Inconclusive > 0 {
		fmt.Fprintf(w, ", %d not re-verified against AWS", p.Inconclusive)
	}
	fmt.Fprintln(w)
}
