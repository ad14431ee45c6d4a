package fakeaws

import (
	"encoding/xml"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/irsa-guard/irsa-guard/awsstate"
)

// XML namespaces of the Query API responses, as AWS sends them.
const (
	iamXMLNS = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsXMLNS = "https://sts.amazonaws.com/doc/2011-06-15/"
)

// queryCall is one decoded Query API request.
type queryCall struct {
	w      http.ResponseWriter
	r      *http.Request
	action string
	xmlns  string
	params func(string) string
	st     *awsstate.State
	caller identity
	reqID  string
}

type queryHandler func(*queryCall)

// queryAction describes one served Query API action.
type queryAction struct {
	xmlns   string
	version string
	handle  queryHandler
	// anonymous actions need no credentials: the model marks them "authtype": "none" (STS's
	// AssumeRoleWithWebIdentity and AssumeRoleWithSAML, botocore data/sts/2011-06-15/service-2.json).
	anonymous bool
}

func (s *Server) queryActions() map[string]queryAction {
	const iamV, stsV = "2010-05-08", "2011-06-15"
	return map[string]queryAction{
		"GetRole":                    {xmlns: iamXMLNS, version: iamV, handle: s.getRole},
		"GetOpenIDConnectProvider":   {xmlns: iamXMLNS, version: iamV, handle: s.getOIDCProvider},
		"ListOpenIDConnectProviders": {xmlns: iamXMLNS, version: iamV, handle: s.listOIDCProviders},
		"ListRoles":                  {xmlns: iamXMLNS, version: iamV, handle: s.listRoles},
		"GetCallerIdentity":          {xmlns: stsXMLNS, version: stsV, handle: s.getCallerIdentity},
		"AssumeRole":                 {xmlns: stsXMLNS, version: stsV, handle: s.assumeRole},
		"AssumeRoleWithWebIdentity":  {xmlns: stsXMLNS, version: stsV, handle: s.assumeRoleWithWebIdentity, anonymous: true},
	}
}

// serveQuery handles IAM and STS: POST form-encoded with Action and Version.
func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request) {
	reqID := s.requestID()
	_, _, service := accessKeyID(r)
	xmlns := iamXMLNS
	if service == "sts" {
		xmlns = stsXMLNS
	}
	c := &queryCall{w: w, r: r, xmlns: xmlns, reqID: reqID, st: s.snapshot()}
	if r.Method != http.MethodPost && r.Method != http.MethodGet {
		c.fail(http.StatusMethodNotAllowed, "Sender", "InvalidHttpRequest", "Query API requests are POST with a form body")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		c.fail(http.StatusBadRequest, "Sender", "MalformedQueryString", "The request body is not a valid form: "+err.Error())
		return
	}
	c.params = r.Form.Get
	c.action = r.Form.Get("Action")
	a, ok := s.queryActions()[c.action]
	if !ok {
		c.fail(http.StatusBadRequest, "Sender", "InvalidAction",
			fmt.Sprintf("Could not find operation %s for version %s", c.action, r.Form.Get("Version")))
		return
	}
	c.xmlns = a.xmlns
	s.countCall(c.action)
	if v := r.Form.Get("Version"); v != a.version {
		c.fail(http.StatusBadRequest, "Sender", "InvalidAction",
			fmt.Sprintf("Could not find operation %s for version %s", c.action, v))
		return
	}
	if !a.anonymous {
		akid, _, _ := accessKeyID(r)
		if akid == "" {
			c.fail(http.StatusForbidden, "Sender", "MissingAuthenticationToken", "Request is missing Authentication Token")
			return
		}
		caller, ok := s.whoami(c.st, akid)
		if !ok {
			c.fail(http.StatusForbidden, "Sender", "InvalidClientTokenId", "The security token included in the request is invalid.")
			return
		}
		c.caller = caller
	}
	if s.injectFault(w, r, c.action, func(code string) { c.failCode(code) }, c.malformed) {
		return
	}
	a.handle(c)
}

