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
			"a broken edit is reported and the last good config keeps running. The Armory agent's config may be pasted as is: " +
			"keys without a meaning here and unknown keys are logged, not refused. GET /health on server.port (default 8082) is the " +
			"local health check, the agent's only listener.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			lvl := slog.LevelInfo
			if debug {
				lvl = slog.LevelDebug
			}
			log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
			cfg, err := agent.LoadConfig(configPath)
			if err != nil {
				return err
			}
			cfg.Notices.Log(log.With("component", "agent", "config", configPath))
			a, err := agent.New(configPath, agent.Options{Logger: log, Version: version.Version})
			if err != nil {
				return err
			}
			if cfg.Server.Port > 0 {
				h, err := agent.ListenHealth(cfg.Server.Port, func() bool { c := a.Client(); return c != nil && c.Connected() })
				if err != nil {
					return err
				}
				go h.Serve(ctx, log)
			}
			return a.Run(ctx)
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "/etc/spinops/agent.yaml", "agent config file")
	cmd.Flags().BoolVar(&debug, "debug", false, "log every operation")
	return cmd
}
