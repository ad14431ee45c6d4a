package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/irsa-guard/irsa-guard/awsfacts"
	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/diagnose"
	"github.com/irsa-guard/irsa-guard/imagescan"
	"github.com/irsa-guard/irsa-guard/kubefacts"
	"github.com/irsa-guard/irsa-guard/review"
	"github.com/irsa-guard/irsa-guard/validators"
)

// diagnoseOptions are the flags every diagnose subcommand shares.
type diagnoseOptions struct {
	output     string
	offline    bool
	awsState   string
	issuerCA   string
	probe      bool
	timeout    time.Duration
	kubeconfig string
	overrides  clientcmd.ConfigOverrides
	cfg        *config.Configuration
	flags      *config.Flags
	images     imageOptions // diagnose pod's
}

// probeSessionName names the probe's session in CloudTrail, so the entry says who made it.
const probeSessionName = "irsa-guard-diagnose"

// probeTokenSeconds is the probe token's lifetime: the TokenRequest API's minimum (ten minutes,
// https://kubernetes.io/docs/reference/kubernetes-api/authentication-resources/token-request-v1/).
const probeTokenSeconds = 600

func newDiagnoseCommand() *cobra.Command {
	o := &diagnoseOptions{cfg: config.Default()}
	cmd := &cobra.Command{
		Use:   "diagnose (serviceaccount NS/NAME | pod NS/NAME | cluster)",
		Short: "Walk the IRSA troubleshooting article for a live ServiceAccount or pod",
		Long: `diagnose walks AWS's "How do I troubleshoot IRSA errors in Amazon EKS?" for a ServiceAccount or a
pod of the cluster your kubeconfig points at, in the article's order, then the checks the article
does not have. Each step prints PASS, FAIL, UNKNOWN (could not check, and why) or SKIP (does not
apply), the exact AWS error a failure causes and the fix with the real values filled in.

It asks the same review engine as the admission webhook, with the objects as they run. The
cluster's OIDC issuer comes from --issuer, else eks:DescribeCluster when the EKS cluster is known
(--cluster, or the cluster ARN an 'aws eks update-kubeconfig' context is named after), else the API
server's discovery document. AWS is read with the AWS SDK's default credentials, or from an
--aws-state file; --offline skips AWS.

--probe asks STS itself: it requests a ten-minute token for the ServiceAccount with its audience
(TokenRequest: create on serviceaccounts/token), calls sts:AssumeRoleWithWebIdentity with it, and
prints STS's answer next to the prediction. The credentials STS returns are discarded unread; the
token is used for that one call and never printed. It leaves a CloudTrail entry in the role's
account (session name irsa-guard-diagnose).

Exit status: 0 nothing fails, 1 a step fails (or STS denied the probe), 2 bad input or the cluster
could not be reached.`,
		Example: `  irsa-guard diagnose pod shop/cart-7d9f8c6b5-x2x7q
  irsa-guard diagnose sa cart -n shop --probe
  irsa-guard diagnose cluster -o json
  kubectl irsa-guard diagnose pod cart-7d9f8c6b5-x2x7q --context prod`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageErrorf("name what to diagnose: serviceaccount NS/NAME, pod NS/NAME or cluster")
		},
	}
	pf := cmd.PersistentFlags()
	pf.StringVarP(&o.output, "output", "o", "text", "output format: text or json")
	pf.BoolVar(&o.offline, "offline", false, "run only the checks that need no AWS access")
	pf.StringVar(&o.awsState, "aws-state", "", "read AWS from this state file (irsa-guard aws-state export) instead of AWS")
	pf.StringVar(&o.issuerCA, "issuer-ca", "", "PEM file of extra CAs to trust when reading a private issuer's discovery document")
	pf.BoolVar(&o.probe, "probe", false, "ask STS itself with a fresh ServiceAccount token (leaves a CloudTrail entry)")
	pf.DurationVar(&o.timeout, "timeout", 30*time.Second, "time budget of the whole diagnosis of one subject")
	o.flags = config.Bind(pf, o.cfg, config.SectionCluster, config.SectionAWS, config.SectionPolicy)
	bindKubeFlags(pf, o)
	cmd.AddCommand(newDiagnoseSACommand(o), newDiagnosePodCommand(o), newDiagnoseClusterCommand(o), newDiagnoseImageCommand(o))
	return cmd
}

