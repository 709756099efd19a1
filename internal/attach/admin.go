package attach

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"
)

// Settings say where the bridge's admin API is and how to authenticate.
type Settings struct {
	// Address is host:port of the bridge's gRPC server.
	Address string
	// Token is an admin token (sent as a bearer token).
	Token string
	// CACertificate (PEM) verifies the bridge; empty uses the system roots.
	CACertificate string
	// ClientCertificate / ClientKey (PEM) authenticate with mTLS.
	ClientCertificate string
	ClientKey         string
	// ServerName overrides the name verified in the bridge's certificate.
	ServerName string
	// Insecure speaks plaintext gRPC (local development only).
	Insecure bool
}

// Admin is a client of the bridge's admin API. Every error it returns is
// an *Error naming the bridge, the operation and what to check.
type Admin struct {
	address string
	token   string
	cc      *grpc.ClientConn
	api     bridgev1.AdminServiceClient
}

// Dial builds an admin client. It does not connect: the first call does,
// and an unreachable bridge is reported by that call.
func Dial(s Settings) (*Admin, error) {
	if s.Address == "" {
		return nil, errors.New("the bridge address is empty")
	}
	if !strings.Contains(s.Address, ":") {
		return nil, fmt.Errorf("the bridge address %q must be host:port (the bridge's gRPC port, 9091 by default)", s.Address)
	}
	var tc credentials.TransportCredentials
	if s.Insecure {
		if s.ClientCertificate != "" {
			return nil, errors.New("the bridge settings combine insecure (plaintext) with a client certificate: choose one")
		}
		tc = insecure.NewCredentials()
	} else {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: s.ServerName}
		if s.CACertificate != "" {
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM([]byte(s.CACertificate)) {
				return nil, errors.New("the bridge CA certificate holds no PEM certificate")
			}
			cfg.RootCAs = pool
		}
		if s.ClientCertificate != "" || s.ClientKey != "" {
			pair, err := tls.X509KeyPair([]byte(s.ClientCertificate), []byte(s.ClientKey))
			if err != nil {
				return nil, fmt.Errorf("loading the bridge client certificate and key: %w", err)
			}
			cfg.Certificates = []tls.Certificate{pair}
		}
		tc = credentials.NewTLS(cfg)
	}
	cc, err := grpc.NewClient(s.Address, grpc.WithTransportCredentials(tc))
	if err != nil {
		return nil, fmt.Errorf("creating a client for the bridge at %s: %w", s.Address, err)
	}
	return &Admin{address: s.Address, token: s.Token, cc: cc, api: bridgev1.NewAdminServiceClient(cc)}, nil
}

// Close releases the connection.
func (a *Admin) Close() error { return a.cc.Close() }

// Address is the bridge's address.
func (a *Admin) Address() string { return a.address }

func (a *Admin) ctx(ctx context.Context) context.Context {
	if a.token == "" {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+a.token)
}

// Error is a failed admin call.
type Error struct {
	Op      string // e.g. `registering account "prod"`
	Address string
	Code    codes.Code
	Message string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("bridge %s: %s: %s", e.Address, e.Op, e.Message)
	switch e.Code {
	case codes.Unavailable:
		msg += "; the bridge cannot be reached: check bridge.address (or SPINOPS_BRIDGE_ADDRESS), that the bridge is running, and the TLS settings (bridge.ca_certificate, bridge.server_name)"
	case codes.Unauthenticated, codes.PermissionDenied:
		msg += "; the bridge refused the admin credentials: check bridge.token (or SPINOPS_BRIDGE_TOKEN) or the admin client certificate"
	case codes.DeadlineExceeded:
		msg += "; the bridge did not answer in time"
	}
	return msg
}

// IsNotFound reports whether err says the account is not registered.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == codes.NotFound
}

// IsAlreadyExists reports whether err says the name is taken.
func IsAlreadyExists(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == codes.AlreadyExists
}

func (a *Admin) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	st, _ := status.FromError(err)
	msg := st.Message()
	if st.Code() == codes.Unavailable {
		// gRPC's connection errors are long; keep the cause.
		msg = strings.TrimPrefix(msg, "connection error: desc = ")
	}
	return &Error{Op: op, Address: a.address, Code: st.Code(), Message: msg}
}

// Register registers an account; the credential is returned once.
func (a *Admin) Register(ctx context.Context, spec *bridgev1.AccountSpec) (*bridgev1.Account, string, error) {
	r, err := a.api.RegisterAccount(a.ctx(ctx), &bridgev1.RegisterAccountRequest{Spec: spec})
	if err != nil {
		return nil, "", a.wrap(fmt.Sprintf("registering account %q", spec.GetName()), err)
	}
	return r.GetAccount(), r.GetCredential(), nil
}

// Get reads an account with its status.
func (a *Admin) Get(ctx context.Context, name string) (*bridgev1.Account, error) {
	r, err := a.api.GetAccount(a.ctx(ctx), &bridgev1.GetAccountRequest{Name: name})
	return r, a.wrap(fmt.Sprintf("reading account %q", name), err)
}

// List reads every account.
func (a *Admin) List(ctx context.Context) ([]*bridgev1.Account, error) {
	r, err := a.api.ListAccounts(a.ctx(ctx), &bridgev1.ListAccountsRequest{})
	if err != nil {
		return nil, a.wrap("listing accounts", err)
	}
	return r.GetAccounts(), nil
}

// Update replaces an account's registration.
func (a *Admin) Update(ctx context.Context, spec *bridgev1.AccountSpec) (*bridgev1.Account, error) {
	r, err := a.api.UpdateAccount(a.ctx(ctx), &bridgev1.UpdateAccountRequest{Spec: spec})
	return r, a.wrap(fmt.Sprintf("updating account %q", spec.GetName()), err)
}

// Deregister removes an account.
func (a *Admin) Deregister(ctx context.Context, name string) error {
	_, err := a.api.DeregisterAccount(a.ctx(ctx), &bridgev1.DeregisterAccountRequest{Name: name})
	return a.wrap(fmt.Sprintf("deregistering account %q", name), err)
}

// Credential returns the account's current agent credential.
func (a *Admin) Credential(ctx context.Context, name string) (string, error) {
	r, err := a.api.GetCredential(a.ctx(ctx), &bridgev1.GetCredentialRequest{Name: name})
	if err != nil {
		return "", a.wrap(fmt.Sprintf("reading the agent credential of %q", name), err)
	}
	return r.GetCredential(), nil
}

// Rotate issues a new agent credential; the old one stops working.
func (a *Admin) Rotate(ctx context.Context, name string) (string, error) {
	r, err := a.api.RotateCredential(a.ctx(ctx), &bridgev1.RotateCredentialRequest{Name: name})
	if err != nil {
		return "", a.wrap(fmt.Sprintf("rotating the agent credential of %q", name), err)
	}
	return r.GetCredential(), nil
}

// Kubeconfig returns the kubeconfig of the account's endpoint on the bridge.
func (a *Admin) Kubeconfig(ctx context.Context, name string) (*bridgev1.GetKubeconfigResponse, error) {
	r, err := a.api.GetKubeconfig(a.ctx(ctx), &bridgev1.GetKubeconfigRequest{Name: name})
	return r, a.wrap(fmt.Sprintf("reading the endpoint kubeconfig of %q", name), err)
}
