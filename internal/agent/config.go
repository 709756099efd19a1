package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	"github.com/spinops/terraform-provider-spinops/internal/scope"
)

// Modes of running an agent.
const (
	// ModeAgent: the agent runs in the target cluster and serves one account
	// through its in-cluster service account.
	ModeAgent = "agent"
	// ModeInfrastructure: one agent serves many clusters from kubeconfigs.
	ModeInfrastructure = "infrastructure"
	// ModeSpinnakerService: the agent runs beside Spinnaker (kubeconfigs).
	ModeSpinnakerService = "spinnaker-service"
)

// Config is the agent's configuration file. It uses the Armory agent's keys
// (kubernetes.accounts[] ...); `clouddriver:` is accepted as another name
// for `bridge:`.
type Config struct {
	Mode    string `json:"mode,omitempty"`
	AgentID string `json:"agentId,omitempty"`

	Bridge      *BridgeConfig `json:"bridge,omitempty"`
	Clouddriver *BridgeConfig `json:"clouddriver,omitempty"`

	Kubernetes KubernetesConfig `json:"kubernetes"`
	Budget     BudgetConfig     `json:"budget,omitempty"`
	// Server is the agent's one listener: the local health check (the
	// Armory agent's server.port).
	Server ServerConfig `json:"server,omitempty"`

	// Notices are what the file holds that the agent does not use: the
	// Armory keys that have no meaning here, and unknown keys (logged once,
	// never an error: Armory's config may be pasted as is).
	Notices Notices `json:"-"`
}

// ServerConfig is the health listener.
type ServerConfig struct {
	// Port serves GET /health on every interface (0: the default 8082; -1:
	// no listener).
	Port int `json:"port,omitempty"`
}

// DefaultHealthPort is the Armory agent's server.port default.
const DefaultHealthPort = 8082

// BridgeConfig says how to reach the bridge.
type BridgeConfig struct {
	// GRPC is the bridge's address, host:port.
	GRPC     string    `json:"grpc"`
	Insecure bool      `json:"insecure,omitempty"` // plaintext (local development)
	TLS      TLSConfig `json:"tls,omitempty"`
	Auth     Auth      `json:"auth,omitempty"`
	// HeartbeatInterval overrides the interval the bridge asks for.
	HeartbeatInterval Duration `json:"heartbeatInterval,omitempty"`
	// ReconnectMin / ReconnectMax bound the exponential backoff.
	ReconnectMin Duration `json:"reconnectMin,omitempty"`
	ReconnectMax Duration `json:"reconnectMax,omitempty"`

	// The Armory agent's keys.
	// KeepAliveHeartbeatSeconds: how often a gRPC keepalive ping is sent
	// (unset: 20; 0: none).
	KeepAliveHeartbeatSeconds *int `json:"keepAliveHeartbeatSeconds,omitempty"`
	// KeepAliveTimeOutSeconds: how long a ping may go unanswered before the
	// connection is closed (unset: 10).
	KeepAliveTimeOutSeconds *int `json:"keepAliveTimeOutSeconds,omitempty"`
	// NoProxy: ignore HTTP_PROXY / HTTPS_PROXY / NO_PROXY for the bridge.
	NoProxy bool `json:"noProxy,omitempty"`
	// Backoff: the reconnect backoff in nanoseconds (baseDelay is
	// reconnectMin, maxDelay reconnectMax).
	Backoff *ArmoryBackoff `json:"backoff,omitempty"`
}

// ArmoryBackoff is clouddriver.backoff (nanoseconds).
type ArmoryBackoff struct {
	BaseDelay int64 `json:"baseDelay,omitempty"`
	MaxDelay  int64 `json:"maxDelay,omitempty"`
}

// KeepAlive returns the gRPC keepalive ping interval and timeout (0: no
// pings).
func (b *BridgeConfig) KeepAlive() (every, timeout time.Duration) {
	every, timeout = 20*time.Second, 10*time.Second
	if b.KeepAliveHeartbeatSeconds != nil {
		every = time.Duration(*b.KeepAliveHeartbeatSeconds) * time.Second
	}
	if b.KeepAliveTimeOutSeconds != nil {
		timeout = time.Duration(*b.KeepAliveTimeOutSeconds) * time.Second
	}
	return every, timeout
}

