package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
)

// What amazon-eks-pod-identity-webhook injects and the names EKS registers it under
// (https://github.com/aws/amazon-eks-pod-identity-webhook/blob/3bf80a34/pkg/handler/handler.go,
// https://github.com/aws/amazon-eks-pod-identity-webhook/blob/3bf80a34/main.go).
const (
	PIWConfiguration = "pod-identity-webhook"
	PIWWebhook       = "iam-for-pods.amazonaws.com"
	PIWVolume        = "aws-iam-token"
	PIWMountPath     = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
	PIWSkipLabel     = "eks.amazonaws.com/skip-pod-identity-webhook"
	// EKS Pod Identity ("container credentials") mode, for ServiceAccounts with an association.
	PIWPodIdentityVolume    = "eks-pod-identity-token"
	PIWPodIdentityMountPath = "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount"
	PIWPodIdentityLabel     = "eks.amazonaws.com/pod-identity"
)

// Injector chooses which pod-identity-webhook StartPodIdentityWebhook runs.
type Injector string

const (
	// InjectorAuto runs the real webhook when its source is available (PIWSource) and otherwise the
	// stand-in, saying why. $IRSA_GUARD_PIW (PIWInjectorEnv) overrides it.
	InjectorAuto Injector = ""
	// InjectorReal builds and runs the real webhook; a missing source is an error wrapping ErrPIWSourceMissing.
	InjectorReal Injector = "real"
	// InjectorStandIn runs this package's stand-in, which shares irsa-guard's assumptions.
	InjectorStandIn Injector = "stand-in"
)

// PIWInjectorEnv, set to "real" or "stand-in", overrides InjectorAuto: CI sets "real" so a missing
// source fails the run instead of quietly testing against the stand-in.
const PIWInjectorEnv = "IRSA_GUARD_PIW"

// PodIdentityWebhookOptions are the real webhook's flags that matter to IRSA, and where it comes from.
// The stand-in honours RegionalSTS only; asking it for anything else is an error.
type PodIdentityWebhookOptions struct {
	// Root is the repository root: the source is looked for beside it and built into its .cache.
	// Default: the nearest directory above the working directory holding go.mod.
	Root     string
	Injector Injector
	// Dir receives the webhook's log and its Pod Identity association file; default a new temporary
	// directory (under the run directory in a suite, so the reaper removes it).
	Dir string
	// TokenAudience is --token-audience (upstream default sts.amazonaws.com).
	TokenAudience string
	// RegionalSTS is --sts-regional-endpoint: inject AWS_STS_REGIONAL_ENDPOINTS=regional.
	RegionalSTS bool
	// DefaultRegion is --aws-default-region: inject AWS_REGION and AWS_DEFAULT_REGION.
	DefaultRegion string
	// ComposeRoleARN, when set, is --compose-role-arn with a loopback instance metadata service
	// answering this identity: a bare role name expands to arn:<partition>:iam::<account>:role/<name>.
	ComposeRoleARN *InstanceIdentity
	// AnnotationPrefix is --annotation-prefix (upstream default eks.amazonaws.com).
	AnnotationPrefix string
	// PodIdentityAssociations are the ServiceAccounts with an EKS Pod Identity association at start;
	// SetPodIdentityAssociations changes them later.
	PodIdentityAssociations []PodIdentityAssociation
	// Logf receives the one line saying which injector runs and why (e.g. t.Logf); default: the logr
	// logger from the context.
	Logf func(format string, args ...any)
}

// PodIdentityAssociation names a ServiceAccount that has an EKS Pod Identity association. The real
// webhook reads them from the JSON file it watches
// (https://github.com/aws/amazon-eks-pod-identity-webhook/blob/3bf80a34/pkg/containercredentials/types.go).
type PodIdentityAssociation struct {
	Namespace      string `json:"namespace"`
	ServiceAccount string `json:"serviceAccount"`
}

// PodIdentityWebhook is a running pod-identity-webhook registered with the API server as EKS registers
// it: the real one built from source, or the stand-in.
type PodIdentityWebhook struct {
	// Real says the real webhook runs; About says which one runs and, for the stand-in, why.
	Real  bool
	About string
	// URL is where the API server calls it.
	URL string
	// LogFile is the real webhook's log ("" for the stand-in).
	LogFile string

	env        *Env
	registered bool
	probe      *corev1.ServiceAccount
	real       *realPIW
	standIn    *standInPIW
}

