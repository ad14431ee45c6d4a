package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
)

// PID is the server process's ID, for reading /proc/PID (resident memory, open files).
func (g *IRSAGuard) PID() int { return g.cmd.Process.Pid }

// Kill ends the server with SIGKILL, as the OOM killer or a lost node does: no drain, no graceful
// shutdown, connections cut. The webhook configurations stay registered, so the API server keeps
// calling a port nobody listens on. Restart brings the server back.
func (g *IRSAGuard) Kill() error {
	if g == nil || g.cmd == nil {
		return errors.New("irsa-guard is not running")
	}
	if err := g.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("kill irsa-guard: %w", err)
	}
	<-g.exited
	return nil
}

// Restart starts the server again after it exited (Kill), with the same arguments, ports,
// certificate and credentials, as the kubelet restarts a container, and waits for /readyz. The log
// continues in LogFile.
func (g *IRSAGuard) Restart(ctx context.Context) error {
	if exited, _ := g.Exited(); !exited {
		return errors.New("restart: irsa-guard is still running")
	}
	return g.start(ctx, g.cmd.Path, g.cmd.Args[1:], g.cmd.Env)
}

// start runs the binary at path with args and env, appending to LogFile, and waits for /readyz on the
// --health-probe-bind-address port in args.
func (g *IRSAGuard) start(ctx context.Context, path string, args, env []string) error {
	health := ""
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--health-probe-bind-address="); ok {
			health = v
		}
	}
	if !strings.HasPrefix(health, ":") {
		return fmt.Errorf("no --health-probe-bind-address=:PORT in %q", args)
	}
	logFile, err := os.OpenFile(g.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()
	cmd := exec.Command(path, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", path, err)
	}
	g.cmd, g.exited, g.waitErr = cmd, make(chan struct{}), nil
	exited := g.exited
	go func() {
		err := cmd.Wait()
		g.waitErr = err
		close(exited)
	}()
	return g.waitReady(ctx, "http://127.0.0.1"+health+"/readyz")
}
