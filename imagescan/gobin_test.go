package imagescan

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// goModules are the AWS SDK modules a test binary links, path -> version, and the package of
// each that the program imports.
var goModulePackage = map[string]string{
	"github.com/aws/aws-sdk-go":                "github.com/aws/aws-sdk-go/aws",
	"github.com/aws/aws-sdk-go-v2":             "github.com/aws/aws-sdk-go-v2/aws",
	"github.com/aws/aws-sdk-go-v2/config":      "github.com/aws/aws-sdk-go-v2/config",
	"github.com/aws/aws-sdk-go-v2/credentials": "github.com/aws/aws-sdk-go-v2/credentials",
}

// buildGoBinary compiles a real Go program whose build info lists the modules at the given
// versions. Each module is a local stub reached through a replace directive: the build info
// then records the required version (the replacement, a directory, has none), which is exactly
// what a binary built against the real module records. That needs no network and no vendored
// SDK, and builds in about a second; requiring the real, old SDK versions would download
// hundreds of megabytes of SDK source for the same bytes in the build info.
func buildGoBinary(t testing.TB, mods map[string]string) []byte {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command on PATH")
	}
	dir := t.TempDir()
	gomod := "module example.com/app\n\ngo 1.22\n"
	main := "package main\n\nimport (\n"
	i := 0
	for mod, version := range mods {
		pkg := goModulePackage[mod]
		stub := filepath.Join(dir, "stub", fmt.Sprint(i))
		pkgDir := filepath.Join(stub, strings.TrimPrefix(pkg, mod))
		write(t, filepath.Join(stub, "go.mod"), "module "+mod+"\n\ngo 1.22\n")
		write(t, filepath.Join(pkgDir, "stub.go"), fmt.Sprintf("package %s\n\nfunc Name() string { return %q }\n", filepath.Base(pkg), pkg))
		gomod += fmt.Sprintf("require %s %s\nreplace %s => ./stub/%d\n", mod, version, mod, i)
		main += fmt.Sprintf("\tm%d %q\n", i, pkg)
		i++
	}
	main += ")\n\nfunc main() {\n"
	for j := range i {
		main += fmt.Sprintf("\tprintln(m%d.Name())\n", j)
	}
	main += "}\n"
	write(t, filepath.Join(dir, "go.mod"), gomod)
	write(t, filepath.Join(dir, "main.go"), main)
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", "app", ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off", "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(dir, "app"))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func write(t testing.TB, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestGoBinaries(t *testing.T) {
	old := buildGoBinary(t, map[string]string{
		"github.com/aws/aws-sdk-go":           "v1.23.12",
		"github.com/aws/aws-sdk-go-v2":        "v1.22.2",
		"github.com/aws/aws-sdk-go-v2/config": "v1.24.0",
	})
	recent := buildGoBinary(t, map[string]string{
		"github.com/aws/aws-sdk-go":           "v1.47.11",
		"github.com/aws/aws-sdk-go-v2":        "v1.22.2",
		"github.com/aws/aws-sdk-go-v2/config": "v1.25.0",
	})
	ownChain := buildGoBinary(t, map[string]string{"github.com/aws/aws-sdk-go-v2/credentials": "v1.15.2"})
	srv := registryServer(t)
	ref := push(t, srv, "go", layer(t, exe("old/app", old), exe("new/app", recent), exe("own/app", ownChain),
		text("usr/bin/notgo", "#!/bin/sh\necho hi\n"), exe("usr/bin/notgo2", []byte("\x7fELF garbage"))))
	rep := scan(t, ref, Options{})

	tests := map[string]struct {
		name, path    string
		version       string
		irsa, podID   Verdict
		podIDMinimum  string
		noteSubstring string
	}{
		"Go v1 below 1.23.13 is too old for both":            {"aws-sdk-go", "/old/app", "v1.23.12", VerdictTooOld, VerdictTooOld, minGoV1PI, ""},
		"Go v1 at the Pod Identity minimum works for both":   {"aws-sdk-go", "/new/app", "v1.47.11", VerdictOK, VerdictOK, minGoV1PI, ""},
		"Go v2 with config v1.24.0 is too old for Pod ID":    {"aws-sdk-go-v2", "/old/app", "v1.22.2", VerdictOK, VerdictTooOld, minGoV2ConfigPI, "config v1.24.0"},
		"Go v2 with config v1.25.0 works for Pod Identity":   {"aws-sdk-go-v2", "/new/app", "v1.22.2", VerdictOK, VerdictOK, minGoV2ConfigPI, ""},
		"Go v2 without config builds its own chain: unknown": {"aws-sdk-go-v2", "/own/app", "", VerdictUnknown, VerdictTooOld, minGoV2CredentialsPI, "builds its own"},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			s, ok := byName(rep, tc.name, tc.path)
			if !ok {
				t.Fatalf("%s not found at %s; report: %+v", tc.name, tc.path, rep.SDKs)
			}
			if s.Version != tc.version || s.IRSA.Verdict != tc.irsa || s.PodIdentity.Verdict != tc.podID || s.PodIdentity.Minimum != tc.podIDMinimum {
				t.Errorf("got %+v", s)
			}
			if !strings.Contains(s.PodIdentity.Note+s.IRSA.Note, tc.noteSubstring) {
				t.Errorf("notes %q / %q lack %q", s.IRSA.Note, s.PodIdentity.Note, tc.noteSubstring)
			}
		})
	}
	if len(rep.SDKs) != 5 {
		t.Errorf("want 5 SDKs, got %+v", rep.SDKs)
	}
}
