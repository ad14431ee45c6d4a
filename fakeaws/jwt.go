package fakeaws

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	_ "crypto/sha256" // registers SHA-256 for crypto.Hash.New
	_ "crypto/sha512" // registers SHA-384 and SHA-512
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"strconv"
	"strings"
)

// webToken is a web identity token (a JWT) split and decoded but not yet verified: STS reads the
// issuer before it knows which keys to verify with.
type webToken struct {
	alg, kid     string
	signingInput string // header.payload as sent, what the signature covers
	signature    []byte

	iss, sub string
	aud      []string // a single string aud becomes a list of one
	hasAud   bool
	exp      int64
	hasExp   bool
}

// jwtAlgs are the signing algorithms STS accepts: "Tokens must be signed using either RSA keys
// (RS256, RS384, or RS512) or ECDSA keys (ES256, ES384, or ES512)" (AssumeRoleWithWebIdentity API
// reference). The value is the hash and, for ECDSA, the curve.
var jwtAlgs = map[string]struct {
	hash  crypto.Hash
	curve elliptic.Curve
}{
	"RS256": {crypto.SHA256, nil}, "RS384": {crypto.SHA384, nil}, "RS512": {crypto.SHA512, nil},
	"ES256": {crypto.SHA256, elliptic.P256()}, "ES384": {crypto.SHA384, elliptic.P384()}, "ES512": {crypto.SHA512, elliptic.P521()},
}

var (
	errNotJWT       = errors.New("not a valid JWT")
	errNoKey        = errors.New("no key in the JWKS verifies this token's kid and alg")
	errBadSignature = errors.New("signature does not verify")
)

// parseWebToken splits and decodes a compact JWS without verifying it. It fails (errNotJWT) for
// anything that is not three base64url parts with JSON objects, an algorithm STS does not accept,
// claims of the wrong type, or a timestamp that is not an integer ("Timestamps in the token must
// be formatted as either an integer or a long integer", AssumeRoleWithWebIdentity API reference).
func parseWebToken(tok string) (*webToken, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil, errNotJWT
	}
	var header struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return nil, errNotJWT
	}
	if _, ok := jwtAlgs[header.Alg]; !ok {
		return nil, errNotJWT
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || len(sig) == 0 {
		return nil, errNotJWT
	}
	var claims map[string]json.RawMessage
	if err := decodeSegment(parts[1], &claims); err != nil || claims == nil {
		return nil, errNotJWT
	}
	t := &webToken{alg: header.Alg, kid: header.Kid, signingInput: parts[0] + "." + parts[1], signature: sig}
	for _, c := range []struct {
		name string
		read func(json.RawMessage) bool
	}{
		{"iss", func(v json.RawMessage) bool { return json.Unmarshal(v, &t.iss) == nil }},
		{"sub", func(v json.RawMessage) bool { return json.Unmarshal(v, &t.sub) == nil }},
		{"aud", func(v json.RawMessage) bool { t.hasAud = true; return readAudience(v, &t.aud) }},
		{"exp", func(v json.RawMessage) bool { t.hasExp = true; return readNumericDate(v, &t.exp) }},
		{"iat", func(v json.RawMessage) bool { var n int64; return readNumericDate(v, &n) }},
		{"nbf", func(v json.RawMessage) bool { var n int64; return readNumericDate(v, &n) }},
	} {
		v, ok := claims[c.name]
		if !ok || string(v) == "null" {
			continue
		}
		if !c.read(v) {
			return nil, errNotJWT
		}
	}
	return t, nil
}

// decodeSegment base64url-decodes (without padding, as RFC 7515 requires) one JSON object.
func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		return err
	}
	if b = bytes.TrimSpace(b); len(b) == 0 || b[0] != '{' {
		return errNotJWT
	}
	return json.Unmarshal(b, v)
}

// readAudience accepts a string or a list of strings, as RFC 7519 section 4.1.3 allows.
func readAudience(v json.RawMessage, out *[]string) bool {
	var one string
	if json.Unmarshal(v, &one) == nil {
		*out = []string{one}
		return true
	}
	return json.Unmarshal(v, out) == nil
}

// readNumericDate accepts an integer only: no fraction, no exponent.
func readNumericDate(v json.RawMessage, out *int64) bool {
	n, err := strconv.ParseInt(string(v), 10, 64)
	*out = n
	return err == nil
}

// jwk is one JSON Web Key (RFC 7517), the RSA and EC members only.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// parseJWKS reads a JWK Set. Keys that do not decode are skipped, as a JWKS may hold key types
// a verifier does not know.
func parseJWKS(b []byte) ([]jwk, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, err
	}
	if set.Keys == nil {
		return nil, errors.New(`JWKS has no "keys"`)
	}
	var keys []jwk
	for _, raw := range set.Keys {
		var k jwk
		if json.Unmarshal(raw, &k) == nil {
			keys = append(keys, k)
		}
	}
	return keys, nil
}

// verify checks the signature with the keys that fit the token: the kid when the token names
// one, the algorithm's key type and curve, and the key's own alg and use when it states them.
// errNoKey when none fits, errBadSignature when none of those verifies.
func (t *webToken) verify(keys []jwk) error {
	a := jwtAlgs[t.alg]
	h := a.hash.New()
	h.Write([]byte(t.signingInput))
	digest := h.Sum(nil)
	found := false
	for _, k := range keys {
		if (t.kid != "" && k.Kid != t.kid) || (k.Alg != "" && k.Alg != t.alg) || (k.Use != "" && k.Use != "sig") {
			continue
		}
		var ok, fits bool
		if a.curve == nil {
			ok, fits = verifyRSA(k, a.hash, digest, t.signature)
		} else {
			ok, fits = verifyEC(k, a.curve, digest, t.signature)
		}
		found = found || fits
		if ok {
			return nil
		}
	}
	if !found {
		return errNoKey
	}
	return errBadSignature
}

// verifyRSA reports whether the RSA key k verifies sig (PKCS #1 v1.5, as RS256-512 use), and
// whether k is a usable RSA key at all.
func verifyRSA(k jwk, hash crypto.Hash, digest, sig []byte) (ok, fits bool) {
	if k.Kty != "RSA" {
		return false, false
	}
	n, err1 := base64.RawURLEncoding.DecodeString(k.N)
	e, err2 := base64.RawURLEncoding.DecodeString(k.E)
	if err1 != nil || err2 != nil || len(n) == 0 || len(e) == 0 || len(e) > 4 {
		return false, false
	}
	exp := new(big.Int).SetBytes(e).Int64()
	if exp < 3 {
		return false, false
	}
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(exp)}
	return rsa.VerifyPKCS1v15(pub, hash, digest, sig) == nil, true
}

// verifyEC reports whether the EC key k on curve verifies sig, the fixed-size r||s of RFC 7518
// section 3.4, and whether k is a usable key on that curve.
func verifyEC(k jwk, curve elliptic.Curve, digest, sig []byte) (ok, fits bool) {
	if k.Kty != "EC" || k.Crv != curve.Params().Name {
		return false, false
	}
	size := (curve.Params().BitSize + 7) / 8
	x, err1 := base64.RawURLEncoding.DecodeString(k.X)
	y, err2 := base64.RawURLEncoding.DecodeString(k.Y)
	if err1 != nil || err2 != nil || len(x) != size || len(y) != size {
		return false, false
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
	if err != nil {
		return false, false
	}
	if len(sig) != 2*size {
		return false, true
	}
	r, s := new(big.Int).SetBytes(sig[:size]), new(big.Int).SetBytes(sig[size:])
	return ecdsa.Verify(pub, digest, r, s), true
}
