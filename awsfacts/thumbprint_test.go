package awsfacts

import (
	"crypto/x509"
	"strings"
	"testing"
)

func TestParseDiscovery(t *testing.T) {
	tests := map[string]struct {
		doc     string
		want    string
		wantErr string
	}{
		"an EKS discovery document gives its keys URL": {
			doc:  `{"issuer":"https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E","jwks_uri":"https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E/keys","authorization_endpoint":"urn:kubernetes:programmatic_authorization","response_types_supported":["id_token"]}`,
			want: "oidc.eks.us-west-2.amazonaws.com",
		},
		"a self-managed issuer may serve keys from another host": {
			doc:  `{"issuer":"https://irsa.example.com","jwks_uri":"https://keys.example.net:8443/openid/v1/jwks"}`,
			want: "keys.example.net:8443",
		},
		"an http jwks_uri is refused": {
			doc:     `{"jwks_uri":"http://keys.example.net/jwks"}`,
			wantErr: `jwks_uri "http://keys.example.net/jwks" is not an https URL`,
		},
		"a document without jwks_uri is refused": {
			doc:     `{"issuer":"https://irsa.example.com"}`,
			wantErr: `jwks_uri "" is not an https URL`,
		},
		"an HTML error page is not a discovery document": {
			doc:     `<html><body>Forbidden</body></html>`,
			wantErr: "not a JSON discovery document",
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			u, err := parseDiscovery(strings.NewReader(tc.doc))
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
				}
			case err != nil:
				t.Errorf("unexpected error %v", err)
			case u.Host != tc.want:
				t.Errorf("host = %q, want %q", u.Host, tc.want)
			}
		})
	}
}

// FuzzParseDiscovery: an issuer's discovery document is untrusted network input.
func FuzzParseDiscovery(f *testing.F) {
	f.Add(`{"jwks_uri":"https://oidc.eks.us-west-2.amazonaws.com/id/X/keys"}`)
	f.Add(`{"jwks_uri":"https://[::1]:8443/keys"}`)
	f.Add(`{"jwks_uri":"https://%zz/"}`)
	f.Add(`{"jwks_uri":5}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, doc string) {
		u, err := parseDiscovery(strings.NewReader(doc))
		if err == nil && (u.Scheme != "https" || u.Hostname() == "") {
			t.Errorf("accepted jwks_uri %v", u)
		}
	})
}

func TestChainFacts(t *testing.T) {
	e := newEnv(t, nil)
	fetch := func(public, issuerRoots []*x509.Certificate) (string, bool, error) {
		c, err := newChainFetcher(public, issuerRoots).fetch(testContext(t), e.issuer.url)
		if err != nil {
			return "", false, err
		}
		return c.Thumbprint, c.PubliclyTrusted, nil
	}
	thumb, public, err := fetch([]*x509.Certificate{e.issuer.root}, nil)
	if err != nil || thumb != e.issuer.thumbprint || !public {
		t.Errorf("with the issuer's CA as public: thumbprint %s public %v err %v; want %s true", thumb, public, err, e.issuer.thumbprint)
	}
	thumb, public, err = fetch([]*x509.Certificate{}, []*x509.Certificate{e.issuer.root})
	if err != nil || thumb != e.issuer.thumbprint || public {
		t.Errorf("with the issuer's CA as private: thumbprint %s public %v err %v; want %s false", thumb, public, err, e.issuer.thumbprint)
	}
	if _, _, err = fetch(nil, nil); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("an issuer nobody trusts: err %v, want a certificate error", err)
	}
}