// TLSConfig is the client side of TLS / mTLS to the bridge.
type TLSConfig struct {
	CACertFile string `json:"caCertFile,omitempty"`
	// CACertFileArmory is the Armory agent's spelling, cacertFile.
	CACertFileArmory   string `json:"cacertFile,omitempty"`
	ClientCertFile     string `json:"clientCertFile,omitempty"`
	ClientKeyFile      string `json:"clientKeyFile,omitempty"`
	ServerName         string `json:"serverName,omitempty"`
	InsecureSkipVerify bool   `json:"insecureSkipVerify,omitempty"`
}

// Auth is the agent credential issued at registration (for every account
// that does not set its own).
type Auth struct {
	Token     string `json:"token,omitempty"`
	TokenFile string `json:"tokenFile,omitempty"`
	// TokenCommand prints the credential (the Armory agent's
	// clouddriver.auth.tokenCommand): raw, or JSON with a "token" field.
	TokenCommand *TokenCommand `json:"tokenCommand,omitempty"`
}

// TokenCommand runs a command for the credential.
type TokenCommand struct {
	Command string   `json:"command"`
	Args    []string `json:"args,omitempty"`
	// Format: raw, or json / empty (a JSON object with a token field).
	Format string `json:"format,omitempty"`
	// RefreshIntervalSeconds: the credential is read when an account
	// starts; it is not refreshed on a timer here.
	RefreshIntervalSeconds int `json:"refreshIntervalSeconds,omitempty"`
}

// KubernetesConfig lists the accounts.
type KubernetesConfig struct {
	Accounts []AccountConfig `json:"accounts"`
}

// AccountConfig is one cluster the agent serves.
type AccountConfig struct {
	Name           string `json:"name"`
	KubeconfigFile string `json:"kubeconfigFile,omitempty"`
	// KubeConfigFileArmory is the Armory agent's spelling, kubeConfigFile.
	KubeConfigFileArmory string `json:"kubeConfigFile,omitempty"`
	Context              string `json:"context,omitempty"`
	// ServiceAccount: use the in-cluster service account (agent mode).
	ServiceAccount          bool        `json:"serviceAccount,omitempty"`
	Namespaces              []string    `json:"namespaces,omitempty"`
	OmitNamespaces          []string    `json:"omitNamespaces,omitempty"`
	Kinds                   []string    `json:"kinds,omitempty"`
	OmitKinds               []string    `json:"omitKinds,omitempty"`
	OnlyNamespacedResources bool        `json:"onlyNamespacedResources,omitempty"`
	Permissions             Permissions `json:"permissions,omitempty"`
	// Credential / CredentialFile: this account's agent credential.
	Credential     string `json:"credential,omitempty"`
	CredentialFile string `json:"credentialFile,omitempty"`
}

// Permissions are the Spinnaker roles that may read and write the account
// (reported to the bridge; Spinnaker's Fiat enforces them).
type Permissions struct {
	Read  []string `json:"READ,omitempty"`
	Write []string `json:"WRITE,omitempty"`
}

// Rules are the account's rules as internal/scope applies them (the same
// the bridge applies to the registration).
func (a AccountConfig) Rules() scope.Rules {
	return scope.Rules{
		Namespaces: a.Namespaces, OmitNamespaces: a.OmitNamespaces,
		Kinds: a.Kinds, OmitKinds: a.OmitKinds,
		OnlyNamespacedResources: a.OnlyNamespacedResources,
		Read:                    a.Permissions.Read, Write: a.Permissions.Write,
	}
}

// BudgetConfig bounds the agent's memory for events not yet acknowledged.
type BudgetConfig struct {
	// MaxInFlightBytes: event bytes sent and not yet acknowledged, over all
	// accounts. When reached, sending waits (backpressure): changed objects
	// are then only remembered by key, once each, however often they change.
	MaxInFlightBytes int `json:"maxInFlightBytes,omitempty"`
	// MaxBatchBytes / MaxBatchEvents bound one message.
	MaxBatchBytes  int `json:"maxBatchBytes,omitempty"`
	MaxBatchEvents int `json:"maxBatchEvents,omitempty"`
	// MaxConcurrentOperations bounds the operations (forwarded requests)
	// running at once; one more is answered 429 at once.
	MaxConcurrentOperations int `json:"maxConcurrentOperations,omitempty"`
}

