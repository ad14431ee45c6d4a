package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// StartReplica starts another replica of g's server, as a Deployment with two replicas would: the
// same binary, arguments, files and identity, on ports of its own, reading the objects g applied. It
// registers no webhooks and removes nothing when stopped; stop it (Stop) before g.
func (g *IRSAGuard) StartReplica(ctx context.Context, name string) (*IRSAGuard, error) {
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	args := make([]string, len(g.Chart.Args))
	for i, a := range g.Chart.Args {
		a = strings.ReplaceAll(a, "=/etc/irsa-guard/", "="+g.MountDir+"/etc/irsa-guard/")
		switch flag, _, _ := strings.Cut(a, "="); flag {
		case "--webhook-port":
			a = fmt.Sprintf("%s=%d", flag, ports[0])
		case "--metrics-bind-address":
			a = fmt.Sprintf("%s=:%d", flag, ports[1])
		case "--health-probe-bind-address":
			a = fmt.Sprintf("%s=:%d", flag, ports[2])
		}
		args[i] = a
	}
	r := &IRSAGuard{LogFile: filepath.Join(g.opts.Dir, name+".log"), MetricsURL: fmt.Sprintf("https://127.0.0.1:%d/metrics", ports[1]),
		WebhookAddr: fmt.Sprintf("127.0.0.1:%d", ports[0]), MountDir: g.MountDir, Chart: g.Chart, env: g.env, exited: make(chan struct{}),
		opts: g.opts, kubeconfig: g.kubeconfig, reader: g.reader, replica: true}
	logFile, err := os.Create(r.LogFile)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	r.cmd = exec.Command(g.opts.Binary, args...)
	r.cmd.Env = append(append(cleanEnviron(), "KUBECONFIG="+g.kubeconfig), g.opts.AWS.Env()...)
	r.cmd.Stdout, r.cmd.Stderr = logFile, logFile
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", g.opts.Binary, err)
	}
	go func() {
		r.waitErr = r.cmd.Wait()
		close(r.exited)
	}()
	if err := r.waitReady(ctx, fmt.Sprintf("http://127.0.0.1:%d/readyz", ports[2])); err != nil {
		r.Stop()
		return nil, err
	}
	return r, nil
}

// stopReplica stops a replica's process the way the kubelet would, and leaves the chart's objects.
func (g *IRSAGuard) stopReplica() {
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
	case <-time.After(15 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.exited
	}
	g.cmd = nil
}
