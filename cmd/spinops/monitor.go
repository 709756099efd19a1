package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/spinops/terraform-provider-spinops/internal/monitor"
)

type monitorFlags struct {
	config, kubeconfig, metricsAddr, logLevel string
}

func newMonitorCommand() *cobra.Command {
	var f monitorFlags
	cmd := &cobra.Command{
		Use:   "monitor",
		Short: "Synthetic checks of every zone, the availability SLO, burn-rate alerts and Prometheus /metrics",
		Long: "Checks each zone's Gate /health, Deck, and (with Gate credentials) Gate /applications and /credentials on an interval,\n" +
			"keeps the availability SLI per zone in a ConfigMap of the zone's namespace, and sends the SRE workbook's burn-rate alerts\n" +
			"to webhooks. Secrets come from files (secret_file, gate_auth.*_file) or " + monitor.EnvGatePassword + ", " +
			monitor.EnvWebhookURL + ", " + monitor.EnvSlackURL + ", " + monitor.EnvPagerDutyRoutingKey + " and the like. See docs/monitoring.md.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signalContext(cmd)
			defer stop()
			return runMonitor(ctx, f, cmd)
		},
	}
	fl := cmd.PersistentFlags()
	fl.StringVar(&f.config, "config", "/etc/spinops/monitor/config.json", "monitor configuration file (JSON, no secrets)")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster holding the zones' namespaces (default: in-cluster)")
	cmd.Flags().StringVar(&f.metricsAddr, "metrics-addr", ":9464", "serve Prometheus /metrics and /healthz on this address (empty: none)")
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.AddCommand(newMonitorStatusCommand(&f))
	return cmd
}

func kubeConfig(path string) (*rest.Config, error) {
	if path != "" {
		c, err := clientcmd.BuildConfigFromFlags("", path)
		if err != nil {
			return nil, fmt.Errorf("loading --kubeconfig: %w", err)
		}
		return c, nil
	}
	c, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("no --kubeconfig and not in a cluster (%w): give --kubeconfig", err)
	}
	return c, nil
}

// monitorOptions loads the configuration and connects to the cluster.
func monitorOptions(f *monitorFlags, log *slog.Logger) (monitor.Options, error) {
	cfg, err := monitor.LoadConfig(f.config)
	if err != nil {
		return monitor.Options{}, err
	}
	kc, err := kubeConfig(f.kubeconfig)
	if err != nil {
		return monitor.Options{}, err
	}
	o, err := cfg.Options(kc, os.Getenv)
	if err != nil {
		return o, fmt.Errorf("configuring the monitor (%s): %w", f.config, err)
	}
	cs, err := kubernetes.NewForConfig(kc)
	if err != nil {
		return o, fmt.Errorf("connecting to the cluster: %w", err)
	}
	o.Store = &monitor.ConfigMapStore{Client: cs}
	o.Log = log
	return o, nil
}

func runMonitor(ctx context.Context, f monitorFlags, cmd *cobra.Command) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
	o, err := monitorOptions(&f, log)
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if o.Metrics, err = monitor.NewMetrics(reg); err != nil {
		return fmt.Errorf("registering the metrics: %w", err)
	}
	m, err := monitor.New(o)
	if err != nil {
		return err
	}
	var srv *http.Server
	if f.metricsAddr != "" {
		ln, err := net.Listen("tcp", f.metricsAddr)
		if err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		mux := http.NewServeMux()
		mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
		mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
		srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics server", "error", err)
			}
		}()
		log.Info("serving metrics", "addr", ln.Addr().String())
	}
	log.Info("monitor started", "zones", len(o.Zones), "notifiers", len(o.Notifiers))
	runErr := m.Run(ctx)
	if srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
	log.Info("monitor stopped")
	return runErr
}

func newMonitorStatusCommand(f *monitorFlags) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Print each zone's availability per window, error budget and alerts from the recorded state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o, err := monitorOptions(f, slog.New(slog.DiscardHandler))
			if err != nil {
				return err
			}
			m, err := monitor.New(o)
			if err != nil {
				return err
			}
			var all []*monitor.ZoneStatus
			for _, z := range o.Zones {
				st, err := m.Status(cmd.Context(), z.Name)
				if err != nil {
					return err
				}
				all = append(all, st)
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(all)
			}
			return printStatus(cmd, all)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printStatus(cmd *cobra.Command, all []*monitor.ZoneStatus) error {
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	_, _ = fmt.Fprintln(tw, "ZONE\tTIER\tWINDOW\tAVAILABILITY\tGOOD\tBAD\tMAINTENANCE")
	for _, st := range all {
		names := make([]string, 0, len(st.Counts))
		for w := range st.Counts {
			names = append(names, w)
		}
		sort.Slice(names, func(i, j int) bool { return windowOrder(names[i]) < windowOrder(names[j]) })
		for _, w := range names {
			c := st.Counts[w]
			_, _ = fmt.Fprintf(tw, "%s\t%s\t%s\t%.4f%%\t%d\t%d\t%d\n", st.Zone, st.Tier, w, st.Availability[w]*100, c.Good, c.Bad, c.Excluded)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, st := range all {
		_, _ = fmt.Fprintf(cmd.OutOrStdout(), "%s: SLO %.3g%%, error budget remaining %.1f%%", st.Zone, st.SLO*100, st.BudgetRemaining*100)
		for name, a := range st.Alerts {
			if a.Firing {
				_, _ = fmt.Fprintf(cmd.OutOrStdout(), ", %s FIRING (%s) since %s", name, a.Severity, a.Since.Format(time.RFC3339))
			}
		}
		if st.LastFailure != nil {
			_, _ = fmt.Fprintf(cmd.OutOrStdout(), "; last failure %s %s: %s", st.LastFailure.At.Format(time.RFC3339), st.LastFailure.Check, st.LastFailure.Reason)
		}
		_, _ = fmt.Fprintln(cmd.OutOrStdout())
	}
	return nil
}

func windowOrder(name string) time.Duration {
	for _, w := range monitor.DefaultWindows() {
		if w.Name == name {
			return w.Duration
		}
	}
	d, _ := time.ParseDuration(name)
	return d
}
