// Package awsfacts gathers the AWS facts the IRSA checks need (IAM roles, OIDC providers, the
// issuer's TLS chain) through aws-sdk-go-v2, with caching, a rate limit, bounded retries and
// error classification, so the admission path stays fast and fails open.
package awsfacts

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Reason classifies why a lookup failed. Only ReasonNotFound is a fact about the user's
// object; every other reason is an infrastructure problem that yields "could not verify".
type Reason string

// The reasons callers branch on. Their text is used verbatim in IRSA090 messages.
const (
	ReasonNotFound     Reason = "not found"
	ReasonThrottled    Reason = "throttled"
	ReasonTimeout      Reason = "timed out"
	ReasonAccessDenied Reason = "irsa-guard's own access denied"
	ReasonNetwork      Reason = "network error"
	ReasonServer       Reason = "AWS server error"
	ReasonUntrustedTLS Reason = "TLS certificate not trusted" // the issuer's, when reading its discovery document
	ReasonUnknown      Reason = "unexpected error"
)

// Classify sorts err into a Reason: smithy API error codes first (what AWS said), then context
// deadlines and network errors (what never reached AWS). It returns "" for a nil error.
func Classify(err error) Reason {
	if err == nil {
		return ""
	}
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch code := apiErr.ErrorCode(); {
		case code == "NoSuchEntity" || code == "NoSuchEntityException" || code == "ResourceNotFoundException":
			return ReasonNotFound
		case retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err).Bool(),
			strings.Contains(code, "Throttl"), code == "RequestLimitExceeded", code == "TooManyRequestsException":
			return ReasonThrottled
		case strings.HasPrefix(code, "AccessDenied"), code == "UnauthorizedOperation", code == "InvalidClientTokenId",
			code == "ExpiredToken", code == "ExpiredTokenException", code == "SignatureDoesNotMatch", code == "UnrecognizedClientException":
			return ReasonAccessDenied
		}
	}
	var certErr *tls.CertificateVerificationError
	if errors.As(err, &certErr) {
		return ReasonUntrustedTLS
	}
	if errors.Is(err, ErrRateLimited) {
		return ReasonThrottled
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ReasonTimeout
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return ReasonTimeout
	}
	var respErr *smithyhttp.ResponseError
	if errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500 {
		return ReasonServer
	}
	if apiErr != nil {
		return ReasonUnknown
	}
	var opErr *net.OpError
	var dnsErr *net.DNSError
	var sendErr *smithyhttp.RequestSendError
	if errors.As(err, &opErr) || errors.As(err, &dnsErr) || errors.As(err, &netErr) || errors.As(err, &sendErr) {
		return ReasonNetwork
	}
	// A response arrived but could not be decoded (truncated or malformed XML).
	var deser *smithy.DeserializationError
	if errors.As(err, &deser) || errors.As(err, &respErr) {
		return ReasonServer
	}
	return ReasonUnknown
}

// IsNotFound reports whether err means the looked-up object does not exist.
func IsNotFound(err error) bool { return Classify(err) == ReasonNotFound }

// Label is the reason as a Prometheus label value: short, stable, no spaces.
func (r Reason) Label() string {
	switch r {
	case ReasonNotFound:
		return "not_found"
	case ReasonThrottled:
		return "throttled"
	case ReasonTimeout:
		return "timeout"
	case ReasonAccessDenied:
		return "access_denied"
	case ReasonNetwork:
		return "network"
	case ReasonServer:
		return "server_error"
	case ReasonUntrustedTLS:
		return "untrusted_tls"
	case "":
		return "ok"
	}
	return "error"
}