// Duration is a time.Duration written as "10s".
type Duration struct{ time.Duration }

// UnmarshalJSON reads "10s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" || s == "null" {
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		var secs float64
		if _, err2 := fmt.Sscanf(s, "%g", &secs); err2 != nil {
			return fmt.Errorf("%q is not a duration (like 10s): %w", s, err)
		}
		v = time.Duration(secs * float64(time.Second))
	}
	d.Duration = v
	return nil
}

// MarshalJSON writes "10s".
func (d Duration) MarshalJSON() ([]byte, error) { return []byte(`"` + d.String() + `"`), nil }

// Defaults.
const (
	defaultMaxInFlightBytes = 8 << 20
	defaultMaxBatchBytes    = 1 << 20
	defaultMaxBatchEvents   = 500
	// defaultMaxConcurrentOperations: Clouddriver runs a handful of kubectl
	// commands per account at once; 64 leaves room for many accounts.
	defaultMaxConcurrentOperations = 64
	defaultReconnectMin            = 500 * time.Millisecond
	defaultReconnectMax            = 30 * time.Second
)

// LoadConfig reads and checks the config file at path.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the agent config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		return nil, fmt.Errorf("agent config %s: %w", path, err)
	}
	return c, nil
}

// ParseConfig parses (YAML or JSON), defaults and validates a config. The
// Armory agent's config may be pasted as is: its keys are mapped to their
// meaning here or noted as having none, and unknown keys are noted (see
// Notices), never an error. Wrong values (a bad duration, a missing name,
// a string where a number goes) are errors.
func ParseConfig(b []byte) (*Config, error) {
	// yaml.Unmarshal reads scalars by the type of their field (a namespace
	// called y stays a string); the key walk reads the document untyped.
	var c Config
	if err := yaml.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	var doc any
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("parsing: %w", err)
	}
	c.Notices = noticesOf(doc)
	if err := c.normalize(); err != nil {
		return nil, err
	}
	return &c, nil
}

// BridgeSettings returns the bridge block (bridge: or clouddriver:).
func (c *Config) BridgeSettings() *BridgeConfig {
	if c.Bridge != nil {
		return c.Bridge
	}
	return c.Clouddriver
}

