package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/irsa-guard/irsa-guard/diagnose"
	"github.com/irsa-guard/irsa-guard/review"
)

func newDiagnoseClusterCommand(o *diagnoseOptions) *cobra.Command {
	var from auditOptions
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Diagnose every ServiceAccount with an IRSA annotation and every pod that uses one, as a table",
		Long: `cluster diagnoses every ServiceAccount with an eks.amazonaws.com annotation (or a mistyped one) and
every pod that runs as one, in all namespaces (or -n NAMESPACE), and prints one line per subject,
worst first: the status and the first failing (or unverifiable) step. Pods of one ReplicaSet,
StatefulSet, DaemonSet or Job are diagnosed once, through their first pod. -o json prints every
subject's full diagnosis. Images are not scanned here: run diagnose pod for that.

--from-audit URL reads the same results from irsa-guard serve's background audit (GET /audit on its
metrics port, as your kubeconfig user: it needs get on /audit) instead of asking AWS and the cluster
again; see docs/audit.md for reaching it with kubectl port-forward.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var results []diagnose.Result
			if from.url != "" {
				if err := o.flags.Load(); err != nil {
					return usageErrorf("%v", err)
				}
				if o.output != "text" && o.output != "json" {
					return usageErrorf("-o %q: use text or json", o.output)
				}
				rs, snap, err := o.fromAudit(cmd.Context(), from)
				if err != nil {
					return err
				}
				results = rs
				auditHeader(cmd.ErrOrStderr(), snap)
			} else {
				s, err := o.open(cmd.Context())
				if err != nil {
					return err
				}
				if results, err = s.diagnoseCluster(cmd.Context()); err != nil {
					return err
				}
			}
			var err error
			if o.output == "json" {
				err = writeIndentedJSON(cmd.OutOrStdout(), results)
			} else {
				err = diagnose.Printer{W: cmd.OutOrStdout(), Color: useColor(cmd.OutOrStdout())}.Table(results)
			}
			if err != nil {
				return err
			}
			for _, r := range results {
				if r.Status() == diagnose.StatusFail {
					return errFindings
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&from.url, "from-audit", "", "read the results from irsa-guard serve's audit endpoint (https://.../audit) instead of recomputing them")
	cmd.Flags().StringVar(&from.ca, "audit-ca", "", "PEM CA to verify the audit endpoint with (the webhook configuration's caBundle); default the system roots")
	cmd.Flags().StringVar(&from.serverName, "audit-server-name", "", "name to verify the audit endpoint's certificate for (e.g. irsa-guard.irsa-guard.svc through a port-forward)")
	return cmd
}

// diagnoseCluster diagnoses the subjects of the namespace given with -n, or of all namespaces.
func (s *session) diagnoseCluster(ctx context.Context) ([]diagnose.Result, error) {
	var opts []client.ListOption
	if ns := s.o.overrides.Context.Namespace; ns != "" {
		opts = append(opts, client.InNamespace(ns))
	}
	var sas corev1.ServiceAccountList
	if err := s.reader.List(ctx, &sas, opts...); err != nil {
		return nil, s.listError("ServiceAccounts", err)
	}
	var pods corev1.PodList
	if err := s.reader.List(ctx, &pods, opts...); err != nil {
		return nil, s.listError("Pods", err)
	}
	irsa := map[types.NamespacedName]bool{}
	var results []diagnose.Result
	for i := range sas.Items {
		sa := &sas.Items[i]
		if !review.MentionsIRSA(sa.Annotations) {
			continue
		}
		irsa[types.NamespacedName{Namespace: sa.Namespace, Name: sa.Name}] = true
		results = append(results, s.timed(ctx, func(ctx context.Context) diagnose.Result { return s.diagnoseServiceAccount(ctx, sa) }))
	}
	seen := map[types.UID]int{} // controller UID -> index of its diagnosed pod in results
	more := map[int]int{}       // index in results -> pods of the same controller not diagnosed
	owners := map[int]*metav1.OwnerReference{}
	probe := s.o.probe
	s.o.probe = false // a pod's ServiceAccount was probed above
	defer func() { s.o.probe = probe }()
	for i := range pods.Items {
		pod := &pods.Items[i]
		if !irsa[types.NamespacedName{Namespace: pod.Namespace, Name: review.ServiceAccountName(pod)}] && !review.Injected(pod) {
			continue
		}
		owner := metav1.GetControllerOf(pod)
		if owner != nil {
			if at, ok := seen[owner.UID]; ok {
				more[at]++
				continue
			}
			seen[owner.UID], owners[len(results)] = len(results), owner
		}
		results = append(results, s.timed(ctx, func(ctx context.Context) diagnose.Result { return s.diagnosePod(ctx, pod, false) }))
	}
	for at, n := range more {
		owner := owners[at]
		results[at].Subject += fmt.Sprintf(" (and %d more of %s %s)", n, owner.Kind, owner.Name)
	}
	return results, nil
}

// timed runs one subject's diagnosis within --timeout.
func (s *session) timed(ctx context.Context, f func(context.Context) diagnose.Result) diagnose.Result {
	ctx, cancel := context.WithTimeout(ctx, s.o.timeout)
	defer cancel()
	return f(ctx)
}

func (s *session) listError(what string, err error) error {
	return &exitError{code: 2, err: fmt.Errorf("list %s in %s: %w (diagnose cluster needs list on serviceaccounts and pods)", what, s.restCfg.Host, err)}
}
