package main

import (
	"fmt"
	"os"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"go.uber.org/zap/zapcore"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/irsa-guard/irsa-guard/config"
	"github.com/irsa-guard/irsa-guard/server"
)

func newServeCommand() *cobra.Command {
	cfg := config.Default()
	var flags *config.Flags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the admission webhook server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := flags.Load(); err != nil {
				return usageErrorf("invalid configuration:\n%v", err)
			}
			ctrl.SetLogger(newLogger(cfg.Server))
			restCfg, err := ctrl.GetConfig()
			if err != nil {
				return fmt.Errorf("kubernetes client config: %w", err)
			}
			return server.Run(cmd.Context(), cfg, restCfg)
		},
	}
	flags = config.Bind(cmd.Flags(), cfg, config.SectionCluster, config.SectionAWS, config.SectionPolicy, config.SectionServer, config.SectionAudit)
	return cmd
}

func newLogger(s config.Server) logr.Logger {
	level := map[string]zapcore.Level{"debug": zapcore.DebugLevel, "info": zapcore.InfoLevel, "error": zapcore.ErrorLevel}[s.LogLevel]
	enc := zap.JSONEncoder()
	if s.LogFormat == "console" {
		enc = zap.ConsoleEncoder()
	}
	return zap.New(enc, zap.Level(level), zap.WriteTo(os.Stderr))
}
