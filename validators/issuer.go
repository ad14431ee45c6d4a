package validators

import (
	"fmt"
	"net/url"
	"strings"
)

// DefaultAudience is the token audience the EKS pod identity webhook projects unless the
// ServiceAccount's eks.amazonaws.com/audience annotation says otherwise.
const DefaultAudience = "sts.amazonaws.com"

// IssuerHostPath is the issuer URL without its scheme: the form IAM uses in an OIDC provider's
// ARN and in condition keys ("oidc.eks.us-west-2.amazonaws.com/id/ABC:sub"). A trailing slash is
// kept because IAM compares the issuer byte for byte.
func IssuerHostPath(issuer string) string {
	return strings.TrimPrefix(issuer, "https://")
}

// ProviderARN is the ARN of the IAM OIDC provider for issuer in the given partition and account.
func ProviderARN(partition, account, issuer string) string {
	return fmt.Sprintf("arn:%s:iam::%s:oidc-provider/%s", partition, account, IssuerHostPath(issuer))
}

// ServiceAccountSubject is the sub claim of a ServiceAccount's projected token.
func ServiceAccountSubject(namespace, name string) string {
	return "system:serviceaccount:" + namespace + ":" + name
}

// ValidateIssuer checks that issuer is usable as an IAM OIDC provider URL: https, a host, no
// query or fragment (IAM's URL rules). A port is allowed so local test issuers work, although
// IAM itself rejects one. The error says what to change.
func ValidateIssuer(issuer string) error {
	u, err := url.Parse(issuer)
	switch {
	case err != nil:
		return fmt.Errorf("issuer %q is not a URL: %w", issuer, err)
	case u.Scheme != "https":
		return fmt.Errorf("issuer %q must start with https:// (IAM OIDC providers only accept https)", issuer)
	case u.Host == "":
		return fmt.Errorf("issuer %q has no host; expected e.g. https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E", issuer)
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("issuer %q must not have a query or fragment", issuer)
	}
	return nil
}