// bindKubeFlags binds kubectl's connection flags (--kubeconfig, --context, -n/--namespace,
// --server, --user, --token, --as...) with client-go's loading rules. kubectl's --cluster (a
// kubeconfig cluster entry) is --kube-cluster here: --cluster is the EKS cluster's name, as
// everywhere in irsa-guard.
func bindKubeFlags(fs *pflag.FlagSet, o *diagnoseOptions) {
	fs.StringVar(&o.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: KUBECONFIG, then ~/.kube/config)")
	names := clientcmd.RecommendedConfigOverrideFlags("")
	names.ContextOverrideFlags.ClusterName.LongName = "kube-cluster"
	names.ContextOverrideFlags.ClusterName.Description = "the kubeconfig cluster to use (kubectl's --cluster)"
	clientcmd.BindOverrideFlags(&o.overrides, fs, names)
}

func newDiagnoseSACommand(o *diagnoseOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "serviceaccount NS/NAME",
		Aliases: []string{"sa"},
		Short:   "Diagnose one ServiceAccount",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sa := &corev1.ServiceAccount{}
			return o.diagnoseOne(cmd, args[0], "ServiceAccount", sa, func(ctx context.Context, s *session) diagnose.Result {
				return s.diagnoseServiceAccount(ctx, sa)
			})
		},
	}
}

func newDiagnosePodCommand(o *diagnoseOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "pod NS/NAME",
		Aliases: []string{"po"},
		Short:   "Diagnose one pod: its ServiceAccount, its injected environment and token, its containers",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pod := &corev1.Pod{}
			return o.diagnoseOne(cmd, args[0], "Pod", pod, func(ctx context.Context, s *session) diagnose.Result {
				return s.diagnosePod(ctx, pod, true)
			})
		},
	}
	bindImageFlags(cmd, &o.images, true)
	return cmd
}

// diagnoseOne reads the object NS/NAME (arg) of kind into obj, diagnoses it and prints the result.
func (o *diagnoseOptions) diagnoseOne(cmd *cobra.Command, arg, kind string, obj client.Object, run func(context.Context, *session) diagnose.Result) error {
	s, err := o.open(cmd.Context())
	if err != nil {
		return err
	}
	ns, name, err := s.objectName(arg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
	defer cancel()
	if err := s.reader.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		return s.readError(kind, ns, name, err)
	}
	return o.write(cmd.OutOrStdout(), run(ctx, s))
}

// write prints one result and turns it into the exit status.
func (o *diagnoseOptions) write(w io.Writer, r diagnose.Result) error {
	var err error
	if o.output == "json" {
		err = writeIndentedJSON(w, r)
	} else {
		err = diagnose.Printer{W: w, Color: useColor(w)}.Report(r)
	}
	if err != nil {
		return err
	}
	if r.Status() == diagnose.StatusFail {
		return errFindings
	}
	return nil
}

