// Package agent is the agent half of the Armory Agent design: it watches
// one or many Kubernetes clusters with informers (never polling), keeps the
// bridge's cache current over one outbound gRPC stream, and runs the
// operations the bridge forwards against the clusters' API servers.
package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"google.golang.org/grpc"
	"k8s.io/client-go/rest"
	"k8s.io/utils/clock"

	"github.com/spinops/terraform-provider-spinops/internal/kube"
)

const (
	reloadDebounce = 200 * time.Millisecond
	retryAccounts  = 10 * time.Second
)

// DefaultRediscoverEvery is Options.RediscoverEvery's default.
const DefaultRediscoverEvery = 30 * time.Second

// DefaultServiceAccountDir is where Kubernetes mounts a pod's service
// account (token, ca.crt): Options.ServiceAccountDir's default.
const DefaultServiceAccountDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// Options tune an agent beyond its config file. Like sample-controller's
// NewController, the agent takes its informers and its clock from the
// caller, so a test can hand it informers whose caches it preloaded and a
// clock it steps.
type Options struct {
	Logger *slog.Logger
	// DialOptions are added to the bridge connection (tests).
	DialOptions []grpc.DialOption
	// Informers makes the informer factory of an account's cluster; nil:
	// NewInformerFactory (the dynamic and metadata clients of restCfg).
	Informers func(restCfg *rest.Config) (InformerFactory, error)
	// Clock drives the agent's timers and stamps when a change was seen;
	// nil: the real clock.
	Clock clock.WithTicker
	// Version is reported to the bridge in the hello; "": "dev".
	Version string
	// RediscoverEvery is how often the agent asks each API server which
	// kinds it serves, to start watching CRDs installed after it started
	// (and stop watching removed ones). Objects are never polled: only
	// discovery is. 0: DefaultRediscoverEvery.
	RediscoverEvery time.Duration
	// ServiceAccountDir is where an agent-mode account reads its pod's
	// service account; "": DefaultServiceAccountDir.
	ServiceAccountDir string
	// MaxResponseBytes bounds a non-streamed answer of the API server the
	// agent holds to forward (watches and log follows stream, unbounded):
	// a larger one is reported to the caller as an error naming the limit,
	// never sent cut. 0: DefaultMaxResponseBytes (256 MiB).
	MaxResponseBytes int
}

// Agent runs the accounts of a config file and reloads it when it changes.
type Agent struct {
	path string
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	cfg      *Config
	accounts map[string]*runningAccount
	client   *Client
	// lastReloadErr is the error of the last reload that was rejected.
	lastReloadErr error
}

type runningAccount struct {
	cfg        AccountConfig
	credential string
	acct       *clusterAccount // nil while it fails to start
	err        error
}

// New loads the config file; a malformed file is an error here (at start
// there is no last good config to keep running).
func New(path string, opts Options) (*Agent, error) {
	cfg, err := LoadConfig(path)
	if err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Informers == nil {
		opts.Informers = NewInformerFactory
	}
	if opts.Clock == nil {
		opts.Clock = clock.RealClock{}
	}
	if opts.Version == "" {
		opts.Version = "dev"
	}
	if opts.RediscoverEvery <= 0 {
		opts.RediscoverEvery = DefaultRediscoverEvery
	}
	if opts.ServiceAccountDir == "" {
		opts.ServiceAccountDir = DefaultServiceAccountDir
	}
	return &Agent{path: path, opts: opts, log: opts.Logger.With("component", "agent"), cfg: cfg, accounts: map[string]*runningAccount{}}, nil
}

// Client is the stream client (tests observe it).
func (a *Agent) Client() *Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.client
}

// LastReloadError is why the last config edit was rejected (nil when the
// running config is the file's).
func (a *Agent) LastReloadError() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastReloadErr
}

// Accounts lists the accounts running (started and watching).
func (a *Agent) Accounts() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	for name, ra := range a.accounts {
		if ra.acct != nil {
			out = append(out, name)
		}
	}
	return out
}

