package testenv

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// piwUser is the identity the real webhook authenticates as; piwRBAC grants it what upstream's
// deploy/auth.yaml grants for out-of-cluster certificates: reading ServiceAccounts.
const piwUser = "pod-identity-webhook"

var piwRBAC = "irsa-guard-e2e:" + piwUser

// realPIW is the real webhook's process and what was started for it.
type realPIW struct {
	url, logFile, associations string
	env                        *Env
	imds                       *imdsServer
	cmd                        *exec.Cmd
	done                       chan struct{}
	waitErr                    error
}

// startRealPIW runs bin out of cluster as o describes, serving envtest's webhook certificate (valid
// for 127.0.0.1) on a free loopback port, as EKS serves it on https://127.0.0.1:23443/mutate, and
// waits until it answers /healthz.
func startRealPIW(ctx context.Context, env *Env, o PodIdentityWebhookOptions, bin string) (r *realPIW, err error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	r = &realPIW{env: env, url: fmt.Sprintf("https://127.0.0.1:%d/mutate", ports[0]),
		logFile: filepath.Join(o.Dir, "pod-identity-webhook.log"), associations: filepath.Join(o.Dir, "pod-identity-associations.json")}
	defer func() {
		if err != nil {
			_ = r.stop(context.Background())
		}
	}()
	if err := r.grantRBAC(ctx); err != nil {
		return r, err
	}
	kubeconfig, err := env.KubeconfigFor(piwUser)
	if err != nil {
		return r, err
	}
	if err := r.writeAssociations(o.PodIdentityAssociations); err != nil {
		return r, err
	}
	args := []string{
		"--in-cluster=false", "--kubeconfig=" + kubeconfig,
		"--tls-cert=" + filepath.Join(env.Webhook.CertDir, "tls.crt"), "--tls-key=" + filepath.Join(env.Webhook.CertDir, "tls.key"),
		"--port=" + strconv.Itoa(ports[0]), "--metrics-port=" + strconv.Itoa(ports[1]),
		"--sts-regional-endpoint=" + strconv.FormatBool(o.RegionalSTS),
		"--watch-container-credentials-config=" + r.associations,
		"--v=4", // skipped containers and unparsable annotations are logged at 4
	}
	if o.TokenAudience != "" {
		args = append(args, "--token-audience="+o.TokenAudience)
	}
	if o.DefaultRegion != "" {
		args = append(args, "--aws-default-region="+o.DefaultRegion)
	}
	if o.AnnotationPrefix != "" {
		args = append(args, "--annotation-prefix="+o.AnnotationPrefix)
	}
	// cleanEnviron drops AWS_*; the webhook only ever asks instance metadata, and only for --compose-role-arn.
	environ := append(cleanEnviron(), "AWS_EC2_METADATA_DISABLED=true")
	if o.ComposeRoleARN != nil {
		if r.imds, err = startIMDS(*o.ComposeRoleARN); err != nil {
			return r, err
		}
		args = append(args, "--compose-role-arn")
		environ = append(cleanEnviron(), "AWS_EC2_METADATA_SERVICE_ENDPOINT="+r.imds.URL)
	}
	log, err := os.Create(r.logFile)
	if err != nil {
		return r, err
	}
	defer log.Close()
	r.cmd = exec.Command(bin, args...)
	r.cmd.Env = environ // keeps the reaper's owner mark
	r.cmd.Stdout, r.cmd.Stderr = log, log
	if err := r.cmd.Start(); err != nil {
		return r, fmt.Errorf("start %s: %w", bin, err)
	}
	r.done = make(chan struct{})
	go func() {
		r.waitErr = r.cmd.Wait()
		close(r.done)
	}()
	return r, r.waitHealthy(ctx, fmt.Sprintf("https://127.0.0.1:%d/healthz", ports[0]))
}

// waitHealthy polls /healthz over TLS with the CA the API server will use, so the certificate is
// checked the same way.
func (r *realPIW) waitHealthy(ctx context.Context, healthz string) error {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(r.env.Webhook.CAData)
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, healthz, nil)
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-r.done:
			return fmt.Errorf("pod-identity-webhook exited before it was healthy (%w); its log ends:\n%s", r.waitErr, tailFile(r.logFile, 20))
		case <-ctx.Done():
			return fmt.Errorf("pod-identity-webhook not healthy at %s within 30s (%w); its log ends:\n%s", healthz, err, tailFile(r.logFile, 20))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// writeAssociations replaces the association file in one rename, so the webhook never reads half of it.
func (r *realPIW) writeAssociations(assocs []PodIdentityAssociation) error {
	if assocs == nil {
		assocs = []PodIdentityAssociation{}
	}
	data, err := json.Marshal(map[string][]PodIdentityAssociation{"identities": assocs})
	if err != nil {
		return err
	}
	tmp := r.associations + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, r.associations)
}

// grantRBAC binds piwUser to a ClusterRole that reads ServiceAccounts.
func (r *realPIW) grantRBAC(ctx context.Context) error {
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: piwRBAC}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"serviceaccounts"}, Verbs: []string{"get", "list", "watch"}},
	}}
	binding := &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: piwRBAC},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: piwRBAC},
		Subjects: []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: piwUser}}}
	_, err := r.env.Clientset.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{})
	if err == nil || apierrors.IsAlreadyExists(err) {
		_, err = r.env.Clientset.RbacV1().ClusterRoleBindings().Create(ctx, binding, metav1.CreateOptions{})
	}
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("grant %s RBAC to read ServiceAccounts: %w", piwUser, err)
	}
	return nil
}

// exited reports whether the process has exited on its own, and how. Nil-safe: the stand-in has none.
func (r *realPIW) exited() (bool, error) {
	if r == nil || r.done == nil {
		return false, nil
	}
	select {
	case <-r.done:
		return true, r.waitErr
	default:
		return false, nil
	}
}

// stop stops the process with SIGTERM (SIGKILL after upstream's 10 s drain and a margin), then removes
// the RBAC and the metadata stand-in. A process that had already exited is reported as an error.
func (r *realPIW) stop(ctx context.Context) error {
	var errs []error
	if r.cmd != nil && r.done != nil {
		if exited, err := r.exited(); exited {
			errs = append(errs, fmt.Errorf("pod-identity-webhook exited before Stop (%w); its log ends:\n%s", err, tailFile(r.logFile, 20)))
		} else {
			_ = r.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-r.done:
			case <-time.After(15 * time.Second):
				_ = r.cmd.Process.Kill()
				<-r.done
				errs = append(errs, errors.New("pod-identity-webhook ignored SIGTERM for 15s; killed"))
			}
		}
	}
	for _, err := range []error{
		r.imds.Close(),
		r.env.Clientset.RbacV1().ClusterRoleBindings().Delete(ctx, piwRBAC, metav1.DeleteOptions{}),
		r.env.Clientset.RbacV1().ClusterRoles().Delete(ctx, piwRBAC, metav1.DeleteOptions{}),
	} {
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
