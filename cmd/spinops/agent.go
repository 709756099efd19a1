package main

import (
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/spinops/terraform-provider-spinops/internal/agent"
	"github.com/spinops/terraform-provider-spinops/internal/version"
)

func newAgentCommand() *cobra.Command {
	var configPath string
	var debug bool
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Run the agent: watch clusters and stream them to the bridge over one outbound connection",
		Long: "Runs the accounts of the config file (kubernetes.accounts[], Armory agent keys) and reloads it when it changes; " +
			"a broken edit is reported and the last good config keeps running.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			lvl := slog.LevelInfo
			if debug {
				lvl = slog.LevelDebug
			}
			agent.Version = version.Version
			a, err := agent.New(configPath, agent.Options{Logger: slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))})
			if err != nil {
				return err
			}
			return a.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "/etc/spinops/agent.yaml", "agent config file")
	cmd.Flags().BoolVar(&debug, "debug", false, "log every operation")
	return cmd
}
