package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/irsa-guard/irsa-guard/config"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/irsa-guard/irsa-guard/awsstate"
	"github.com/irsa-guard/irsa-guard/validators"
)

type exportOptions struct {
	issuer, cluster, region, output string
	allRoles                        bool
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
	export.Flags().StringVar(&o.region, "region", "", "the EKS cluster's region (default: the AWS SDK's)")
	export.Flags().StringVarP(&o.output, "output", "o", "-", "file to write, - for stdout")
	export.Flags().BoolVar(&o.allRoles, "all-roles", false, "export every role of the account, not only those trusting the provider")
	cmd.AddCommand(export)
	return cmd
}

func runAWSStateExport(ctx context.Context, o exportOptions, stdout, stderr io.Writer) error {
	if (o.issuer == "") == (o.cluster == "") {
		return usageErrorf("aws-state export needs exactly one of --issuer URL or --cluster NAME")
	}
	if o.issuer != "" {
		if err := validators.ValidateIssuer(o.issuer); err != nil {
			return usageErrorf("--issuer: %v", err)
		}
	}
	cfg := config.Default()
	cfg.Cluster.Region = o.region
	sdk, err := newSDKSource(ctx, cfg, "")
	if err != nil {
		return err
	}
	issuer := o.issuer
	if o.cluster != "" {
		if issuer, err = sdk.ClusterIssuer(ctx, o.cluster); err != nil {
			return err
		}
	}
	st, found, err := sdk.Export(ctx, issuer, o.allRoles)
	if err != nil {
		return err
	}
	if o.cluster != "" { // so that `lint --cluster NAME --aws-state FILE` works like live lint
		region := o.region
		if region == "" {
			awsCfg, err := loadAWSConfig(ctx)
			if err != nil {
				return err
			}
			region = awsCfg.Region
		}
		st.Clusters = []awsstate.Cluster{{Name: o.cluster, Region: region, Issuer: issuer}}
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

// loadAWSConfig is the default credential chain and config files, so AWS_PROFILE, AWS_REGION
// and the AWS_ENDPOINT_URL_IAM / _STS / _EKS overrides all apply. IAM is global: without a
// region, us-east-1 (IAM's home) is used to sign.
func loadAWSConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}
