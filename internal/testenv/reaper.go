package testenv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// envtest starts etcd and kube-apiserver with Setpgid and gives no hook to set Pdeathsig, so a test
// binary killed with SIGKILL (or by `go test -timeout`) would leave them running. The reaper closes that
// gap without tracking PIDs: the suite exports ownerEnv=<pid>-<starttime> before envtest starts, every
// process it spawns (etcd, kube-apiserver, kubectl, an irsa-guard server) inherits it, and a watchdog
// child in its own process group kills whatever carries the token once the suite's pipe closes without
// the "done" line. A process is matched by that exact token, never by name, so concurrent suites in the
// same tree never touch each other's control planes.
const (
	// ownerEnv marks processes spawned by one suite run; its value identifies the owning process.
	ownerEnv = "IRSA_GUARD_E2E_OWNER"
	// watchdogEnv switches the re-executed test binary into watchdog mode.
	watchdogEnv = "IRSA_GUARD_E2E_WATCHDOG"
	// runDirPrefix names the per-run TMPDIR, suffixed with the owner token.
	runDirPrefix = "irsa-guard-e2e-"
	doneLine     = "done"
)

// ownerToken identifies a process across PID reuse: its PID plus its start time in clock ticks.
func ownerToken(pid int) (string, error) {
	start, err := processStart(pid)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%d-%s", pid, start), nil
}

// processStart returns field 22 of /proc/<pid>/stat (starttime); comm may contain spaces, so the
// fields are counted after its closing parenthesis.
func processStart(pid int) (string, error) {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return "", err
	}
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return "", fmt.Errorf("parse /proc/%d/stat: no comm field", pid)
	}
	fields := strings.Fields(string(stat[i+1:]))
	if len(fields) < 20 {
		return "", fmt.Errorf("parse /proc/%d/stat: %d fields after comm, want >= 20", pid, len(fields))
	}
	return fields[19], nil
}

// ownerAlive reports whether the process named by token still runs (same PID and start time).
func ownerAlive(token string) bool {
	pidText, start, ok := strings.Cut(token, "-")
	pid, err := strconv.Atoi(pidText)
	if !ok || err != nil {
		return false
	}
	got, err := processStart(pid)
	return err == nil && got == start
}

// ownedProcesses lists the processes whose environment holds ownerEnv, keyed by PID, with its value.
func ownedProcesses() map[int]string {
	owned := map[int]string{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return owned
	}
	prefix := []byte(ownerEnv + "=")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		environ, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue // exited, or not ours to read
		}
		for _, kv := range bytes.Split(environ, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, prefix); ok {
				owned[pid] = string(v)
			}
		}
	}
	return owned
}

// reap stops every process carrying one of the tokens (SIGTERM, then SIGKILL after grace) and removes
// the tokens' run directories. It returns how many processes it signalled.
func reap(tokens map[string]bool, grace time.Duration) int {
	var victims []int
	for pid, token := range ownedProcesses() {
		if tokens[token] {
			victims = append(victims, pid)
		}
	}
	for _, pid := range victims {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(grace)
	for _, pid := range victims {
		for time.Now().Before(deadline) && syscall.Kill(pid, 0) == nil && !zombie(pid) {
			time.Sleep(50 * time.Millisecond)
		}
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
	for token := range tokens {
		_ = os.RemoveAll(filepath.Join(os.TempDir(), runDirPrefix+token))
	}
	return len(victims)
}

// zombie reports whether pid has exited but not been waited for; it cannot be signalled usefully.
func zombie(pid int) bool {
	stat, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	return i > 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// sweepOrphans reaps processes and run directories left by earlier suite runs whose owner has died.
func sweepOrphans() int {
	dead := map[string]bool{}
	for _, token := range ownedProcesses() {
		if !ownerAlive(token) {
			dead[token] = true
		}
	}
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), runDirPrefix+"*"))
	for _, dir := range dirs {
		if token := strings.TrimPrefix(filepath.Base(dir), runDirPrefix); !ownerAlive(token) {
			dead[token] = true
		}
	}
	if len(dead) == 0 {
		return 0
	}
	return reap(dead, 5*time.Second)
}

// watchdog is the suite's handle on its reaper child.
type watchdog struct {
	pipe *os.File
	cmd  *exec.Cmd
}

// startWatchdog re-executes the test binary in watchdog mode, in its own process group so a signal to
// the suite's group does not take it down too. Its environment omits ownerEnv so it never reaps itself.
func startWatchdog(token string) (*watchdog, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the test binary to run the watchdog: %w", err)
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("create the watchdog pipe: %w", err)
	}
	defer r.Close()
	cmd := exec.Command(self, "-test.run=^$")
	cmd.Env = append(withoutOwner(os.Environ()), watchdogEnv+"="+token)
	cmd.ExtraFiles = []*os.File{r} // fd 3 in the child
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start the watchdog: %w", err)
	}
	return &watchdog{pipe: w, cmd: cmd}, nil
}

// release tells the watchdog the suite cleaned up after itself, and waits for it to exit.
func (w *watchdog) release() {
	_, _ = io.WriteString(w.pipe, doneLine+"\n")
	_ = w.pipe.Close()
	_ = w.cmd.Wait()
}

// abandon closes the pipe without "done" and waits while the watchdog reaps this run's processes.
func (w *watchdog) abandon() {
	_ = w.pipe.Close()
	_ = w.cmd.Wait()
}

// runWatchdog is the watchdog child's whole life: block until the suite's end of the pipe closes (the
// kernel closes it however the suite dies), then reap the suite's processes unless it said "done".
func runWatchdog(token string) int {
	pipe := os.NewFile(3, "watchdog-pipe")
	done := false
	scanner := bufio.NewScanner(pipe)
	for scanner.Scan() {
		done = done || scanner.Text() == doneLine
	}
	if err := scanner.Err(); err != nil && !errors.Is(err, os.ErrClosed) {
		fmt.Fprintf(os.Stderr, "e2e watchdog: read pipe: %v\n", err)
	}
	if done {
		return 0
	}
	if n := reap(map[string]bool{token: true}, 5*time.Second); n > 0 {
		fmt.Fprintf(os.Stderr, "e2e watchdog: the suite died; stopped %d leftover processes\n", n)
	}
	return 0
}

// withoutOwner returns environ without ownerEnv.
func withoutOwner(environ []string) []string {
	out := environ[:0:0]
	for _, kv := range environ {
		if !strings.HasPrefix(kv, ownerEnv+"=") {
			out = append(out, kv)
		}
	}
	return out
}
