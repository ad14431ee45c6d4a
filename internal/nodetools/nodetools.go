// Package nodetools gives tests the npm packages of hack/node-tools (the AWS CDK and the SARIF
// multitool), installed once into the git-ignored .cache/ by hack/node-tools.sh, and synthesizes
// CDK apps with them, caching each synthesized template by the app's content. Test tooling only:
// never imported by the binary.
package nodetools

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// Root is the repository root, from this file's place in it.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

var (
	installOnce sync.Once
	installDir  string
	installErr  error
)

// Dir is the folder holding node_modules. A test is skipped, saying so, only when npm is not
// installed; any other failure to install fails it.
func Dir(t testing.TB) string {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm is not installed: this test needs the npm registry's packages of hack/node-tools (apt-get install npm)")
	}
	installOnce.Do(func() {
		cmd := exec.Command("bash", filepath.Join(Root(), "hack", "node-tools.sh"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			installErr = fmt.Errorf("hack/node-tools.sh: %w\n%s", err, stderr.String())
			return
		}
		installDir = strings.TrimSpace(string(out))
	})
	if installErr != nil {
		t.Fatal(installErr)
	}
	return installDir
}

// Multitool is the SARIF multitool's executable; the test is skipped where its npm package has no
// build for this platform (it ships Linux, macOS and Windows builds under separate packages).
func Multitool(t testing.TB) string {
	t.Helper()
	path := filepath.Join(Dir(t), "node_modules", "@microsoft", "sarif-multitool-linux", "Sarif.Multitool")
	if _, err := os.Stat(path); err != nil {
		t.Skipf("the SARIF multitool is not installed for %s/%s (hack/node-tools installs the linux build)", runtime.GOOS, runtime.GOARCH)
	}
	return path
}

var synthMu sync.Mutex

// Synth runs the CDK app app (a JavaScript file; node receives the output folder as its first
// argument) and returns the path of stack's synthesized template. The output is cached under the
// node-tools folder by the hash of the app and the installed packages, so an app is synthesized
// once, not once per test run.
func Synth(t testing.TB, app, stack string) string {
	t.Helper()
	dir := Dir(t)
	src, err := os.ReadFile(app)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(append(src, filepath.Base(dir)...)) // the lockfile's hash, not where the repository is
	out := filepath.Join(dir, "synth", hex.EncodeToString(sum[:8]))
	template := filepath.Join(out, stack+".template.json")
	synthMu.Lock()
	defer synthMu.Unlock()
	if _, err := os.Stat(template); err == nil {
		return template
	}
	tmp := fmt.Sprintf("%s.tmp%d", out, os.Getpid()) // test packages run in parallel processes
	defer os.RemoveAll(tmp)
	abs, err := filepath.Abs(app)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", abs, tmp)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(dir, "node_modules"), "CDK_DISABLE_VERSION_CHECK=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node %s: %v\n%s", app, err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		if _, statErr := os.Stat(template); statErr != nil { // not another process's synth of the same app
			t.Fatal(err)
		}
	}
	return template
}
