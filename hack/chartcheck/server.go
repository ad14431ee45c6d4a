package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/pflag"

	"github.com/irsa-guard/irsa-guard/config"
)

// deployment is the part of the rendered Deployment and ConfigMap this check reads.
type deployment struct {
	Kind string            `json:"kind"`
	Data map[string]string `json:"data"`
	Spec struct {
		Template struct {
			Spec struct {
				Containers []struct {
					Args  []string `json:"args"`
					Ports []struct {
						Name          string `json:"name"`
						ContainerPort int    `json:"containerPort"`
					} `json:"ports"`
					VolumeMounts []struct {
						Name      string `json:"name"`
						MountPath string `json:"mountPath"`
					} `json:"volumeMounts"`
				} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// checkServer starts nothing but does what `irsa-guard serve` does first with the chart's
// Deployment: parse its args with the server's own flag set, load the ConfigMap's config.yaml with
// the server's strict loader, validate, and compare the ports and mount paths with the options.
// A flag the binary does not know, a config key it rejects, or a port the probes do not hit fails here.
func checkServer(rendered []byte) error {
	var objs []deployment
	if err := decodeInto(rendered, &objs); err != nil {
		return err
	}
	var dep *deployment
	var configYAML string
	for i := range objs {
		switch objs[i].Kind {
		case "Deployment":
			dep = &objs[i]
		case "ConfigMap":
			configYAML = objs[i].Data["config.yaml"]
		}
	}
	if dep == nil || len(dep.Spec.Template.Spec.Containers) != 1 {
		return errors.New("want one Deployment with one container")
	}
	c := dep.Spec.Template.Spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		return fmt.Errorf("container args %v do not start with the serve subcommand", c.Args)
	}
	dir, err := os.MkdirTemp("", "chartcheck")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	// The config file lives where the chart mounts it; read it from a temp copy instead.
	args := make([]string, 0, len(c.Args)-1)
	var mountedConfig string
	for _, a := range c.Args[1:] {
		if v, ok := strings.CutPrefix(a, "--config="); ok {
			mountedConfig = v
			a = "--config=" + filepath.Join(dir, "config.yaml")
		}
		args = append(args, a)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(configYAML), 0o600); err != nil {
		return err
	}
	cfg := config.Default()
	fs := pflag.NewFlagSet("serve", pflag.ContinueOnError)
	flags := config.Bind(fs, cfg, config.SectionCluster, config.SectionAWS, config.SectionPolicy, config.SectionServer, config.SectionAudit)
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("the server rejects the chart's args %v: %w", args, err)
	}
	if err := flags.Load(); err != nil {
		return fmt.Errorf("the server rejects the chart's config.yaml or its settings: %w", err)
	}
	opts := cfg.Server
	ports := map[string]int{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	if ports["webhook"] != opts.WebhookPort {
		return fmt.Errorf("containerPort webhook %d differs from the server's webhook port %d", ports["webhook"], opts.WebhookPort)
	}
	for name, addr := range map[string]string{"health": opts.HealthAddr, "metrics": opts.MetricsAddr} {
		_, port, err := net.SplitHostPort(addr)
		if err != nil || port != strconv.Itoa(ports[name]) {
			return fmt.Errorf("containerPort %s %d differs from the server's address %q", name, ports[name], addr)
		}
	}
	mounts := map[string]string{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m.MountPath
	}
	if mounts["tls"] != opts.CertDir {
		return fmt.Errorf("the TLS Secret is mounted at %q but the server reads certificates from %q", mounts["tls"], opts.CertDir)
	}
	if filepath.Dir(mountedConfig) != mounts["config"] {
		return fmt.Errorf("--config=%s is not in the ConfigMap's mount %q", mountedConfig, mounts["config"])
	}
	return nil
}
