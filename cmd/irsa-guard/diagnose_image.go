package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/irsa-guard/irsa-guard/diagnose"
	"github.com/irsa-guard/irsa-guard/imagescan"
	"github.com/irsa-guard/irsa-guard/validators"
)

// imageOptions are the image scan's flags.
type imageOptions struct {
	scan      bool
	timeout   time.Duration
	maxBytes  int64
	platform  string // diagnose image only: os/arch
	mechanism string // diagnose image only: irsa or pod-identity
}

func (o imageOptions) scanOptions() imagescan.Options {
	return imagescan.Options{Timeout: o.timeout, MaxBytes: o.maxBytes}
}

func bindImageFlags(cmd *cobra.Command, o *imageOptions, scanByDefault bool) {
	f := cmd.Flags()
	if scanByDefault {
		f.BoolVar(&o.scan, "scan-images", true, "read each container's image through the registry API and find AWS SDKs too old for IRSA")
	}
	f.DurationVar(&o.timeout, "image-timeout", imagescan.DefaultTimeout, "time budget of one image's scan")
	f.Int64Var(&o.maxBytes, "image-max-bytes", imagescan.DefaultMaxBytes, "uncompressed layer bytes read per image at most")
}

// newDiagnoseImageCommand scans one image alone: no cluster, no AWS.
func newDiagnoseImageCommand(o *diagnoseOptions) *cobra.Command {
	var img imageOptions
	cmd := &cobra.Command{
		Use:   "image REF",
		Short: "Find the AWS SDKs in an image and say whether they support IRSA (or EKS Pod Identity)",
		Long: `image reads an image through the registry API (credentials from the Docker config and the
registries' credential helpers, as docker pull uses them), walks its layers within bounded bytes and
time, and finds the AWS SDKs in it: Go binaries' build info, Python, JavaScript, Java, .NET, Ruby,
PHP, C++ and the AWS CLI. Each is compared with the minimum version the EKS user guide lists for
IRSA (or --mechanism pod-identity), IRSA070-073 in docs/checks.md.

Exit status: 0 no SDK too old, 1 an SDK too old or without its STS module, 2 the image could not be read.`,
		Example: `  irsa-guard diagnose image public.ecr.aws/my-team/app:1.4.2
  irsa-guard diagnose image registry.example/app@sha256:... --platform linux/arm64 -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.output != "text" && o.output != "json" {
				return usageErrorf("-o %q: use text or json", o.output)
			}
			m, ok := map[string]imagescan.Mechanism{"irsa": imagescan.IRSA, "pod-identity": imagescan.PodIdentity}[img.mechanism]
			if !ok {
				return usageErrorf("--mechanism %q: use irsa or pod-identity", img.mechanism)
			}
			opts := img.scanOptions()
			if img.platform != "" {
				p, err := v1.ParsePlatform(img.platform)
				if err != nil || p.OS == "" || p.Architecture == "" {
					return usageErrorf("--platform %q: use os/arch[/variant], e.g. linux/arm64", img.platform)
				}
				opts.Platform = p
			}
			rep, err := imagescan.Scan(cmd.Context(), args[0], opts)
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("read image %s: %w", args[0], err)}
			}
			findings := rep.Findings(validators.Object{Kind: "Image", Name: args[0]}, m)
			if o.output == "json" {
				err = writeIndentedJSON(cmd.OutOrStdout(), struct {
					Report   imagescan.Report     `json:"report"`
					Findings []validators.Finding `json:"findings"`
				}{rep, append([]validators.Finding{}, findings...)})
			} else {
				err = writeImageReport(cmd.OutOrStdout(), rep, findings, m)
			}
			if err != nil {
				return err
			}
			for _, f := range findings {
				if f.Severity != validators.SeverityInfo {
					return errFindings
				}
			}
			return nil
		},
	}
	bindImageFlags(cmd, &img, false)
	cmd.Flags().StringVar(&img.platform, "platform", "", "the platform of a multi-platform image (default linux/amd64)")
	cmd.Flags().StringVar(&img.mechanism, "mechanism", "irsa", "judge the SDKs for irsa or pod-identity")
	return cmd
}

// writeImageReport prints the SDKs found, the findings and what was skipped.
func writeImageReport(w io.Writer, rep imagescan.Report, findings []validators.Finding, m imagescan.Mechanism) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Image %s\n  digest    %s\n  platform  %s\n  read      %d layers, %d entries, %d MB in %s\n\n",
		rep.Ref, rep.Digest, rep.Platform, rep.Stats.Layers, rep.Stats.Entries, rep.Stats.Bytes>>20, rep.Stats.Duration.Round(time.Millisecond))
	if len(rep.SDKs) == 0 {
		b.WriteString("No AWS SDK found.\n")
	}
	for _, s := range rep.SDKs {
		sup := s.IRSA
		if m == imagescan.PodIdentity {
			sup = s.PodIdentity
		}
		version := s.Version
		if version == "" {
			version = "(version unknown)"
		}
		verdict := string(sup.Verdict)
		if sup.Minimum != "" && sup.Verdict != imagescan.VerdictOK {
			verdict += ", needs " + sup.Minimum
		}
		fmt.Fprintf(&b, "  %-22s %-18s %-40s %s: %s\n", s.Name, version, s.Path, m, verdict)
	}
	for _, f := range findings {
		fmt.Fprintf(&b, "\n%s %s\n  fix: %s\n", f.Severity, f.String(), f.Fix)
	}
	for _, s := range rep.Skipped {
		fmt.Fprintf(&b, "\nskipped: %s (%d, e.g. %s)", s.Reason, s.Count, s.Example)
	}
	if len(rep.Skipped) > 0 {
		b.WriteString("\n")
	}
	if !rep.Complete {
		b.WriteString("\nThe scan stopped at a bound before the last layer: raise --image-timeout or --image-max-bytes to read it all.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// scanImages finds the AWS SDKs in the images of the pod's containers that get credentials (those
// skip-containers leaves out never do), judged for the mechanism the pod uses. Images are read by
// the digest the kubelet pulled when the pod status has one, with the pod's imagePullSecrets and
// the default keychain, for the platform of the pod's node. notes say what was assumed.
func (s *session) scanImages(ctx context.Context, pod *corev1.Pod, rep diagnose.Input) (found []validators.Finding, why string, notes []string) {
	if !s.images.scan {
		return nil, "not scanned (--scan-images=false)", nil
	}
	opts := s.images.scanOptions()
	kc, note := s.pullSecrets(ctx, pod)
	if note != "" {
		notes = append(notes, note)
	}
	opts.Keychain = authn.NewMultiKeychain(kc, authn.DefaultKeychain)
	opts.Platform, note = s.nodePlatform(ctx, pod)
	if note != "" {
		notes = append(notes, note)
	}
	m := imagescan.IRSA
	if rep.Report.Injection == validators.InjectPodIdentity || podHasEnv(pod, "AWS_CONTAINER_CREDENTIALS_FULL_URI") {
		m = imagescan.PodIdentity
	}
	skip, _ := validators.SkipContainers(pod.Annotations)
	obj := validators.PodObject(pod)
	for _, c := range append(append([]corev1.Container{}, pod.Spec.InitContainers...), pod.Spec.Containers...) {
		if containsString(skip, c.Name) {
			continue
		}
		ref := imageRef(pod, c)
		r, err := s.imageCache.Scan(ctx, ref, opts)
		if err != nil {
			found = append(found, validators.NewFinding(validators.CheckImageSDKUnknown, obj.WithContainer(c.Name),
				"image "+validators.Quote(ref, 60)+" could not be read").
				WithFix("Check the image can be pulled with the pod's imagePullSecrets or your registry credentials: "+validators.SanitizeMessage(err.Error(), 200)))
			continue
		}
		notes = append(notes, fmt.Sprintf("container %s: %s (%s), %d SDK(s) found", c.Name, ref, r.Platform, len(r.SDKs)))
		found = append(found, r.Findings(obj.WithContainer(c.Name), m)...)
	}
	return found, "", notes
}

// imageRef is the image the container runs: by the digest the kubelet resolved (status imageID,
// e.g. docker.io/library/app@sha256:...) when there is one, else as the spec names it.
func imageRef(pod *corev1.Pod, c corev1.Container) string {
	for _, st := range append(append([]corev1.ContainerStatus{}, pod.Status.InitContainerStatuses...), pod.Status.ContainerStatuses...) {
		if st.Name != c.Name {
			continue
		}
		id := st.ImageID
		if i := strings.Index(id, "://"); i >= 0 {
			id = id[i+3:] // docker-pullable://
		}
		if _, digest, ok := strings.Cut(id, "@sha256:"); ok {
			repo := c.Image
			if i := strings.Index(repo, "@"); i >= 0 {
				repo = repo[:i]
			} else if j := strings.LastIndex(repo, ":"); j > strings.LastIndex(repo, "/") {
				repo = repo[:j]
			}
			return repo + "@sha256:" + digest
		}
	}
	return c.Image
}

// pullSecrets reads the pod's imagePullSecrets; what cannot be read is named in note, and the
// default keychain is still tried.
func (s *session) pullSecrets(ctx context.Context, pod *corev1.Pod) (authn.Keychain, string) {
	var secrets []corev1.Secret
	var unread []string
	for _, ref := range pod.Spec.ImagePullSecrets {
		var sec corev1.Secret
		if err := s.reader.Get(ctx, client.ObjectKey{Namespace: pod.Namespace, Name: ref.Name}, &sec); err != nil {
			unread = append(unread, ref.Name)
			continue
		}
		secrets = append(secrets, sec)
	}
	kc, err := imagescan.PullSecretsKeychain(secrets)
	if err != nil {
		return authn.DefaultKeychain, "imagePullSecrets not usable: " + err.Error()
	}
	if len(unread) > 0 {
		return kc, fmt.Sprintf("imagePullSecrets %s not readable (diagnose needs get on secrets for private images; see docs/diagnose-rbac.yaml)", strings.Join(unread, ", "))
	}
	return kc, ""
}

// nodePlatform is the platform of the pod's node (its kubernetes.io/os and kubernetes.io/arch
// labels), linux/amd64 when it cannot be read.
func (s *session) nodePlatform(ctx context.Context, pod *corev1.Pod) (*v1.Platform, string) {
	def := &v1.Platform{OS: "linux", Architecture: "amd64"}
	if pod.Spec.NodeName == "" {
		return def, "the pod has no node yet: images read for linux/amd64"
	}
	var node corev1.Node
	if err := s.reader.Get(ctx, client.ObjectKey{Name: pod.Spec.NodeName}, &node); err != nil {
		return def, "node " + pod.Spec.NodeName + " not readable: images read for linux/amd64"
	}
	nodeOS, arch := node.Labels[corev1.LabelOSStable], node.Labels[corev1.LabelArchStable]
	if nodeOS == "" || arch == "" {
		return def, "node " + pod.Spec.NodeName + " has no kubernetes.io/os and kubernetes.io/arch labels: images read for linux/amd64"
	}
	return &v1.Platform{OS: nodeOS, Architecture: arch}, ""
}

func podHasEnv(pod *corev1.Pod, name string) bool {
	for _, c := range pod.Spec.Containers {
		for _, e := range c.Env {
			if e.Name == name {
				return true
			}
		}
	}
	return false
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
