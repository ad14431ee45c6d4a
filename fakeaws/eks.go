package fakeaws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/irsa-guard/irsa-guard/awsstate"
)

// serveEKS answers eks:DescribeCluster (GET /clusters/{name}) in EKS's REST-JSON protocol:
// errors carry their type in the x-amzn-ErrorType header and a JSON {"message": ...} body.
func (s *Server) serveEKS(w http.ResponseWriter, r *http.Request) {
	const api = "DescribeCluster"
	reqID := s.requestID()
	fail := func(status int, typ, msg string) {
		body, _ := json.Marshal(map[string]string{"message": msg})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("x-amzn-ErrorType", typ)
		w.Header().Set("x-amzn-RequestId", reqID)
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
	raw := strings.TrimPrefix(r.URL.EscapedPath(), "/clusters/")
	name, err := url.PathUnescape(raw)
	if r.Method != http.MethodGet || err != nil || name == "" || strings.Contains(name, "/") {
		fail(http.StatusNotFound, "UnknownOperationException", "fake AWS serves only GET /clusters/{name} (DescribeCluster)")
		return
	}
	s.countCall(api)
	st := s.snapshot()
	akid, region, _ := accessKeyID(r)
	if akid == "" {
		fail(http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
		return
	}
	caller, ok := s.whoami(st, akid)
	if !ok {
		fail(http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	malformed := func() {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"cluster":{"name":"` + name)) //nolint:gosec // deliberately broken JSON for fault injection, served to the SDK, never to a browser
	}
	failCode := func(code string) {
		e := queryErrorFor(code, "eks:DescribeCluster", caller.arn)
		if code == "Throttling" {
			e.status = http.StatusTooManyRequests // REST-JSON services throttle with 429
		}
		fail(e.status, eksErrorType(code), e.message)
	}
	if s.injectFault(w, r, api, failCode, malformed) {
		return
	}
	for _, c := range st.Clusters {
		if c.Name != name || c.Account != caller.account || (region != "" && c.Region != region) {
			continue
		}
		out := map[string]any{"cluster": map[string]any{
			"name":            c.Name,
			"arn":             fmt.Sprintf("arn:%s:eks:%s:%s:cluster/%s", st.Partition, c.Region, c.Account, c.Name),
			"createdAt":       float64(awsstate.DefaultCreateDate().Unix()),
			"version":         "1.33",
			"status":          "ACTIVE",
			"endpoint":        "https://" + strings.ToUpper(roleID(c.Name)[4:]) + ".gr7." + c.Region + ".eks.amazonaws.com",
			"platformVersion": "eks.1",
			"identity":        map[string]any{"oidc": map[string]any{"issuer": c.Issuer}},
		}}
		body, _ := json.Marshal(out)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.Header().Set("x-amzn-RequestId", reqID)
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(body)
		return
	}
	fail(http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf("No cluster found for name: %s.", name))
}

// eksErrorType maps a fault's Query-style code to EKS's exception names.
func eksErrorType(code string) string {
	switch code {
	case "Throttling":
		return "ThrottlingException"
	case "AccessDenied":
		return "AccessDeniedException"
	case "InvalidInput":
		return "InvalidParameterException"
	case "NoSuchEntity":
		return "ResourceNotFoundException"
	case "ServiceUnavailable":
		return "ServiceUnavailableException"
	default:
		return "ServerException"
	}
}
