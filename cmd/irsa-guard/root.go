package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"
)

// version is stamped at link time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

// newRootCommand lists every subcommand explicitly: no init() registration.
func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "irsa-guard",
		Short: "Catch broken IAM Roles for Service Accounts before a pod ever starts",
		Long: `irsa-guard checks EKS IAM Roles for Service Accounts (IRSA): the eks.amazonaws.com/role-arn
annotation, the IAM role's trust policy and the cluster's IAM OIDC provider. It predicts the
sts:AssumeRoleWithWebIdentity error a pod would get and says how to fix it.

Run it as an admission webhook (serve) or from the command line (lint, trust explain).
Every check is documented in docs/checks.md.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newVersionCommand(),
		newLintCommand(),
		newTrustCommand(),
		newAWSStateCommand(),
		newServeCommand(),
		newDiagnoseCommand(),
	)
	return root
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print irsa-guard's version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "irsa-guard %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