func agentID(cfg *Config) string {
	if cfg.AgentID != "" {
		return cfg.AgentID
	}
	if h, err := os.Hostname(); err == nil {
		return h
	}
	return "spinops-agent"
}

// Run serves until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("agent: watching the config file: %w", err)
	}
	defer w.Close()
	// Watch the directory: editors and Kubernetes ConfigMap mounts replace
	// the file rather than write it.
	if err := w.Add(filepath.Dir(a.path)); err != nil {
		return fmt.Errorf("agent: watching %s: %w", filepath.Dir(a.path), err)
	}

	a.mu.Lock()
	cfg := a.cfg
	a.mu.Unlock()
	clientCtx, stopClient := context.WithCancel(ctx)
	var clientDone sync.WaitGroup
	startClient := func(cfg *Config) {
		c := NewClient(ClientConfig{
			AgentID: agentID(cfg), Version: a.opts.Version, Bridge: *cfg.BridgeSettings(), Budget: cfg.Budget,
			DialOptions: a.opts.DialOptions, Logger: a.opts.Logger,
		})
		a.mu.Lock()
		a.client = c
		a.mu.Unlock()
		clientCtx, stopClient = context.WithCancel(ctx)
		clientDone.Add(1)
		go func() {
			defer clientDone.Done()
			if err := c.Run(clientCtx); err != nil {
				a.log.Error("the bridge client stopped", "err", err)
			}
		}()
	}
	startClient(cfg)
	a.reconcile(ctx, cfg)

	retry := a.opts.Clock.NewTicker(retryAccounts)
	defer retry.Stop()
	rediscover := a.opts.Clock.NewTicker(a.opts.RediscoverEvery)
	defer rediscover.Stop()
	var debounce <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			stopClient()
			clientDone.Wait()
			a.stopAll()
			return nil
		case ev := <-w.Events:
			if filepath.Clean(ev.Name) == filepath.Clean(a.path) || filepath.Base(ev.Name) == "..data" {
				debounce = a.opts.Clock.After(reloadDebounce)
			}
		case err := <-w.Errors:
			a.log.Warn("watching the config file", "err", err)
		case <-debounce:
			debounce = nil
			next, err := LoadConfig(a.path)
			if err != nil {
				a.mu.Lock()
				a.lastReloadErr = err
				a.mu.Unlock()
				a.log.Error("config edit rejected; the last good config keeps running", "err", err)
				continue
			}
			a.mu.Lock()
			prev := a.cfg
			a.cfg = next
			a.lastReloadErr = nil
			a.mu.Unlock()
			a.log.Info("config reloaded", "accounts", len(next.Kubernetes.Accounts))
			if !reflect.DeepEqual(prev.BridgeSettings(), next.BridgeSettings()) || agentID(prev) != agentID(next) || prev.Budget != next.Budget {
				a.log.Info("bridge settings changed: reconnecting")
				stopClient()
				clientDone.Wait()
				startClient(next)
			}
			a.reconcile(ctx, next)
		case <-retry.C():
			a.mu.Lock()
			cur := a.cfg
			a.mu.Unlock()
			a.reconcile(ctx, cur)
		case <-rediscover.C():
			a.rediscover(ctx)
		}
	}
}

