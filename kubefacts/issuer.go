package kubefacts

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"

	"k8s.io/client-go/rest"

	"github.com/irsa-guard/irsa-guard/validators"
)

// OwnTokenPath is where Kubernetes mounts a pod's own ServiceAccount token.
const OwnTokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token" //nolint:gosec // a path, not a credential

// maxDiscoveryBytes bounds the API server's discovery document.
const maxDiscoveryBytes = 1 << 20

// DiscoverIssuer finds the cluster's OIDC issuer without AWS: the iss claim of the token at
// tokenPath (a pod's own token is issued by the same issuer as every pod's), else the API server's
// OpenID discovery document (/.well-known/openid-configuration, readable by every ServiceAccount
// through the system:service-account-issuer-discovery ClusterRole). On EKS both give
// https://oidc.eks.<region>.amazonaws.com/id/<ID>.
func DiscoverIssuer(ctx context.Context, cfg *rest.Config, tokenPath string) (string, error) {
	if token, err := os.ReadFile(tokenPath); err == nil { //nolint:gosec // a fixed path or the caller's
		if iss := jwtIssuer(string(token)); validators.ValidateIssuer(iss) == nil {
			return iss, nil
		}
	}
	hc, err := rest.HTTPClientFor(cfg)
	if err != nil {
		return "", fmt.Errorf("discover the OIDC issuer: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(cfg.Host, "/")+"/.well-known/openid-configuration", nil)
	if err != nil {
		return "", fmt.Errorf("discover the OIDC issuer: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("discover the OIDC issuer from the API server (set --issuer): %w", err)
	}
	defer resp.Body.Close()
	var doc struct {
		Issuer string `json:"issuer"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(nil, resp.Body, maxDiscoveryBytes)).Decode(&doc); err != nil || resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("discover the OIDC issuer: the API server answered %s (set --issuer)", resp.Status)
	}
	if err := validators.ValidateIssuer(doc.Issuer); err != nil {
		return "", fmt.Errorf("the API server's discovery document: %w (set --issuer)", err)
	}
	return doc.Issuer, nil
}

// jwtIssuer reads the iss claim of a JWT without verifying it: irsa-guard only needs to know
// which issuer its own cluster uses. The token itself is never logged.
func jwtIssuer(token string) string {
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(payload, &claims) != nil {
		return ""
	}
	return claims.Iss
}
