package imagescan

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
)

// PullSecretsKeychain turns a pod's imagePullSecrets (kubernetes.io/dockerconfigjson or the
// legacy kubernetes.io/dockercfg) into a keychain, matching registries the way the kubelet
// does: by host (a leading "*." matches one label), then by the longest path prefix. Secrets
// come first to last as the pod lists them; the first one with a match wins. A secret of
// another type, or one that does not parse, is an error naming it: the caller decides whether
// to scan anonymously.
//
// It stands in for go-containerregistry's k8schain, which brings every cloud's credential
// helper (ECR, ACR, GCR) into the binary.
func PullSecretsKeychain(secrets []corev1.Secret) (authn.Keychain, error) {
	var kc secretKeychain
	for _, s := range secrets {
		var entries map[string]dockerAuth
		var err error
		switch s.Type {
		case corev1.SecretTypeDockerConfigJson:
			var cfg struct {
				Auths map[string]dockerAuth `json:"auths"`
			}
			err = json.Unmarshal(s.Data[corev1.DockerConfigJsonKey], &cfg)
			entries = cfg.Auths
		case corev1.SecretTypeDockercfg:
			err = json.Unmarshal(s.Data[corev1.DockerConfigKey], &entries)
		default:
			return nil, fmt.Errorf("pull secret %s/%s: type %q is not a docker config", s.Namespace, s.Name, s.Type)
		}
		if err != nil {
			return nil, fmt.Errorf("pull secret %s/%s: %w", s.Namespace, s.Name, err)
		}
		for key, a := range entries {
			host, prefix := splitRegistryKey(key)
			cfg, err := a.config()
			if err != nil {
				return nil, fmt.Errorf("pull secret %s/%s, registry %q: %w", s.Namespace, s.Name, key, err)
			}
			kc = append(kc, secretEntry{host: host, prefix: prefix, cfg: cfg})
		}
	}
	return kc, nil
}

// dockerAuth is one registry's entry in a docker config.
type dockerAuth struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Auth          string `json:"auth"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

func (a dockerAuth) config() (authn.AuthConfig, error) {
	cfg := authn.AuthConfig{Username: a.Username, Password: a.Password, IdentityToken: a.IdentityToken, RegistryToken: a.RegistryToken}
	if a.Auth != "" {
		raw, err := base64.StdEncoding.DecodeString(a.Auth)
		if err != nil {
			return cfg, fmt.Errorf("auth is not base64: %w", err)
		}
		user, pass, ok := strings.Cut(string(raw), ":")
		if !ok {
			return cfg, fmt.Errorf("auth is not user:password")
		}
		cfg.Username, cfg.Password = user, pass
	}
	return cfg, nil
}

type secretEntry struct {
	host, prefix string
	cfg          authn.AuthConfig
}

type secretKeychain []secretEntry

var _ authn.Keychain = secretKeychain(nil)

// Resolve finds the entry for a repository (or a registry): among matching hosts, the longest
// path prefix; among equals, the first listed.
func (kc secretKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	host := normalizeHost(r.RegistryStr())
	repo := strings.TrimPrefix(r.String(), r.RegistryStr())
	repo = strings.TrimPrefix(repo, "/")
	best := -1
	for i, e := range kc {
		if !hostMatches(e.host, host) || !pathHasPrefix(repo, e.prefix) {
			continue
		}
		if best < 0 || len(e.prefix) > len(kc[best].prefix) {
			best = i
		}
	}
	if best < 0 {
		return authn.Anonymous, nil
	}
	return authn.FromConfig(kc[best].cfg), nil
}

// splitRegistryKey reads a docker config key ("https://index.docker.io/v1/", "reg:5000",
// "reg.example.com/team") into host and path prefix.
func splitRegistryKey(key string) (host, prefix string) {
	key = strings.TrimPrefix(strings.TrimPrefix(key, "https://"), "http://")
	host, prefix, _ = strings.Cut(strings.TrimSuffix(key, "/"), "/")
	host = normalizeHost(host)
	if host == "index.docker.io" && (prefix == "v1" || prefix == "v2") {
		prefix = ""
	}
	return host, prefix
}

func normalizeHost(h string) string {
	h = strings.ToLower(h)
	if h == "docker.io" || h == "registry-1.docker.io" {
		return "index.docker.io"
	}
	return h
}

// hostMatches compares a key's host (maybe "*.example.com", maybe with a port) with a registry host.
func hostMatches(pattern, host string) bool {
	pp, hp := strings.Split(pattern, "."), strings.Split(host, ".")
	if len(pp) != len(hp) {
		return false
	}
	for i := range pp {
		if ok, err := path.Match(pp[i], hp[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

func pathHasPrefix(repo, prefix string) bool {
	return prefix == "" || repo == prefix || strings.HasPrefix(repo, prefix+"/")
}
