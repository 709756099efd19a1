package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/spinops/terraform-provider-spinops/internal/migrate"
)

// newMigrateGateProxyCommand is `spinops migrate gate-proxy`, the read-only
// Gate that `migrate cutover --freeze --old-gate read-only` runs in the old
// installation's namespace (internal/migrate/gateproxy.go).
func newMigrateGateProxyCommand() *cobra.Command {
	var listen, allowPost []string
	var since, message string
	cmd := &cobra.Command{
		Use:   "gate-proxy --listen PORT=URL... --since TIME",
		Short: "Serve a frozen Gate read-only: reads and logins pass, changes are refused (run by migrate cutover --old-gate read-only)",
		Long: "Passes GET, HEAD and OPTIONS to Gate, and the POSTs that log a user in or out (/login, /saml/{registrationId}, /auth/logout, and " +
			"each --allow-post path, compared exactly); refuses everything else — other methods, method-override headers and parameters, " +
			"protocol upgrades — with 503 and Spring's error body, whose message Deck shows. One --listen PORT=URL per port of Gate's Service.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(listen) == 0 {
				return errors.New("give at least one --listen PORT=URL (the port to serve, the Gate to pass reads to)")
			}
			at, err := time.Parse(time.RFC3339, since)
			if err != nil {
				return fmt.Errorf("--since %q: give the time the freeze began, RFC 3339 (e.g. 2026-12-05T09:30:00Z)", since)
			}
			ctx, stop := signalContext(cmd)
			defer stop()
			ctx, cancel := context.WithCancelCause(ctx)
			defer cancel(nil)
			var ls []net.Listener
			var gates []migrate.ReadOnlyGate
			for _, l := range listen {
				port, up, err := migrate.ParseGateProxyRoute(l)
				if err != nil {
					return err
				}
				ln, err := net.Listen("tcp", ":"+port)
				if err != nil {
					return fmt.Errorf("--listen %s: %w", l, err)
				}
				defer ln.Close()
				ls = append(ls, ln)
				gates = append(gates, migrate.ReadOnlyGate{Upstream: up, Since: at, Message: message, AllowPost: allowPost,
					Log: slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil)).With("listen", ln.Addr().String())})
				_, _ = fmt.Fprintf(cmd.ErrOrStderr(), "gate-proxy: serving %s read-only on %s\n", up, ln.Addr())
			}
			errs := make(chan error, len(ls))
			for i := range ls {
				go func() {
					err := migrate.ServeReadOnlyGate(ctx, ls[i], gates[i])
					cancel(err)
					errs <- err
				}()
			}
			var all []error
			for range ls {
				if err := <-errs; err != nil {
					all = append(all, err)
				}
			}
			return errors.Join(all...)
		},
	}
	cmd.Flags().StringArrayVar(&listen, "listen", nil, "PORT=URL: serve PORT, passing reads to the Gate at URL (repeatable)")
	cmd.Flags().StringVar(&since, "since", "", "when the freeze began (RFC 3339), said in every answer")
	cmd.Flags().StringVar(&message, "message", "", "what a refused change is told (default: this Spinnaker is frozen for its migration since --since)")
	cmd.Flags().StringArrayVar(&allowPost, "allow-post", nil, "a further path POSTs may go to, compared exactly (a login processing URL changed in Gate's configuration)")
	return cmd
}
