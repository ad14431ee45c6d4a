package imagescan

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func dockerConfigSecret(name, registry, user, pass string) corev1.Secret {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	return corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "team", Name: name},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"` + registry + `":{"auth":"` + auth + `"}}}`)},
	}
}

func TestRegistryWithBasicAuthAndAPullSecret(t *testing.T) {
	inner := registryServer(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "puller" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		inner.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ref, err := name.ParseReference(host + "/private/app:1")
	if err != nil {
		t.Fatal(err)
	}
	img, err := mutate.AppendLayers(empty.Image, layer(t, text(site+"botocore-1.34.41.dist-info/METADATA", "Name: botocore\nVersion: 1.34.41\n")))
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "puller", Password: "s3cret"})); err != nil {
		t.Fatal(err)
	}

	if _, err := Scan(context.Background(), ref.String(), Options{Keychain: authn.NewMultiKeychain()}); err == nil {
		t.Error("a scan without credentials should fail to read the image")
	}
	kc, err := PullSecretsKeychain([]corev1.Secret{
		dockerConfigSecret("other", "elsewhere.example.com", "x", "y"),
		dockerConfigSecret("regcred", "http://"+host+"/private", "puller", "s3cret"),
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Scan(context.Background(), ref.String(), Options{Keychain: authn.NewMultiKeychain(kc, authn.DefaultKeychain)})
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := byName(rep, "botocore", ""); !ok || s.PodIdentity.Verdict != VerdictOK {
		t.Errorf("got %+v", rep.SDKs)
	}
}

func TestPullSecretsKeychainMatchesLikeTheKubelet(t *testing.T) {
	kc, err := PullSecretsKeychain([]corev1.Secret{
		dockerConfigSecret("hub", "https://index.docker.io/v1/", "hub", "p"),
		dockerConfigSecret("wild", "*.example.com", "wild", "p"),
		dockerConfigSecret("team", "reg.example.com/team", "team", "p"),
		{Type: corev1.SecretTypeDockercfg, Data: map[string][]byte{corev1.DockerConfigKey: []byte(`{"legacy.io:5000":{"username":"legacy","password":"p"}}`)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]struct{ repo, user string }{
		"Docker Hub by its v1 URL":                {"library/nginx", "hub"},
		"a wildcard matches one label":            {"reg.example.com/app", "wild"},
		"the longest path prefix wins":            {"reg.example.com/team/app", "team"},
		"a prefix matches whole segments only":    {"reg.example.com/teamwork/app", "wild"},
		"a wildcard does not match two labels":    {"a.b.example.com/app", ""},
		"a legacy dockercfg with a port":          {"legacy.io:5000/app", "legacy"},
		"no entry: anonymous":                     {"quay.io/app", ""},
		"the registry without the port: no match": {"legacy.io/app", ""},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			repo, err := nameRepository(tc.repo)
			if err != nil {
				t.Fatal(err)
			}
			a, err := kc.Resolve(repo)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := a.Authorization()
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Username != tc.user {
				t.Errorf("got user %q, want %q", cfg.Username, tc.user)
			}
		})
	}
	if _, err := PullSecretsKeychain([]corev1.Secret{{Type: corev1.SecretTypeOpaque}}); err == nil {
		t.Error("an Opaque secret is not a pull secret")
	}
}

func nameRepository(s string) (name.Repository, error) { return name.NewRepository(s) }