func (c *Config) normalize() error {
	var errs []error
	if c.Bridge != nil && c.Clouddriver != nil {
		errs = append(errs, errors.New("set bridge or clouddriver, not both"))
	}
	// The bridge address may come from the environment (the installed
	// agent's Deployment reads it from its Secret).
	if env := os.Getenv("SPINOPS_BRIDGE_ADDRESS"); env != "" {
		if c.BridgeSettings() == nil {
			c.Bridge = &BridgeConfig{}
		}
		if b := c.BridgeSettings(); b.GRPC == "" {
			b.GRPC = env
		}
	}
	b := c.BridgeSettings()
	if b != nil {
		if b.TLS.CACertFile == "" {
			b.TLS.CACertFile = b.TLS.CACertFileArmory
		} else if b.TLS.CACertFileArmory != "" && b.TLS.CACertFileArmory != b.TLS.CACertFile {
			errs = append(errs, errors.New("bridge.tls.caCertFile and cacertFile (the Armory spelling) name different files: set one"))
		}
		b.TLS.CACertFileArmory = ""
		if bo := b.Backoff; bo != nil {
			if bo.BaseDelay < 0 || bo.MaxDelay < 0 {
				errs = append(errs, errors.New("clouddriver.backoff delays are nanoseconds and must not be negative"))
			}
			if b.ReconnectMin.Duration == 0 {
				b.ReconnectMin.Duration = time.Duration(bo.BaseDelay)
			}
			if b.ReconnectMax.Duration == 0 {
				b.ReconnectMax.Duration = time.Duration(bo.MaxDelay)
			}
		}
		if b.KeepAliveHeartbeatSeconds != nil && *b.KeepAliveHeartbeatSeconds < 0 || b.KeepAliveTimeOutSeconds != nil && *b.KeepAliveTimeOutSeconds < 0 {
			errs = append(errs, errors.New("keepAliveHeartbeatSeconds and keepAliveTimeOutSeconds must not be negative"))
		}
		if tc := b.Auth.TokenCommand; tc != nil {
			if tc.Command == "" {
				errs = append(errs, errors.New("auth.tokenCommand.command is required when tokenCommand is set"))
			}
			if tc.Format != "" && tc.Format != "raw" && tc.Format != "json" {
				errs = append(errs, fmt.Errorf("auth.tokenCommand.format %q is not raw or json", tc.Format))
			}
			if b.Auth.Token != "" || b.Auth.TokenFile != "" {
				errs = append(errs, errors.New("set one of auth.token, auth.tokenFile and auth.tokenCommand"))
			}
		}
	}
	switch {
	case c.Server.Port == 0:
		c.Server.Port = DefaultHealthPort
	case c.Server.Port < -1 || c.Server.Port > 65535:
		errs = append(errs, fmt.Errorf("server.port %d is not a port (1-65535, or -1 for no health listener)", c.Server.Port))
	}
	switch {
	case b == nil:
		errs = append(errs, errors.New("bridge.grpc (the bridge's host:port) is required; or set SPINOPS_BRIDGE_ADDRESS"))
	case b.GRPC == "":
		errs = append(errs, errors.New("bridge.grpc (the bridge's host:port) is required"))
	case !strings.Contains(b.GRPC, ":"):
		errs = append(errs, fmt.Errorf("bridge.grpc %q must be host:port", b.GRPC))
	}
	if b != nil {
		if b.Insecure && (b.TLS.CACertFile != "" || b.TLS.ClientCertFile != "") {
			errs = append(errs, errors.New("bridge.insecure (plaintext) cannot be combined with bridge.tls"))
		}
		if (b.TLS.ClientCertFile == "") != (b.TLS.ClientKeyFile == "") {
			errs = append(errs, errors.New("bridge.tls.clientCertFile and clientKeyFile go together"))
		}
		if b.Auth.Token != "" && b.Auth.TokenFile != "" {
			errs = append(errs, errors.New("set bridge.auth.token or bridge.auth.tokenFile, not both"))
		}
		if b.ReconnectMin.Duration == 0 {
			b.ReconnectMin.Duration = defaultReconnectMin
		}
		if b.ReconnectMax.Duration == 0 {
			b.ReconnectMax.Duration = defaultReconnectMax
		}
		if b.ReconnectMax.Duration < b.ReconnectMin.Duration {
			errs = append(errs, errors.New("bridge.reconnectMax must not be below reconnectMin"))
		}
	}
	for i := range c.Kubernetes.Accounts {
		a := &c.Kubernetes.Accounts[i]
		if a.KubeconfigFile == "" {
			a.KubeconfigFile = a.KubeConfigFileArmory
		} else if a.KubeConfigFileArmory != "" && a.KubeConfigFileArmory != a.KubeconfigFile {
			errs = append(errs, fmt.Errorf("kubernetes.accounts[%d]: kubeconfigFile and kubeConfigFile name different files: set one", i))
		}
		a.KubeConfigFileArmory = ""
	}
	if c.Mode == "" {
		c.Mode = ModeInfrastructure
		if len(c.Kubernetes.Accounts) == 1 && c.Kubernetes.Accounts[0].KubeconfigFile == "" {
			c.Mode = ModeAgent
		}
	}
	switch c.Mode {
	case ModeAgent:
		if len(c.Kubernetes.Accounts) != 1 {
			errs = append(errs, fmt.Errorf("mode agent serves exactly one account; kubernetes.accounts has %d", len(c.Kubernetes.Accounts)))
		}
	case ModeInfrastructure, ModeSpinnakerService:
	default:
		errs = append(errs, fmt.Errorf("mode %q is not one of agent, infrastructure, spinnaker-service", c.Mode))
	}
	if c.Budget.MaxInFlightBytes == 0 {
		c.Budget.MaxInFlightBytes = defaultMaxInFlightBytes
	}
	if c.Budget.MaxBatchBytes == 0 {
		c.Budget.MaxBatchBytes = defaultMaxBatchBytes
	}
	if c.Budget.MaxBatchEvents == 0 {
		c.Budget.MaxBatchEvents = defaultMaxBatchEvents
	}
	if c.Budget.MaxConcurrentOperations == 0 {
		c.Budget.MaxConcurrentOperations = defaultMaxConcurrentOperations
	}
	if c.Budget.MaxInFlightBytes < 0 || c.Budget.MaxBatchBytes < 0 || c.Budget.MaxBatchEvents < 0 || c.Budget.MaxConcurrentOperations < 0 {
		errs = append(errs, errors.New("budget values must be positive"))
	} else if c.Budget.MaxBatchBytes > c.Budget.MaxInFlightBytes {
		errs = append(errs, fmt.Errorf("budget.maxBatchBytes (%d) must not exceed budget.maxInFlightBytes (%d)", c.Budget.MaxBatchBytes, c.Budget.MaxInFlightBytes))
	}
	seen := map[string]bool{}
	for i := range c.Kubernetes.Accounts {
		a := &c.Kubernetes.Accounts[i]
		where := fmt.Sprintf("kubernetes.accounts[%d]", i)
		if a.Name != "" {
			where += fmt.Sprintf(" (%s)", a.Name)
		}
		if msgs := validation.IsDNS1123Subdomain(a.Name); len(msgs) > 0 {
			errs = append(errs, fmt.Errorf("%s: name %q is not valid: %s", where, a.Name, msgs[0]))
		}
		if seen[a.Name] {
			errs = append(errs, fmt.Errorf("%s: account %q is listed twice", where, a.Name))
		}
		seen[a.Name] = true
		if err := a.Rules().ValidateNamed(scope.ArmoryKeys); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", where, err))
		}
		if a.ServiceAccount && a.KubeconfigFile != "" {
			errs = append(errs, fmt.Errorf("%s: serviceAccount and kubeconfigFile are exclusive", where))
		}
		if a.KubeconfigFile == "" && !a.ServiceAccount {
			if c.Mode == ModeAgent {
				a.ServiceAccount = true
			} else {
				errs = append(errs, fmt.Errorf("%s: mode %s needs a kubeconfigFile (or serviceAccount: true)", where, c.Mode))
			}
		}
		if a.Credential != "" && a.CredentialFile != "" {
			errs = append(errs, fmt.Errorf("%s: set credential or credentialFile, not both", where))
		}
	}
	return errors.Join(errs...)
}