// StartPodIdentityWebhook starts the injector o.Injector chooses, registers it, and waits until a pod
// created through the API server gets credentials from it. Stop undoes everything. With InjectorAuto a
// missing source means the stand-in, logged through o.Logf; a source that fails to build is an error.
func StartPodIdentityWebhook(ctx context.Context, env *Env, o PodIdentityWebhookOptions) (p *PodIdentityWebhook, err error) {
	if o.Root == "" {
		if o.Root, err = repoRoot(); err != nil {
			return nil, err
		}
	}
	src, why, err := chooseInjector(o)
	if err != nil {
		return nil, err
	}
	if o.Dir == "" {
		if o.Dir, err = os.MkdirTemp("", "pod-identity-webhook-"); err != nil {
			return nil, err
		}
	}
	p = &PodIdentityWebhook{env: env}
	defer func() {
		if err != nil {
			_ = p.Stop()
			p = nil
		}
	}()
	if src != "" {
		bin, err := BuildPodIdentityWebhook(ctx, o.Root)
		if err != nil {
			return p, err // never the stand-in instead of a real webhook that does not build
		}
		p.Real, p.About = true, "the real amazon-eks-pod-identity-webhook, built from "+src
		if p.real, err = startRealPIW(ctx, env, o, bin); err != nil {
			return p, err
		}
		p.URL, p.LogFile = p.real.url, p.real.logFile
	} else {
		p.About = "the stand-in pod-identity-webhook (internal/testenv), because " + why
		if p.standIn, err = startStandInPIW(ctx, env, o); err != nil {
			return p, err
		}
		p.URL = p.standIn.url
	}
	if o.Logf != nil {
		o.Logf("pod-identity-webhook: %s", p.About)
	} else {
		logf.FromContext(ctx).Info("Started pod-identity-webhook", "injector", p.About)
	}
	if err := p.createProbe(ctx, o); err != nil {
		return p, err
	}
	return p, p.Register(ctx, nil)
}

// chooseInjector picks the real webhook (its source directory) or the stand-in (why it is used).
func chooseInjector(o PodIdentityWebhookOptions) (src, why string, err error) {
	mode, how := o.Injector, "asked for by the caller"
	if mode == InjectorAuto {
		mode, how = Injector(os.Getenv(PIWInjectorEnv)), "asked for by "+PIWInjectorEnv
	}
	switch mode {
	case InjectorStandIn:
		if need := o.needsReal(); need != "" {
			return "", "", fmt.Errorf("the stand-in pod-identity-webhook was %s, but %s", how, need)
		}
		return "", how, nil
	case InjectorAuto, InjectorReal:
		src, err := PIWSource(o.Root)
		switch {
		case err == nil:
			return src, "", nil
		case mode == InjectorReal || !errors.Is(err, ErrPIWSourceMissing):
			return "", "", err
		case o.needsReal() != "":
			return "", "", fmt.Errorf("%w, and %s", err, o.needsReal())
		}
		return "", err.Error(), nil
	}
	return "", "", fmt.Errorf("%s=%q: want %q or %q", PIWInjectorEnv, mode, InjectorReal, InjectorStandIn)
}

// needsReal names the first option the stand-in does not implement, "" if it can stand in.
func (o PodIdentityWebhookOptions) needsReal() string {
	switch {
	case o.TokenAudience != "":
		return "the stand-in has no --token-audience"
	case o.DefaultRegion != "":
		return "the stand-in has no --aws-default-region"
	case o.ComposeRoleARN != nil:
		return "the stand-in has no --compose-role-arn"
	case o.AnnotationPrefix != "":
		return "the stand-in has no --annotation-prefix"
	case len(o.PodIdentityAssociations) > 0:
		return "the stand-in has no EKS Pod Identity associations"
	}
	return ""
}

