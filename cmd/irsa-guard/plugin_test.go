package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"testing"
	"text/template"

	"sigs.k8s.io/yaml"
)

// TestKrewManifest renders .krew.yaml the way krew-release-bot does on a release
// (https://github.com/rajatjindal/krew-release-bot: TagName, and addURIAndSha writing "uri:" and
// "sha256:" lines indented for a platform) and checks it is the plugin krew expects: the binary
// every archive of `make dist` holds, for each platform it builds.
func TestKrewManifest(t *testing.T) {
	text, err := os.ReadFile("../../.krew.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const tag = "v1.2.3"
	var uris []string
	tmpl, err := template.New("krew").Funcs(template.FuncMap{
		"addURIAndSha": func(uri, tag string) string {
			uri = strings.ReplaceAll(uri, "{{ .TagName }}", tag)
			uris = append(uris, uri)
			return fmt.Sprintf("uri: %s\n    sha256: %s", uri, strings.Repeat("a1", 32))
		},
	}).Parse(string(text))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := tmpl.Execute(&out, map[string]string{"TagName": tag}); err != nil {
		t.Fatal(err)
	}
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Spec struct {
			Version          string `json:"version"`
			ShortDescription string `json:"shortDescription"`
			Description      string `json:"description"`
			Homepage         string `json:"homepage"`
			Platforms        []struct {
				Selector struct {
					MatchLabels map[string]string `json:"matchLabels"`
				} `json:"selector"`
				URI    string `json:"uri"`
				Sha256 string `json:"sha256"`
				Bin    string `json:"bin"`
			} `json:"platforms"`
		} `json:"spec"`
	}
	if err := yaml.UnmarshalStrict(out.Bytes(), &m); err != nil {
		t.Fatalf("rendered manifest: %v\n%s", err, out.String())
	}
	if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" || m.Metadata.Name != "irsa-guard" ||
		m.Spec.Version != tag || m.Spec.ShortDescription == "" {
		t.Errorf("manifest header: %+v", m)
	}
	if len(m.Spec.Platforms) != 4 || len(uris) != 4 {
		t.Fatalf("want the 4 platforms make dist builds, got %d", len(m.Spec.Platforms))
	}
	for _, p := range m.Spec.Platforms {
		os, arch := p.Selector.MatchLabels["os"], p.Selector.MatchLabels["arch"]
		want := fmt.Sprintf("https://github.com/irsa-guard/irsa-guard/releases/download/%s/irsa-guard_%s_%s.tar.gz", tag, os, arch)
		// kubectl finds a plugin named irsa-guard as kubectl-irsa_guard on PATH.
		if p.URI != want || p.Bin != "kubectl-irsa_guard" || len(p.Sha256) != 64 {
			t.Errorf("platform %s/%s: uri %q bin %q; want %q and kubectl-irsa_guard", os, arch, p.URI, p.Bin, want)
		}
	}
}