// reconcile starts, restarts and stops accounts to match cfg, then tells
// the client.
func (a *Agent) reconcile(ctx context.Context, cfg *Config) {
	want := map[string]AccountConfig{}
	for _, ac := range cfg.Kubernetes.Accounts {
		want[ac.Name] = ac
	}
	a.mu.Lock()
	var stop []*clusterAccount
	for name, ra := range a.accounts {
		if ac, ok := want[name]; !ok || !reflect.DeepEqual(ac, ra.cfg) {
			if ra.acct != nil {
				stop = append(stop, ra.acct)
			}
			delete(a.accounts, name)
		}
	}
	var start []AccountConfig
	for name, ac := range want {
		if ra := a.accounts[name]; ra == nil || ra.acct == nil {
			start = append(start, ac)
		}
	}
	a.mu.Unlock()
	for _, acct := range stop {
		a.log.Info("account removed or changed: stopping its informers", "account", acct.name)
		acct.stop()
	}
	var wg sync.WaitGroup
	for _, ac := range start {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ra := &runningAccount{cfg: ac}
			ra.credential, ra.err = cfg.credential(&ac)
			if ra.err == nil {
				ra.acct, ra.err = a.startAccount(ctx, ac, ra.credential)
			}
			if ra.err != nil {
				a.log.Error("account could not start; retrying", "account", ac.Name, "err", ra.err, "retry_in", retryAccounts)
			}
			a.mu.Lock()
			if old := a.accounts[ac.Name]; old != nil && old.acct != nil && ra.acct != nil {
				ra.acct.stop() // raced with another reconcile
				ra = old
			}
			a.accounts[ac.Name] = ra
			a.mu.Unlock()
		}()
	}
	wg.Wait()
	a.mu.Lock()
	var srcs []Source
	for _, ra := range a.accounts {
		if ra.acct != nil {
			srcs = append(srcs, ra.acct)
		}
	}
	client := a.client
	a.mu.Unlock()
	if client != nil {
		client.SetSources(srcs)
	}
}

// rediscover restarts the accounts whose clusters gained or lost kinds.
func (a *Agent) rediscover(ctx context.Context) {
	a.mu.Lock()
	running := map[string]*runningAccount{}
	for name, ra := range a.accounts {
		if ra.acct != nil {
			running[name] = ra
		}
	}
	cfg := a.cfg
	a.mu.Unlock()
	changed := false
	for name, ra := range running {
		if !ra.acct.kindsChanged() {
			continue
		}
		a.log.Info("the cluster's kinds changed (a CRD was installed or removed): restarting the account's informers", "account", name)
		a.mu.Lock()
		if a.accounts[name] == ra {
			delete(a.accounts, name)
			changed = true
		}
		a.mu.Unlock()
		ra.acct.stop()
	}
	if changed {
		a.reconcile(ctx, cfg)
	}
}

func (a *Agent) startAccount(ctx context.Context, ac AccountConfig, credential string) (*clusterAccount, error) {
	var restCfg *rest.Config
	var err error
	if ac.ServiceAccount {
		restCfg, err = inClusterConfig(a.opts.ServiceAccountDir)
		if err != nil {
			return nil, fmt.Errorf("account %s: reading the in-cluster service account: %w", ac.Name, err)
		}
	} else {
		restCfg, err = kube.Connection{ConfigPath: ac.KubeconfigFile, ConfigContext: ac.Context}.RESTConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("account %s: %w", ac.Name, err)
		}
	}
	restCfg.QPS, restCfg.Burst = 50, 100
	informers, err := a.opts.Informers(restCfg)
	if err != nil {
		return nil, fmt.Errorf("account %s: creating its informers: %w", ac.Name, err)
	}
	acct, err := startAccount(ctx, ac, credential, restCfg, informers, a.opts.Clock, a.opts.Logger)
	if err != nil {
		return nil, err
	}
	acct.maxResponse = a.opts.MaxResponseBytes
	return acct, nil
}

func (a *Agent) stopAll() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for name, ra := range a.accounts {
		if ra.acct != nil {
			ra.acct.stop()
		}
		delete(a.accounts, name)
	}
}

// inClusterConfig is rest.InClusterConfig reading the service account
// mounted in dir.
func inClusterConfig(dir string) (*rest.Config, error) {
	host, port := os.Getenv("KUBERNETES_SERVICE_HOST"), os.Getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return nil, errors.New("not running in a pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set")
	}
	tokenFile := filepath.Join(dir, "token")
	if _, err := os.Stat(tokenFile); err != nil {
		return nil, fmt.Errorf("reading the service account token: %w", err)
	}
	return &rest.Config{
		Host:            "https://" + net.JoinHostPort(host, port),
		BearerTokenFile: tokenFile, // re-read as the kubelet rotates it
		TLSClientConfig: rest.TLSClientConfig{CAFile: filepath.Join(dir, "ca.crt")},
	}, nil
}
