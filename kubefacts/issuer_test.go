package kubefacts

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

func TestDiscoverIssuer(t *testing.T) {
	const eks = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E"
	token := func(payload string) string {
		return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".c2ln"
	}
	discovery := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			_, _ = w.Write([]byte(`{"issuer":"` + eks + `","jwks_uri":"https://ip-10-0-0-1.ec2.internal:443/openid/v1/jwks"}`))
		default:
			http.NotFound(w, r)
		}
	}))
	defer discovery.Close()
	broken := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"issuer":"http://plain"}`))
	}))
	defer broken.Close()
	cfg := func(s *httptest.Server) *rest.Config {
		return &rest.Config{Host: s.URL, TLSClientConfig: rest.TLSClientConfig{Insecure: true}}
	}
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := map[string]struct {
		cfg     *rest.Config
		token   string
		want    string
		wantErr string
	}{
		"the pod's own token names the issuer":              {cfg: cfg(broken), token: write("own", token(`{"iss":"`+eks+`","sub":"system:serviceaccount:irsa-guard:irsa-guard"}`)), want: eks},
		"no token: the API server's discovery document":     {cfg: cfg(discovery), token: filepath.Join(dir, "absent"), want: eks},
		"a token that is not a JWT falls back to discovery": {cfg: cfg(discovery), token: write("garbage", "not.a-jwt"), want: eks},
		"a discovery document with an http issuer is refused": {
			cfg: cfg(broken), token: filepath.Join(dir, "absent"),
			wantErr: `the API server's discovery document: issuer "http://plain" must start with https://`,
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := DiscoverIssuer(context.Background(), tc.cfg, tc.token)
			if got != tc.want || (tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr))) || (tc.wantErr == "" && err != nil) {
				t.Errorf("DiscoverIssuer = %q, %v; want %q, %q", got, err, tc.want, tc.wantErr)
			}
		})
	}
}
