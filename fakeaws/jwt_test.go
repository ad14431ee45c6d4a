package fakeaws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strings"
	"testing"
)

// signJWT signs claims with key under alg, the way any issuer would; it is independent of the
// verifier under test except for the algorithm table's hashes.
func signJWT(t testing.TB, key crypto.Signer, alg, kid string, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"alg": alg, "kid": kid})
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	hash := jwtAlgs[alg].hash
	d := hash.New()
	d.Write([]byte(input))
	digest := d.Sum(nil)
	var sig []byte
	switch k := key.(type) {
	case *rsa.PrivateKey:
		var err error
		if sig, err = rsa.SignPKCS1v15(rand.Reader, k, hash, digest); err != nil {
			t.Fatal(err)
		}
	case *ecdsa.PrivateKey:
		r, s, err := ecdsa.Sign(rand.Reader, k, digest)
		if err != nil {
			t.Fatal(err)
		}
		size := (k.Curve.Params().BitSize + 7) / 8
		sig = append(r.FillBytes(make([]byte, size)), s.FillBytes(make([]byte, size))...)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// publicJWK is key's public half as a JWK.
func publicJWK(key crypto.Signer, kid string) jwk {
	enc := base64.RawURLEncoding.EncodeToString
	switch k := key.Public().(type) {
	case *rsa.PublicKey:
		return jwk{Kty: "RSA", Kid: kid, N: enc(k.N.Bytes()), E: enc(big.NewInt(int64(k.E)).Bytes())}
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		b, _ := k.Bytes() // 0x04 || X || Y
		return jwk{Kty: "EC", Kid: kid, Crv: k.Curve.Params().Name, X: enc(b[1 : 1+size]), Y: enc(b[1+size:])}
	}
	return jwk{}
}

func TestWebTokenVerifiesEveryAlgorithmSTSAccepts(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKeys := map[string]*ecdsa.PrivateKey{}
	for alg, curve := range map[string]elliptic.Curve{"ES256": elliptic.P256(), "ES384": elliptic.P384(), "ES512": elliptic.P521()} {
		if ecKeys[alg], err = ecdsa.GenerateKey(curve, rand.Reader); err != nil {
			t.Fatal(err)
		}
	}
	claims := map[string]any{"iss": "https://issuer", "sub": "s", "aud": "a", "exp": 4102444800}
	for _, alg := range []string{"RS256", "RS384", "RS512", "ES256", "ES384", "ES512"} {
		t.Run(alg, func(t *testing.T) {
			var key crypto.Signer = rsaKey
			if strings.HasPrefix(alg, "ES") {
				key = ecKeys[alg]
			}
			tok, err := parseWebToken(signJWT(t, key, alg, "k1", claims))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if tok.iss != "https://issuer" || tok.sub != "s" || len(tok.aud) != 1 || tok.aud[0] != "a" || tok.exp != 4102444800 {
				t.Errorf("claims = %+v", tok)
			}
			other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			keys := []jwk{publicJWK(other, "k0"), publicJWK(key, "k1")}
			if err := tok.verify(keys); err != nil {
				t.Errorf("verify with the right key: %v", err)
			}
			if err := tok.verify(keys[:1]); !errors.Is(err, errNoKey) {
				t.Errorf("verify without the kid's key = %v, want errNoKey", err)
			}
			var wrong jwk
			if strings.HasPrefix(alg, "RS") {
				other, _ := rsa.GenerateKey(rand.Reader, 2048)
				wrong = publicJWK(other, "k1")
			} else {
				other, _ := ecdsa.GenerateKey(ecKeys[alg].Curve, rand.Reader)
				wrong = publicJWK(other, "k1")
			}
			if err := tok.verify([]jwk{wrong}); !errors.Is(err, errBadSignature) {
				t.Errorf("verify with another key under the kid = %v, want errBadSignature", err)
			}
		})
	}
}

func TestParseWebTokenRefuses(t *testing.T) {
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	hdr := enc(map[string]string{"alg": "RS256"})
	tests := map[string]string{
		"two parts":                          hdr + "." + enc(map[string]any{}),
		"four parts":                         hdr + "." + enc(map[string]any{}) + ".c2ln.c2ln",
		"alg none":                           enc(map[string]string{"alg": "none"}) + "." + enc(map[string]any{}) + ".c2ln",
		"PS256, which STS does not list":     enc(map[string]string{"alg": "PS256"}) + "." + enc(map[string]any{}) + ".c2ln",
		"padded base64":                      hdr + "=." + enc(map[string]any{}) + ".c2ln",
		"claims that are a list":             hdr + "." + enc([]string{"a"}) + ".c2ln",
		"an iss that is a number":            hdr + "." + enc(map[string]any{"iss": 1}) + ".c2ln",
		"an aud list holding a number":       hdr + "." + enc(map[string]any{"aud": []any{"a", 1}}) + ".c2ln",
		"an exp written with an exponent":    hdr + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"exp":1.7e9}`)) + ".c2ln",
		"an iat with a fraction":             hdr + "." + enc(map[string]any{"iat": 1.5}) + ".c2ln",
		"an empty signature":                 hdr + "." + enc(map[string]any{}) + ".",
		"a header that is not JSON":          base64.RawURLEncoding.EncodeToString([]byte("alg")) + "." + enc(map[string]any{}) + ".c2ln",
		"a signature that is not base64url":  hdr + "." + enc(map[string]any{}) + ".c2l*",
		"a JSON string instead of an object": hdr + "." + enc("x") + ".c2ln",
	}
	for name, tok := range tests {
		if _, err := parseWebToken(tok); !errors.Is(err, errNotJWT) {
			t.Errorf("%s: parseWebToken = %v, want errNotJWT", name, err)
		}
	}
}

// FuzzParseWebToken feeds arbitrary tokens (untrusted input from any caller of the fake) and JWK
// Sets (untrusted input from any issuer) to the parsers and the verifier: none may panic, and an
// accepted token must keep its invariants.
func FuzzParseWebToken(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	claims := map[string]any{"iss": "https://i", "sub": "system:serviceaccount:a:b", "aud": []string{"sts.amazonaws.com"}, "exp": 1, "iat": 0}
	keys := []jwk{publicJWK(key, "k"), publicJWK(ec, "e"), {Kty: "EC", Crv: "P-256", X: "AA", Y: "AA"}, {Kty: "RSA", N: "AA", E: "AQAB"}}
	set, _ := json.Marshal(map[string]any{"keys": keys})
	f.Add(signJWT(f, key, "RS256", "k", claims), set)
	f.Add(signJWT(f, ec, "ES256", "e", claims), set)
	f.Add(signJWT(f, ec, "ES256", "", claims), []byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""},7,null]}`))
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.c2ln", []byte(`{}`))
	f.Add("..", []byte(`{"keys":null}`))
	f.Fuzz(func(t *testing.T, tok string, jwks []byte) {
		all := keys[:len(keys):len(keys)]
		if parsed, err := parseJWKS(jwks); err == nil {
			all = append(all, parsed...)
		}
		wt, err := parseWebToken(tok)
		if err != nil {
			if wt != nil || !errors.Is(err, errNotJWT) {
				t.Fatalf("parseWebToken = %v, %v", wt, err)
			}
			return
		}
		if _, ok := jwtAlgs[wt.alg]; !ok || len(wt.signature) == 0 || strings.Count(tok, ".") != 2 {
			t.Fatalf("accepted %q with alg %q", tok, wt.alg)
		}
		if err := wt.verify(all); err != nil && !errors.Is(err, errNoKey) && !errors.Is(err, errBadSignature) {
			t.Fatalf("verify = %v", err)
		}
	})
}