// respond writes AWS's success envelope: <ActionResponse><ActionResult>result</ActionResult>
// <ResponseMetadata><RequestId/></ResponseMetadata></ActionResponse>.
func (c *queryCall) respond(result any) {
	type metadata struct {
		RequestID string `xml:"RequestId"`
	}
	type envelope struct {
		XMLName  xml.Name
		XMLNS    string `xml:"xmlns,attr"`
		Result   any
		Metadata metadata `xml:"ResponseMetadata"`
	}
	env := envelope{
		XMLName:  xml.Name{Local: c.action + "Response"},
		XMLNS:    c.xmlns,
		Result:   wrapped{name: c.action + "Result", v: result},
		Metadata: metadata{RequestID: c.reqID},
	}
	body, err := xml.MarshalIndent(env, "", "  ")
	if err != nil {
		c.fail(http.StatusInternalServerError, "Receiver", "ServiceFailure", "fake AWS could not encode its answer: "+err.Error())
		return
	}
	c.write(http.StatusOK, append(body, '\n'))
}

// wrapped marshals v under the element name, so every action shares one envelope type.
type wrapped struct {
	name string
	v    any
}

func (w wrapped) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	return e.EncodeElement(w.v, xml.StartElement{Name: xml.Name{Local: w.name}})
}

// fail writes IAM's and STS's error envelope with the given HTTP status.
func (c *queryCall) fail(status int, typ, code, message string) {
	type errBody struct {
		Type    string
		Code    string
		Message string
	}
	type envelope struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		XMLNS     string   `xml:"xmlns,attr"`
		Error     errBody
		RequestID string `xml:"RequestId"`
	}
	body, _ := xml.MarshalIndent(envelope{XMLNS: c.xmlns, Error: errBody{typ, code, message}, RequestID: c.reqID}, "", "  ")
	c.write(status, append(body, '\n'))
}

// failCode writes one of the catalogued error codes with its usual status and message.
func (c *queryCall) failCode(code string) {
	e := queryErrorFor(code, c.service()+":"+c.action, c.caller.arn)
	c.fail(e.status, e.typ, code, e.message)
}

func (c *queryCall) service() string {
	if c.xmlns == stsXMLNS {
		return "sts"
	}
	return "iam"
}

// malformed answers 200 with a truncated document, as a broken proxy might.
func (c *queryCall) malformed() {
	c.write(http.StatusOK, []byte(`<?xml version="1.0"?>`+"\n"+`<`+c.action+`Response xmlns="`+c.xmlns+`"><`+c.action+`Result><Ro`))
}

func (c *queryCall) write(status int, body []byte) {
	h := c.w.Header()
	h.Set("Content-Type", "text/xml")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("x-amzn-RequestId", c.reqID)
	c.w.WriteHeader(status)
	_, _ = c.w.Write(body)
}

// queryError is an error code's usual HTTP status, fault type and message.
type queryError struct {
	status  int
	typ     string
	message string
}

// queryErrorFor returns how AWS reports code for action ("iam:GetRole") called by callerARN.
func queryErrorFor(code, action, callerARN string) queryError {
	switch code {
	case "Throttling":
		return queryError{http.StatusBadRequest, "Sender", "Rate exceeded"}
	case "AccessDenied":
		if callerARN == "" { // an anonymous call, which STS refuses without naming a caller
			return queryError{http.StatusForbidden, "Sender", "Not authorized to perform " + action}
		}
		return queryError{http.StatusForbidden, "Sender", fmt.Sprintf("User: %s is not authorized to perform: %s", callerARN, action)}
	case "InvalidInput":
		return queryError{http.StatusBadRequest, "Sender", "The request contains an invalid input parameter."}
	case "NoSuchEntity":
		return queryError{http.StatusNotFound, "Sender", "The requested entity cannot be found."}
	case "ServiceFailure":
		return queryError{http.StatusInternalServerError, "Receiver", "The request processing has failed because of an unknown error, exception or failure."}
	case "ServiceUnavailable":
		return queryError{http.StatusServiceUnavailable, "Receiver", "Service Unavailable"}
	case "InternalFailure":
		return queryError{http.StatusInternalServerError, "Receiver", "An internal error occurred."}
	}
	return queryError{http.StatusBadRequest, "Sender", code}
}

// awsTime formats a timestamp the way the Query APIs do (ISO 8601, UTC, whole seconds).
func awsTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// rfc3986Escape percent-encodes everything but RFC 3986's unreserved characters, as IAM does for
// policy documents. It never emits '+', so url.QueryUnescape and url.PathUnescape both invert it.
func rfc3986Escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) * 3)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case 'A' <= ch && ch <= 'Z', 'a' <= ch && ch <= 'z', '0' <= ch && ch <= '9',
			ch == '-', ch == '.', ch == '_', ch == '~':
			b.WriteByte(ch)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[ch>>4])
			b.WriteByte(hex[ch&15])
		}
	}
	return b.String()
}
