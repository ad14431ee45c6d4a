package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/eks"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/validators"
)

type exportOptions struct {
	issuer, cluster, output string
	allRoles                bool
}

// newAWSStateCommand groups the commands on AWS state files (docs/aws-state.md).
func newAWSStateCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "aws-state", Short: "Work with AWS state files, the offline stand-in for an AWS account"}
	var o exportOptions
	export := &cobra.Command{
		Use:   "export (--issuer URL | --cluster NAME) [-o FILE]",
		Short: "Write the IAM facts lint needs for one cluster into an AWS state file",
		Long: `export reads, with your default AWS credentials, the IAM OIDC provider of the cluster's issuer
and the IAM roles whose trust policy mentions it (iam:ListOpenIDConnectProviders,
iam:GetOpenIDConnectProvider, iam:ListRoles, sts:GetCallerIdentity), and writes them as an AWS
state file. 'irsa-guard lint --aws-state FILE' then runs the AWS checks without AWS access.

A ServiceAccount naming a role that was not exported is reported as IRSA010 (role does not exist)
offline; use --all-roles to export every role of the account.`,
		Example: `  irsa-guard aws-state export --cluster prod -o prod-aws.yaml
  irsa-guard lint -f k8s/ --issuer https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E --aws-state prod-aws.yaml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runAWSStateExport(cmd.Context(), o, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	export.Flags().StringVar(&o.issuer, "issuer", "", "the cluster's OIDC issuer URL")
	export.Flags().StringVar(&o.cluster, "cluster", "", "EKS cluster name to read the issuer from (eks:DescribeCluster)")
	export.Flags().StringVarP(&o.output, "output", "o", "-", "file to write, - for stdout")
	export.Flags().BoolVar(&o.allRoles, "all-roles", false, "export every role of the account, not only those trusting the provider")
	cmd.AddCommand(export)
	return cmd
}

func runAWSStateExport(ctx context.Context, o exportOptions, stdout, stderr io.Writer) error {
	if (o.issuer == "") == (o.cluster == "") {
		return usageErrorf("aws-state export needs exactly one of --issuer URL or --cluster NAME")
	}
	cfg, err := loadAWSConfig(ctx)
	if err != nil {
		return err
	}
	issuer, err := resolveIssuer(ctx, cfg, o.issuer, o.cluster)
	if err != nil {
		return err
	}
	st, found, err := exportState(ctx, cfg, issuer, o.allRoles)
	if err != nil {
		return err
	}
	if o.cluster != "" { // so that `lint --cluster NAME --aws-state FILE` works like live lint
		st.Clusters = []awsstate.Cluster{{Name: o.cluster, Region: cfg.Region, Issuer: issuer}}
	}
	if !found {
		_, _ = fmt.Fprintf(stderr, "irsa-guard: account %s has no IAM OIDC provider for %s; lint will report IRSA020\n", st.CallerAccount, issuer)
	}
	body, err := yaml.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode AWS state: %w", err)
	}
	header := fmt.Sprintf("# AWS state for issuer %s, exported by irsa-guard aws-state export on %s.\n# Format: docs/aws-state.md\n",
		issuer, time.Now().UTC().Format(time.RFC3339))
	out := append([]byte(header), body...)
	if o.output == "-" {
		_, err = stdout.Write(out)
		return err
	}
	if err := os.WriteFile(o.output, out, 0o600); err != nil {
		return fmt.Errorf("write AWS state: %w", err)
	}
	return nil
}

// exportState reads the caller's account: the provider for issuer (found reports whether it
// exists) and the roles that trust it. Policies are URL-decoded exactly once, as in awsfacts.
func exportState(ctx context.Context, cfg aws.Config, issuer string, allRoles bool) (*awsstate.State, bool, error) {
	who, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return nil, false, fmt.Errorf("find your AWS account (sts:GetCallerIdentity): %w", err)
	}
	arn := strings.SplitN(aws.ToString(who.Arn), ":", 3)
	if len(arn) < 3 {
		return nil, false, fmt.Errorf("sts:GetCallerIdentity returned the ARN %q, which has no partition", aws.ToString(who.Arn))
	}
	account, partition := aws.ToString(who.Account), arn[1]
	acct := &awsstate.Account{}
	st := &awsstate.State{Partition: partition, CallerAccount: account, Accounts: map[string]*awsstate.Account{account: acct}}
	client := iam.NewFromConfig(cfg)
	want := validators.ProviderARN(partition, account, issuer)
	list, err := client.ListOpenIDConnectProviders(ctx, &iam.ListOpenIDConnectProvidersInput{})
	if err != nil {
		return nil, false, fmt.Errorf("list IAM OIDC providers: %w", err)
	}
	found := false
	for _, p := range list.OpenIDConnectProviderList {
		if aws.ToString(p.Arn) != want {
			continue
		}
		out, err := client.GetOpenIDConnectProvider(ctx, &iam.GetOpenIDConnectProviderInput{OpenIDConnectProviderArn: p.Arn})
		if err != nil {
			return nil, false, fmt.Errorf("get IAM OIDC provider %s: %w", want, err)
		}
		found = true
		acct.OIDCProviders = append(acct.OIDCProviders, awsstate.OIDCProvider{
			URL: "https://" + strings.TrimPrefix(aws.ToString(out.Url), "https://"), ClientIDs: out.ClientIDList,
			Thumbprints: out.ThumbprintList, CreateDate: aws.ToTime(out.CreateDate),
		})
	}
	pages := iam.NewListRolesPaginator(client, &iam.ListRolesInput{})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, false, fmt.Errorf("list IAM roles: %w", err)
		}
		for _, r := range page.Roles {
			policy, err := url.QueryUnescape(aws.ToString(r.AssumeRolePolicyDocument))
			if err != nil {
				return nil, false, fmt.Errorf("IAM role %s: trust policy is not URL-encoded: %w", aws.ToString(r.RoleName), err)
			}
			if !allRoles && !strings.Contains(policy, validators.IssuerHostPath(issuer)) {
				continue
			}
			acct.Roles = append(acct.Roles, awsstate.Role{
				Name: aws.ToString(r.RoleName), Path: aws.ToString(r.Path), CreateDate: aws.ToTime(r.CreateDate),
				MaxSessionDuration: aws.ToInt32(r.MaxSessionDuration), Description: aws.ToString(r.Description),
				TrustPolicy: awsstate.PolicyText(policy),
			})
		}
	}
	return st, found, nil
}

// loadAWSConfig is the default credential chain and config files, so AWS_PROFILE, AWS_REGION
// and the AWS_ENDPOINT_URL_IAM / _STS / _EKS overrides all apply. IAM is global: without a
// region, us-east-1 (IAM's home) is used to sign.
func loadAWSConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}

// resolveIssuer returns issuer, or the issuer of the named EKS cluster.
func resolveIssuer(ctx context.Context, cfg aws.Config, issuer, cluster string) (string, error) {
	if cluster != "" {
		out, err := eks.NewFromConfig(cfg).DescribeCluster(ctx, &eks.DescribeClusterInput{Name: aws.String(cluster)})
		if err != nil {
			return "", fmt.Errorf("read the OIDC issuer of EKS cluster %q in %s (eks:DescribeCluster): %w", cluster, cfg.Region, err)
		}
		if out.Cluster == nil || out.Cluster.Identity == nil || out.Cluster.Identity.Oidc == nil || aws.ToString(out.Cluster.Identity.Oidc.Issuer) == "" {
			return "", fmt.Errorf("EKS cluster %q has no OIDC issuer", cluster)
		}
		issuer = aws.ToString(out.Cluster.Identity.Oidc.Issuer)
	}
	if err := validators.ValidateIssuer(issuer); err != nil {
		return "", usageErrorf("--issuer: %v", err)
	}
	return issuer, nil
}