func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// useColor is true when w is a terminal and NO_COLOR is unset or empty (https://no-color.org).
func useColor(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// session is one diagnose run's connections: the cluster, AWS, and the engine over both.
type session struct {
	o           *diagnoseOptions
	restCfg     *rest.Config
	kube        kubernetes.Interface
	reader      client.Client
	namespace   string // the kubeconfig's (or -n's) namespace, for a NAME without NS/
	sdk         *awsfacts.SDK
	stateSource *awsfacts.StateSource
	engine      *review.Engine
	context     diagnose.Context
	awsWhy      string // why the AWS steps cannot run, "" when they can
	images      imageOptions
	imageCache  *imagescan.Cache
	piWhy       string // why EKS Pod Identity was not looked up
}

// open loads the configuration, connects to the cluster (exit 2 when it cannot be reached) and
// to AWS, and resolves the issuer.
func (o *diagnoseOptions) open(ctx context.Context) (*session, error) {
	if err := o.flags.Load(); err != nil {
		return nil, usageErrorf("%v", err)
	}
	if o.output != "text" && o.output != "json" {
		return nil, usageErrorf("-o %q: use text or json", o.output)
	}
	if o.probe && (o.offline || o.awsState != "") {
		return nil, usageErrorf("--probe asks STS itself: drop --offline and --aws-state to use it")
	}
	if o.offline && o.awsState != "" {
		return nil, usageErrorf("--offline runs no AWS checks; drop it to check against --aws-state")
	}
	s := &session{o: o, images: o.images, imageCache: imagescan.NewCache(16)}
	if err := s.connect(ctx); err != nil {
		return nil, err
	}
	s.connectAWS(ctx)
	s.engine = review.New(o.cfg, review.Options{
		Facts: s.facts(), Cluster: &kubefacts.Reader{Cache: s.reader}, Issuer: s.context.Issuer,
	})
	return s, nil
}

// connect loads the kubeconfig with kubectl's rules and checks the API server answers.
func (s *session) connect(ctx context.Context) error {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = s.o.kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &s.o.overrides)
	raw, err := cc.RawConfig()
	if err != nil {
		return usageErrorf("read the kubeconfig: %v", err)
	}
	s.context.KubeContext = raw.CurrentContext
	if s.o.overrides.CurrentContext != "" {
		s.context.KubeContext = s.o.overrides.CurrentContext
	}
	if s.restCfg, err = cc.ClientConfig(); err != nil {
		return usageErrorf("no usable Kubernetes cluster in the kubeconfig: %v (set --kubeconfig, KUBECONFIG or --context)", err)
	}
	if s.namespace, _, err = cc.Namespace(); err != nil {
		return usageErrorf("the kubeconfig's namespace: %v", err)
	}
	eksFromKubeconfig(raw, s.context.KubeContext, &s.o.cfg.Cluster)
	s.restCfg.UserAgent = "irsa-guard-diagnose/" + version
	if s.kube, err = kubernetes.NewForConfig(s.restCfg); err != nil {
		return usageErrorf("build the Kubernetes client for %s: %v", s.restCfg.Host, err)
	}
	pingCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	if err := s.kube.Discovery().RESTClient().Get().AbsPath("/version").Do(pingCtx).Error(); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("cannot reach the Kubernetes API server %s (kubeconfig context %q): %w", s.restCfg.Host, s.context.KubeContext, err)}
	}
	if s.reader, err = client.New(s.restCfg, client.Options{Scheme: scheme.Scheme}); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("build the Kubernetes client for %s: %w", s.restCfg.Host, err)}
	}
	return nil
}

// eksFromKubeconfig fills the EKS cluster's name, region and account the configuration leaves
// empty from a context that `aws eks update-kubeconfig` wrote: its cluster entry is named after
// the cluster's ARN (arn:aws:eks:us-west-2:111122223333:cluster/prod), and its exec plugin runs
// `aws eks get-token --cluster-name prod --region us-west-2`
// (https://docs.aws.amazon.com/cli/latest/reference/eks/update-kubeconfig.html).
func eksFromKubeconfig(raw clientcmdapi.Config, contextName string, c *config.Cluster) {
	kctx := raw.Contexts[contextName]
	if kctx == nil {
		return
	}
	var name, region, account string
	if p := strings.SplitN(kctx.Cluster, ":", 6); len(p) == 6 && p[0] == "arn" && p[2] == "eks" && strings.HasPrefix(p[5], "cluster/") {
		name, region, account = strings.TrimPrefix(p[5], "cluster/"), p[3], p[4]
	}
	if user := raw.AuthInfos[kctx.AuthInfo]; user != nil && user.Exec != nil && name == "" {
		args := user.Exec.Args
		for i := 0; i+1 < len(args); i++ {
			switch args[i] {
			case "--cluster-name", "--cluster-id", "-i":
				name = args[i+1]
			case "--region":
				region = args[i+1]
			}
		}
	}
	if c.Name == "" {
		c.Name = name
	}
	if c.Region == "" {
		c.Region = region
	}
	if c.Account == "" && c.Name == name {
		c.Account = account
	}
}

