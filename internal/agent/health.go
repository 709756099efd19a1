package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// HealthPath is the agent's local health check (the Armory agent's
// GET /health on server.port). It is the agent's only listener: it answers
// 200 while the process runs, and says whether the bridge stream is up; it
// serves nothing else and no account data.
const HealthPath = "/health"

// HealthServer serves HealthPath.
type HealthServer struct {
	srv *http.Server
	ln  net.Listener
}

// ListenHealth binds the health check on port (0: any free port, for
// tests). connected reports the bridge stream; it may be nil.
func ListenHealth(port int, connected func() bool) (*HealthServer, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("", strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("agent: binding the health check on port %d (server.port): %w", port, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc(HealthPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		up := connected != nil && connected()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "UP", "bridgeConnected": up})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second, MaxHeaderBytes: 8 << 10}
	return &HealthServer{srv: srv, ln: ln}, nil
}

// Addr is where the health check listens.
func (h *HealthServer) Addr() string { return h.ln.Addr().String() }

// Serve answers until ctx ends.
func (h *HealthServer) Serve(ctx context.Context, log *slog.Logger) {
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = h.srv.Shutdown(sctx)
	}()
	if err := h.srv.Serve(h.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("the health check stopped", "err", err)
	}
}
