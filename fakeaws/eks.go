package fakeaws

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"
)

// eksCall is one EKS request in the REST-JSON protocol: errors carry their type in the
// x-amzn-ErrorType header and a JSON {"message": ...} body.
type eksCall struct {
	w      http.ResponseWriter
	r      *http.Request
	api    string
	reqID  string
	st     *awsstate.State
	caller identity
	region string   // the SigV4 credential scope's region; "" when unsigned
	labels []string // the path's labels: cluster name, then association id
}

// eksRoutes maps "METHOD /clusters/{name}/..." shapes (with {} for a label) to the API and its
// handler, as in the EKS API model (botocore data/eks/2017-11-01/service-2.json).
func (s *Server) eksRoutes() map[string]struct {
	api    string
	handle func(*eksCall)
} {
	type route = struct {
		api    string
		handle func(*eksCall)
	}
	return map[string]route{
		"GET /clusters/{}":                              {"DescribeCluster", s.describeCluster},
		"GET /clusters/{}/pod-identity-associations":    {"ListPodIdentityAssociations", s.listPodIdentityAssociations},
		"GET /clusters/{}/pod-identity-associations/{}": {"DescribePodIdentityAssociation", s.describePodIdentityAssociation},
	}
}

// serveEKS routes an EKS request by method and path, then authenticates it and applies faults.
func (s *Server) serveEKS(w http.ResponseWriter, r *http.Request) {
	c := &eksCall{w: w, r: r, reqID: s.requestID()}
	shape, labels, ok := eksShape(r.Method, r.URL.EscapedPath())
	route, known := s.eksRoutes()[shape]
	if !ok || !known {
		c.fail(http.StatusNotFound, "UnknownOperationException",
			"fake AWS serves only DescribeCluster, ListPodIdentityAssociations and DescribePodIdentityAssociation of EKS")
		return
	}
	c.api, c.labels = route.api, labels
	s.countCall(c.api)
	c.st = s.snapshot()
	akid, region, _ := accessKeyID(r)
	if akid == "" {
		c.fail(http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
		return
	}
	caller, ok := s.whoami(c.st, akid)
	if !ok {
		c.fail(http.StatusForbidden, "UnrecognizedClientException", "The security token included in the request is invalid.")
		return
	}
	c.caller, c.region = caller, region
	failCode := func(code string) {
		e := queryErrorFor(code, "eks:"+c.api, caller.arn)
		if code == "Throttling" {
			e.status = http.StatusTooManyRequests // REST-JSON services throttle with 429
		}
		c.fail(e.status, eksErrorType(code), e.message)
	}
	if s.injectFault(w, r, c.api, failCode, c.malformed) {
		return
	}
	if msg := checkClusterName(labels[0]); msg != "" {
		c.fail(http.StatusBadRequest, "InvalidParameterException", msg)
		return
	}
	route.handle(c)
}

// eksShape turns "/clusters/demo/pod-identity-associations/a-1" into the route shape
// "GET /clusters/{}/pod-identity-associations/{}" and the unescaped labels ["demo", "a-1"].
func eksShape(method, escapedPath string) (shape string, labels []string, ok bool) {
	segs := strings.Split(strings.TrimPrefix(escapedPath, "/"), "/")
	if len(segs) < 2 || segs[0] != "clusters" {
		return "", nil, false
	}
	parts := []string{"clusters"}
	for i, seg := range segs[1:] {
		if i%2 == 1 { // a literal segment between labels
			parts = append(parts, seg)
			continue
		}
		label, err := url.PathUnescape(seg)
		if err != nil || label == "" {
			return "", nil, false
		}
		labels = append(labels, label)
		parts = append(parts, "{}")
	}
	return method + " /" + strings.Join(parts, "/"), labels, true
}

// clusterNameRE is the rule EKS names in its InvalidParameterException for a bad cluster name.
var clusterNameRE = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9-_]*$`)

// checkClusterName returns EKS's message for a cluster name it refuses, or "". The wording
// (including the missing space before "In other words") is EKS's DescribeCluster answer as
// quoted in surajincloud/kubectl-eks#72 and radius-project/samples#1702.
func checkClusterName(name string) string {
	switch {
	case len(name) > 100:
		return "The parameter name should not be greater than 100 characters."
	case !clusterNameRE.MatchString(name):
		return `The parameter name contains invalid characters. It should conform to the regular expression "^[0-9A-Za-z][A-Za-z0-9-_]*"` +
			"In other words, it should start with a number or letter, and can contain numbers, letters, dashes, and underscores."
	}
	return ""
}

// cluster finds the named cluster the way EKS scopes it: the caller's account, and the region
// the request was signed for.
func (c *eksCall) cluster() *awsstate.Cluster {
	for i := range c.st.Clusters {
		cl := &c.st.Clusters[i]
		if cl.Name == c.labels[0] && cl.Account == c.caller.account && (c.region == "" || cl.Region == c.region) {
			return cl
		}
	}
	return nil
}

func (c *eksCall) clusterNotFound() {
	c.fail(http.StatusNotFound, "ResourceNotFoundException", fmt.Sprintf("No cluster found for name: %s.", c.labels[0]))
}

func (s *Server) describeCluster(c *eksCall) {
	cl := c.cluster()
	if cl == nil {
		c.clusterNotFound()
		return
	}
	c.respond(map[string]any{"cluster": map[string]any{
		"name":            cl.Name,
		"arn":             fmt.Sprintf("arn:%s:eks:%s:%s:cluster/%s", c.st.Partition, cl.Region, cl.Account, cl.Name),
		"createdAt":       epochSeconds(awsstate.DefaultCreateDate()),
		"version":         "1.33",
		"status":          "ACTIVE",
		"endpoint":        "https://" + strings.ToUpper(roleID(cl.Name)[4:]) + ".gr7." + cl.Region + ".eks.amazonaws.com",
		"platformVersion": "eks.1",
		"identity":        map[string]any{"oidc": map[string]any{"issuer": cl.Issuer}},
	}})
}

// epochSeconds is how REST-JSON services send timestamps: seconds since the epoch as a number.
func epochSeconds(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (c *eksCall) respond(v any) {
	body, err := json.Marshal(v)
	if err != nil {
		c.fail(http.StatusInternalServerError, "ServerException", "fake AWS could not encode its answer: "+err.Error())
		return
	}
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("x-amzn-RequestId", c.reqID)
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write(body)
}

func (c *eksCall) fail(status int, typ, msg string) {
	body, _ := json.Marshal(map[string]string{"message": msg})
	h := c.w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("x-amzn-ErrorType", typ)
	h.Set("x-amzn-RequestId", c.reqID)
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}

// malformed answers 200 with truncated JSON, as a broken proxy might.
func (c *eksCall) malformed() {
	c.w.Header().Set("Content-Type", "application/json")
	c.w.WriteHeader(http.StatusOK)
	_, _ = c.w.Write([]byte(`{"cluster":{"name":"`))
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
