package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// fakeRelease serves a release the way GitHub serves irsa-guard's (hack/install-release.sh):
// VERSION/irsa-guard-OS-ARCH and its .sha256, here a script that prints its arguments. A
// non-empty badSum is served as the checksum instead of the real one.
func fakeRelease(t *testing.T, version, badSum string) string {
	t.Helper()
	bin := []byte("#!/bin/sh\necho \"fake irsa-guard " + version + ": $*\"\n")
	sum := sha256.Sum256(bin)
	checksum := hex.EncodeToString(sum[:])
	if badSum != "" {
		checksum = badSum
	}
	name := fmt.Sprintf("irsa-guard-%s-%s", runtime.GOOS, runtime.GOARCH)
	mux := http.NewServeMux()
	mux.HandleFunc("/"+version+"/"+name, func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(bin) })
	mux.HandleFunc("/"+version+"/"+name+".sha256", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "%s  %s\n", checksum, name)
	})
	srv := httptest.NewServer(mux) // loopback only
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestInstallRelease(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("releases are built for Linux and macOS")
	}
	run := func(base string, args ...string) (string, error) {
		cmd := exec.Command("bash", append([]string{"../../hack/install-release.sh"}, args...)...)
		cmd.Env = append(os.Environ(), "IRSA_GUARD_RELEASES="+base, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	t.Run("downloads, checks and installs", func(t *testing.T) {
		dir := t.TempDir()
		out, err := run(fakeRelease(t, "v1.2.3", ""), "v1.2.3", dir)
		if err != nil || strings.TrimSpace(out) != filepath.Join(dir, "irsa-guard") {
			t.Fatalf("%v: %s", err, out)
		}
		got, err := exec.Command(filepath.Join(dir, "irsa-guard"), "lint").Output()
		if err != nil || string(got) != "fake irsa-guard v1.2.3: lint\n" {
			t.Fatalf("installed binary: %v %q", err, got)
		}
	})
	t.Run("a checksum mismatch installs nothing", func(t *testing.T) {
		dir := t.TempDir()
		out, err := run(fakeRelease(t, "v1.2.3", strings.Repeat("0", 64)), "v1.2.3", dir)
		if err == nil || !strings.Contains(out, "has SHA-256") {
			t.Fatalf("want a checksum error, got %v: %s", err, out)
		}
		if _, err := os.Stat(filepath.Join(dir, "irsa-guard")); err == nil {
			t.Fatal("installed a binary whose checksum does not match")
		}
	})
	t.Run("a version that is not a release tag", func(t *testing.T) {
		out, err := run("http://127.0.0.1:1", "main", t.TempDir())
		if err == nil || !strings.Contains(out, `version "main" is not a release tag such as v1.2.3`) {
			t.Fatalf("%v: %s", err, out)
		}
	})
	t.Run("the pre-commit hook installs once and passes pre-commit's arguments", func(t *testing.T) {
		cache := t.TempDir()
		base := fakeRelease(t, "v2.0.0", "")
		for range 2 {
			cmd := exec.Command("bash", "../../hack/pre-commit.sh", "lint", "--offline", "k8s/a.yaml", "k8s/b.yaml")
			cmd.Env = append(os.Environ(), "IRSA_GUARD_RELEASES="+base, "IRSA_GUARD_VERSION=v2.0.0", "XDG_CACHE_HOME="+cache, "NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost")
			out, err := cmd.CombinedOutput()
			if err != nil || string(out) != "fake irsa-guard v2.0.0: lint --offline k8s/a.yaml k8s/b.yaml\n" {
				t.Fatalf("%v: %q", err, out)
			}
		}
		if _, err := os.Stat(filepath.Join(cache, "irsa-guard", "v2.0.0", "irsa-guard")); err != nil {
			t.Fatal(err)
		}
	})
}

// TestCIDefinitions checks the action and the pre-commit hook point at what exists.
func TestCIDefinitions(t *testing.T) {
	var action struct {
		Inputs map[string]struct{ Required bool }
		Runs   struct {
			Using string
			Steps []struct{ Run string }
		}
	}
	data, err := os.ReadFile("../../action.yml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &action); err != nil {
		t.Fatal(err)
	}
	if action.Runs.Using != "composite" || !action.Inputs["version"].Required || !action.Inputs["args"].Required ||
		!strings.Contains(action.Runs.Steps[0].Run, "$GITHUB_ACTION_PATH/hack/install-release.sh") {
		t.Errorf("action.yml: %+v", action)
	}
	var hooks []struct{ ID, Entry, Language string }
	if data, err = os.ReadFile("../../.pre-commit-hooks.yaml"); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &hooks); err != nil {
		t.Fatal(err)
	}
	if len(hooks) != 1 || hooks[0].Language != "script" {
		t.Fatalf(".pre-commit-hooks.yaml: %+v", hooks)
	}
	script, _, _ := strings.Cut(hooks[0].Entry, " ")
	if st, err := os.Stat(filepath.Join("../..", script)); err != nil || st.Mode()&0o111 == 0 {
		t.Errorf("the hook's entry %s is not an executable script: %v", script, err)
	}
}

func TestLintTakesFileNamesAsArguments(t *testing.T) {
	out, code, _ := runCLI(t, "", "lint", "-o", "json", "--offline", "examples/good/orders-api.yaml", "examples/broken/irsa001-invalid-role-arn.yaml")
	if code != 1 || !strings.Contains(out, `"source": "examples/broken/irsa001-invalid-role-arn.yaml:1"`) {
		t.Fatalf("exit %d:\n%s", code, out)
	}
}