// connectAWS picks the AWS facts source and resolves the issuer: --issuer, else
// eks:DescribeCluster for the EKS cluster, else the API server's discovery document.
func (s *session) connectAWS(ctx context.Context) {
	o, c := s.o, &s.o.cfg.Cluster
	s.context.Cluster = c.Name
	var src awsfacts.Source
	switch {
	case o.offline:
		s.context.AWS = "not read (--offline)"
		s.awsWhy = "--offline: the AWS checks were not run"
	case o.awsState != "":
		st, err := awsstate.LoadState(o.awsState)
		if err != nil {
			s.context.AWS = "not read"
			s.awsWhy = fmt.Sprintf("the AWS state file %s cannot be read: %v", o.awsState, err)
			break
		}
		s.context.AWS = "the state file " + o.awsState
		s.stateSource = awsfacts.NewStateSource(st, o.cfg.AWS.ReaderRoles, nil)
		src = s.stateSource
	default:
		sdk, err := newSDKSource(ctx, o.cfg, o.issuerCA)
		if err != nil {
			s.context.AWS = "not read"
			s.awsWhy = "AWS cannot be read: " + err.Error()
			break
		}
		s.sdk, src = sdk, sdk
		s.context.AWS = "the AWS SDK's default credentials"
	}
	switch {
	case src == nil:
		s.piWhy = s.awsWhy
	case c.Name == "":
		s.piWhy = "EKS Pod Identity associations were not read: the EKS cluster's name is not known (set --cluster)"
	}
	issuerCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var why []string
	switch {
	case c.Issuer != "":
		s.context.Issuer, s.context.IssuerFrom = c.Issuer, "the configuration"
		return
	case src != nil && c.Name != "":
		iss, err := src.ClusterIssuer(issuerCtx, c.Name)
		if err == nil {
			s.context.Issuer, s.context.IssuerFrom = iss, "eks:DescribeCluster "+c.Name
			return
		}
		why = append(why, err.Error())
	}
	iss, err := kubefacts.DiscoverIssuer(issuerCtx, s.restCfg, "")
	if err == nil {
		s.context.Issuer, s.context.IssuerFrom = iss, "the API server's discovery document"
		return
	}
	why = append(why, err.Error())
	if s.awsWhy == "" {
		s.awsWhy = "the cluster's OIDC issuer is not known (" + strings.Join(why, "; ") + "): set --issuer or --cluster"
	}
}

func (s *session) facts() awsfacts.Source {
	switch {
	case s.awsWhy != "":
		return nil
	case s.sdk != nil:
		return s.sdk
	case s.stateSource != nil:
		return s.stateSource
	}
	return nil
}

// objectName reads NS/NAME, or NAME in the kubeconfig's (or -n's) namespace.
func (s *session) objectName(arg string) (namespace, name string, _ error) {
	if ns, n, ok := strings.Cut(arg, "/"); ok {
		if ns == "" || n == "" || strings.Contains(n, "/") {
			return "", "", usageErrorf("%q: name the object as NAMESPACE/NAME, or NAME with -n NAMESPACE", arg)
		}
		return ns, n, nil
	}
	if arg == "" {
		return "", "", usageErrorf("name the object as NAMESPACE/NAME, or NAME with -n NAMESPACE")
	}
	return s.namespace, arg, nil
}

// readError explains why the subject could not be read: bad input when it does not exist
// (exit 2), and what to grant when reading it is forbidden.
func (s *session) readError(kind, ns, name string, err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return usageErrorf("%s %s/%s does not exist in %s (kubeconfig context %q)", kind, ns, name, s.restCfg.Host, s.context.KubeContext)
	case apierrors.IsForbidden(err):
		return &exitError{code: 2, err: fmt.Errorf("%s %s/%s: reading it is forbidden; diagnose needs get on %ss (see docs/diagnose.md): %w",
			kind, ns, name, strings.ToLower(kind), err)}
	}
	return &exitError{code: 2, err: fmt.Errorf("read %s %s/%s from %s: %w", kind, ns, name, s.restCfg.Host, err)}
}

