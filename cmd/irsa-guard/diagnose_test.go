package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/irsa-guard/irsa-guard/config"
)

func TestEKSFromKubeconfig(t *testing.T) {
	raw := clientcmdapi.Config{
		Contexts: map[string]*clientcmdapi.Context{
			"arn":  {Cluster: "arn:aws:eks:eu-central-1:444455556666:cluster/prod", AuthInfo: "arn"},
			"exec": {Cluster: "kind", AuthInfo: "exec"},
			"kind": {Cluster: "kind", AuthInfo: "kind"},
		},
		AuthInfos: map[string]*clientcmdapi.AuthInfo{
			"arn":  {},
			"exec": {Exec: &clientcmdapi.ExecConfig{Command: "aws", Args: []string{"--region", "us-west-2", "eks", "get-token", "--cluster-name", "staging"}}},
			"kind": {},
		},
	}
	for _, c := range []struct {
		ctx  string
		set  config.Cluster
		want config.Cluster
	}{
		{"arn", config.Cluster{}, config.Cluster{Name: "prod", Region: "eu-central-1", Account: "444455556666"}},
		{"exec", config.Cluster{}, config.Cluster{Name: "staging", Region: "us-west-2"}},
		{"kind", config.Cluster{}, config.Cluster{}},
		{"missing", config.Cluster{}, config.Cluster{}},
		// Flags win, and an account is not taken from a cluster the flags did not name.
		{"arn", config.Cluster{Name: "other", Region: "us-east-1"}, config.Cluster{Name: "other", Region: "us-east-1"}},
	} {
		got := c.set
		eksFromKubeconfig(raw, c.ctx, &got)
		if got != c.want {
			t.Errorf("context %q over %+v: got %+v, want %+v", c.ctx, c.set, got, c.want)
		}
	}
}

func TestDiagnoseObjectName(t *testing.T) {
	s := &session{namespace: "default"}
	for arg, want := range map[string]string{"shop/cart": "shop/cart", "cart": "default/cart"} {
		ns, name, err := s.objectName(arg)
		if err != nil || ns+"/"+name != want {
			t.Errorf("%q: %s/%s, %v; want %s", arg, ns, name, err, want)
		}
	}
	for _, bad := range []string{"shop/", "/cart", "a/b/c", ""} {
		if _, _, err := s.objectName(bad); err == nil || exitCode(err) != 2 {
			t.Errorf("%q: %v, want a usage error", bad, err)
		}
	}
}

func TestDiagnoseBadInput(t *testing.T) {
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"diagnose"}, "name what to diagnose"},
		{[]string{"diagnose", "sa", "a/b", "-o", "yaml"}, `-o "yaml": use text or json`},
		{[]string{"diagnose", "sa", "a/b", "--probe", "--offline"}, "--probe asks STS itself"},
		{[]string{"diagnose", "sa", "a/b", "--probe", "--aws-state", "x.yaml"}, "--probe asks STS itself"},
		{[]string{"diagnose", "sa", "a/b", "--kubeconfig", kubeconfig}, "no usable Kubernetes cluster in the kubeconfig"},
		{[]string{"diagnose", "sa", "a/b", "--kubeconfig", kubeconfig + ".missing"}, "read the kubeconfig"},
		{[]string{"diagnose", "sa", "a/b", "--mode", "loud"}, "mode"},
	} {
		_, code, msg := runCLI(t, "", c.args...)
		if code != 2 || !strings.Contains(msg, c.want) {
			t.Errorf("%v: exit %d %q, want exit 2 with %q", c.args, code, msg, c.want)
		}
	}
}