// Configuration is the MutatingWebhookConfiguration as EKS registers pod-identity-webhook (by URL on
// loopback, as EKS calls https://127.0.0.1:23443/mutate, with envtest's serving CA): pods CREATE,
// failurePolicy Ignore (a failing webhook admits pods uninjected), reinvocationPolicy IfNeeded, and
// the objectSelector of upstream's deploy/mutatingwebhook.yaml that lets a pod opt out by label.
func (p *PodIdentityWebhook) Configuration() *admissionregistrationv1.MutatingWebhookConfiguration {
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: PIWConfiguration},
		Webhooks: []admissionregistrationv1.MutatingWebhook{{
			Name:         PIWWebhook,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: ptr.To(p.URL), CABundle: p.env.Webhook.CAData},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"}, Resources: []string{"pods"}},
			}},
			ObjectSelector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
				{Key: PIWSkipLabel, Operator: metav1.LabelSelectorOpDoesNotExist},
			}},
			FailurePolicy:           ptr.To(admissionregistrationv1.Ignore),
			ReinvocationPolicy:      ptr.To(admissionregistrationv1.IfNeededReinvocationPolicy),
			SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{admissionv1.SchemeGroupVersion.Version},
		}},
	}
}

// Register creates (or replaces) the webhook configuration, after edit (nil: none) changed its one
// webhook, e.g. to give it a namespaceSelector. Unedited, it waits until the API server calls the
// webhook again; edited, the caller knows what to wait for (see WaitFor).
func (p *PodIdentityWebhook) Register(ctx context.Context, edit func(*admissionregistrationv1.MutatingWebhook)) error {
	cfg := p.Configuration()
	if edit != nil {
		edit(&cfg.Webhooks[0])
	}
	p.registered = true
	if err := p.env.InstallWebhooks(ctx, []*admissionregistrationv1.MutatingWebhookConfiguration{cfg}, nil); err != nil {
		return err
	}
	if edit != nil {
		return nil
	}
	_, err := p.WaitFor(ctx, p.probe.Namespace, p.probe.Name, func(pod *corev1.Pod) bool { return InjectedRoleARN(pod) != "" })
	if err != nil {
		return fmt.Errorf("pod-identity-webhook registered but not injecting: %w%s", err, p.logTail())
	}
	return nil
}

// Unregister deletes the webhook configuration, as on a cluster without pod-identity-webhook; the
// server keeps running for a later Register.
func (p *PodIdentityWebhook) Unregister(ctx context.Context) error {
	p.registered = false
	cfg := &admissionregistrationv1.MutatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: PIWConfiguration}}
	if err := p.env.Client.Delete(ctx, cfg); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete the pod-identity-webhook configuration: %w", err)
	}
	return nil
}

// SetPodIdentityAssociations replaces the ServiceAccounts with an EKS Pod Identity association; the
// real webhook picks the file up within about a second (WaitFor tells when).
func (p *PodIdentityWebhook) SetPodIdentityAssociations(assocs []PodIdentityAssociation) error {
	if p.real == nil {
		return errors.New("the stand-in pod-identity-webhook has no EKS Pod Identity associations")
	}
	return p.real.writeAssociations(assocs)
}

// Stop unregisters the webhook, stops it and removes what it created, returning the first problem: a
// real webhook that exited on its own before Stop (a crash) is one.
func (p *PodIdentityWebhook) Stop() error {
	if p == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var errs []error
	if p.registered {
		errs = append(errs, p.Unregister(ctx))
	}
	if p.probe != nil {
		if err := p.env.Clientset.CoreV1().ServiceAccounts(p.probe.Namespace).Delete(ctx, p.probe.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, err)
		}
		p.probe = nil
	}
	if p.real != nil {
		errs = append(errs, p.real.stop(ctx))
		p.real = nil
	}
	if p.standIn != nil {
		errs = append(errs, p.standIn.stop())
		p.standIn = nil
	}
	return errors.Join(errs...)
}

// LogTail returns the end of the real webhook's log, for failure messages.
func (p *PodIdentityWebhook) LogTail(n int) string {
	if p.LogFile == "" {
		return "(the stand-in has no log)"
	}
	return tailFile(p.LogFile, n)
}

func (p *PodIdentityWebhook) logTail() string {
	if p.LogFile == "" {
		return ""
	}
	return "; its log ends:\n" + p.LogTail(20)
}