// diagnoseServiceAccount walks the steps for a ServiceAccount as it is in the cluster.
func (s *session) diagnoseServiceAccount(ctx context.Context, sa *corev1.ServiceAccount) diagnose.Result {
	rep := s.engine.Explain(ctx, review.Subject{Stage: review.StageRunning, ServiceAccount: sa})
	in := diagnose.Input{Subject: "ServiceAccount " + sa.Namespace + "/" + sa.Name, Report: rep,
		AWSWhy: s.awsWhy, PodIdentityWhy: s.piWhy}
	return s.finish(ctx, in)
}

// diagnosePod walks the steps for a pod as it runs, with its ServiceAccount, and scans its
// images when asked.
func (s *session) diagnosePod(ctx context.Context, pod *corev1.Pod, scan bool) diagnose.Result {
	rep := s.engine.Explain(ctx, review.Subject{Stage: review.StageRunning, Pod: pod})
	in := diagnose.Input{Subject: "Pod " + pod.Namespace + "/" + pod.Name, Report: rep, IsPod: true,
		AWSWhy: s.awsWhy, PodIdentityWhy: s.piWhy}
	if scan {
		in.Images, in.ImagesWhy, in.ImagesNotes = s.scanImages(ctx, pod, in)
	} else {
		in.ImagesWhy = "not scanned here: run irsa-guard diagnose pod " + pod.Namespace + "/" + pod.Name
	}
	return s.finish(ctx, in)
}

// finish walks the steps and, with --probe, asks STS.
func (s *session) finish(ctx context.Context, in diagnose.Input) diagnose.Result {
	r := diagnose.Result{Subject: in.Subject, Context: s.context, Steps: diagnose.Walk(in)}
	if s.o.probe {
		r.Probe = s.runProbe(ctx, in.Report, r.Steps)
	}
	return r
}

// runProbe requests a token for the ServiceAccount with the audience its pods get and asks STS
// for the role with it, as the pod's SDK would. The token is used for that call only; the
// credentials STS returns are dropped unread (awsfacts.ProbeResult has no field for them).
func (s *session) runProbe(ctx context.Context, rep review.Report, steps []diagnose.Step) *diagnose.Probe {
	if s.sdk == nil {
		return nil
	}
	var roleARN, audience, namespace, name string
	switch sa := rep.ServiceAccount; {
	case rep.Identity != nil:
		id := rep.Identity
		roleARN, audience, namespace, name = id.RoleARN, id.EffectiveAudience(), id.Namespace, id.ServiceAccount
	case sa != nil && sa.Annotations[validators.AnnotationRoleARN] != "" && (rep.PodIdentity == nil || !rep.PodIdentity.HasAssociation()):
		// The AWS checks did not run (an invalid role ARN): pod-identity-webhook injects the value
		// verbatim, so ask STS with it and let STS say what it makes of it.
		roleARN, namespace, name = sa.Annotations[validators.AnnotationRoleARN], sa.Namespace, sa.Name
		audience = validators.WebhookSettings{Audience: s.o.cfg.Cluster.PodIdentityWebhook.Audience}.TokenAudience(sa)
	default:
		return nil // nothing IRSA would ask STS: the steps say why
	}
	p := &diagnose.Probe{RoleARN: roleARN, Audience: audience, SessionName: probeSessionName}
	tr, err := s.kube.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{Audiences: []string{p.Audience}, ExpirationSeconds: ptr.To[int64](probeTokenSeconds)},
	}, metav1.CreateOptions{})
	if err != nil {
		p.Outcome = diagnose.OutcomeError
		p.Message = fmt.Sprintf("request a token for ServiceAccount %s/%s (needs create on serviceaccounts/token): %v", namespace, name, err)
		p.Judge(steps)
		return p
	}
	res := s.sdk.AssumeRoleWithWebIdentity(ctx, roleARN, tr.Status.Token, probeSessionName)
	tr.Status.Token = ""
	switch {
	case res.Err != nil:
		p.Outcome, p.Message = diagnose.OutcomeError, res.Err.Error()
	case res.Allowed:
		p.Outcome, p.AssumedRole = diagnose.OutcomeAllowed, res.AssumedRole
	default:
		p.Outcome, p.Code, p.Message = diagnose.OutcomeDenied, res.Code, res.Message
	}
	p.Judge(steps)
	return p
}