// credential returns the agent credential for an account.
func (c *Config) credential(a *AccountConfig) (string, error) {
	switch {
	case a.Credential != "":
		return a.Credential, nil
	case a.CredentialFile != "":
		return readSecretFile(a.CredentialFile)
	}
	// The bridge address may come from the environment (the installed
	// agent's Deployment reads it from its Secret).
	if env := os.Getenv("SPINOPS_BRIDGE_ADDRESS"); env != "" {
		if c.BridgeSettings() == nil {
			c.Bridge = &BridgeConfig{}
		}
		if b := c.BridgeSettings(); b.GRPC == "" {
			b.GRPC = env
		}
	}
	b := c.BridgeSettings()
	switch {
	case b.Auth.Token != "":
		return b.Auth.Token, nil
	case b.Auth.TokenFile != "":
		return readSecretFile(b.Auth.TokenFile)
	case b.Auth.TokenCommand != nil:
		return runTokenCommand(b.Auth.TokenCommand)
	}
	return "", nil
}

// runTokenCommand runs auth.tokenCommand; its output never reaches a log
// or an error.
func runTokenCommand(tc *TokenCommand) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tc.Command, tc.Args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("running auth.tokenCommand %s: %w", tc.Command, err)
	}
	if tc.Format == "raw" {
		return strings.TrimSpace(string(out)), nil
	}
	var v struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(out, &v); err != nil || v.Token == "" {
		return "", fmt.Errorf("auth.tokenCommand %s (format json) did not print a JSON object with a token: set format: raw for a bare token", tc.Command)
	}
	return v.Token, nil
}

func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("reading a credential: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}
