package bridge

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/bridge/store"
)

// adminService implements bridgev1.AdminServiceServer.
type adminService struct {
	bridgev1.UnimplementedAdminServiceServer
	s *Server
}

// validateSpec checks a registration before it is stored.
func validateSpec(spec *bridgev1.AccountSpec) error {
	if spec == nil {
		return status.Error(codes.InvalidArgument, "spec is required")
	}
	if errs := validation.IsDNS1123Subdomain(spec.GetName()); len(errs) > 0 {
		return status.Errorf(codes.InvalidArgument, "account name %q is not valid: %s", spec.GetName(), errs[0])
	}
	if len(spec.GetKinds()) > 0 && len(spec.GetOmitKinds()) > 0 {
		return status.Errorf(codes.InvalidArgument, "account %q sets both kinds and omit_kinds: set one of them", spec.GetName())
	}
	if len(spec.GetNamespaces()) > 0 && len(spec.GetOmitNamespaces()) > 0 {
		return status.Errorf(codes.InvalidArgument, "account %q sets both namespaces and omit_namespaces: set one of them", spec.GetName())
	}
	if spec.GetGracePeriodSeconds() < 0 {
		return status.Errorf(codes.InvalidArgument, "account %q: grace_period_seconds must not be negative", spec.GetName())
	}
	if err := validateClouddriverURL(spec.GetClouddriverUrl()); err != nil {
		return status.Errorf(codes.InvalidArgument, "account %q: %v", spec.GetName(), err)
	}
	return nil
}

// validateClouddriverURL: an http(s) URL of a host, without credentials,
// query or fragment (it is stored in the registration and logged).
func validateClouddriverURL(raw string) error {
	if raw == "" {
		return nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, which may hold a password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("clouddriver_url is not a URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("clouddriver_url %q must start with http:// or https:// (e.g. http://spin-clouddriver.spinnaker:7002)", raw)
	case u.Host == "":
		return fmt.Errorf("clouddriver_url %q names no host (e.g. http://spin-clouddriver.spinnaker:7002)", raw)
	case u.User != nil:
		return errors.New("clouddriver_url must not carry credentials (user:password@): the registration is stored and logged in the clear")
	case u.RawQuery != "" || u.Fragment != "":
		return fmt.Errorf("clouddriver_url %q must not have a query or fragment: give Clouddriver's base URL", raw)
	}
	return nil
}

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (a *adminService) RegisterAccount(ctx context.Context, req *bridgev1.RegisterAccountRequest) (*bridgev1.RegisterAccountResponse, error) {
	spec := req.GetSpec()
	if err := validateSpec(spec); err != nil {
		return nil, err
	}
	id := newID()
	cred, hash, err := a.s.keys().newCredential(id)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	b, err := encodeSpec(spec)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	now := time.Now()
	rec := &store.Account{ID: id, Name: spec.GetName(), Spec: b, CredentialHash: hash, CreatedAt: now, UpdatedAt: now}
	s := a.s
	// The store is the arbiter of uniqueness (several replicas may share it).
	if err := s.cfg.Store.Create(ctx, rec); err != nil {
		if errors.Is(err, store.ErrExists) {
			return nil, status.Errorf(codes.AlreadyExists, "account %q is already registered: deregister it first or choose another name", spec.GetName())
		}
		return nil, status.Errorf(codes.Unavailable, "registering account %q: %v", spec.GetName(), err)
	}
	st := &accountState{rec: rec}
	st.setSpec(proto.Clone(spec).(*bridgev1.AccountSpec))
	s.reg.mu.Lock()
	s.reg.accounts[spec.GetName()] = st
	acct := s.accountProtoLocked(spec.GetName(), st)
	s.reg.mu.Unlock()
	s.log.Info("account registered", "account", spec.GetName(), "id", rec.ID)
	return &bridgev1.RegisterAccountResponse{Account: acct, Credential: cred}, nil
}

func notRegistered(name string) error {
	return status.Errorf(codes.NotFound, "account %q is not registered at this bridge", name)
}

func (a *adminService) GetAccount(_ context.Context, req *bridgev1.GetAccountRequest) (*bridgev1.Account, error) {
	s := a.s
	s.lookupOrLoad(req.GetName())
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	st := s.reg.accounts[req.GetName()]
	if st == nil {
		return nil, notRegistered(req.GetName())
	}
	return s.accountProtoLocked(req.GetName(), st), nil
}

func (a *adminService) ListAccounts(context.Context, *bridgev1.ListAccountsRequest) (*bridgev1.ListAccountsResponse, error) {
	s := a.s
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	out := &bridgev1.ListAccountsResponse{}
	for name, st := range s.reg.accounts {
		out.Accounts = append(out.Accounts, s.accountProtoLocked(name, st))
	}
	sortAccounts(out.Accounts)
	return out, nil
}

func (a *adminService) UpdateAccount(ctx context.Context, req *bridgev1.UpdateAccountRequest) (*bridgev1.Account, error) {
	spec := req.GetSpec()
	if err := validateSpec(spec); err != nil {
		return nil, err
	}
	s := a.s
	if s.lookupOrLoad(spec.GetName()) == nil {
		return nil, notRegistered(spec.GetName())
	}
	b, err := encodeSpec(spec)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	now := time.Now()
	if err := s.cfg.Store.UpdateSpec(ctx, spec.GetName(), b, now); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notRegistered(spec.GetName())
		}
		return nil, status.Errorf(codes.Unavailable, "updating account %q: %v", spec.GetName(), err)
	}
	s.reg.mu.Lock()
	defer s.reg.mu.Unlock()
	st := s.reg.accounts[spec.GetName()]
	if st == nil {
		return nil, notRegistered(spec.GetName())
	}
	if st.spec.GetClouddriverUrl() != spec.GetClouddriverUrl() {
		s.refresh.forget(spec.GetName()) // a new Clouddriver is not paused for the old one's answers
	}
	st.setSpec(proto.Clone(spec).(*bridgev1.AccountSpec))
	st.rec.UpdatedAt = now
	if st.session != nil {
		// Drop what the new registration excludes and ask the agent for
		// everything again: what it now includes arrives with the resync.
		s.refilterLocked(spec.GetName(), st)
	}
	return s.accountProtoLocked(spec.GetName(), st), nil
}

func (a *adminService) DeregisterAccount(ctx context.Context, req *bridgev1.DeregisterAccountRequest) (*bridgev1.DeregisterAccountResponse, error) {
	s := a.s
	name := req.GetName()
	if err := s.cfg.Store.Delete(ctx, name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notRegistered(name)
		}
		return nil, status.Errorf(codes.Unavailable, "deregistering account %q: %v", name, err)
	}
	s.reg.mu.Lock()
	st := s.reg.accounts[name]
	delete(s.reg.accounts, name)
	if st != nil {
		st.deleted.Store(true)
		if st.graceTimer != nil {
			st.graceTimer.Stop()
		}
	}
	s.reg.mu.Unlock()
	if st != nil {
		s.metrics.revocations.WithLabelValues("deregistered").Inc()
		s.revoke(name, st, errDeregistered(name))
	}
	s.cache.Drop(name)
	s.log.Info("account deregistered", "account", name)
	return &bridgev1.DeregisterAccountResponse{}, nil
}

func (a *adminService) RotateCredential(ctx context.Context, req *bridgev1.RotateCredentialRequest) (*bridgev1.RotateCredentialResponse, error) {
	s := a.s
	name := req.GetName()
	st := s.lookupOrLoad(name)
	if st == nil {
		return nil, notRegistered(name)
	}
	s.reg.mu.Lock()
	id := st.rec.ID
	s.reg.mu.Unlock()
	cred, hash, err := s.keys().newCredential(id)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	now := time.Now()
	if err := s.cfg.Store.UpdateCredential(ctx, name, hash, now); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, notRegistered(name)
		}
		return nil, status.Errorf(codes.Unavailable, "rotating the credential of %q: %v", name, err)
	}
	s.reg.mu.Lock()
	st = s.reg.accounts[name]
	if st != nil {
		st.rec.CredentialHash = hash
		st.rec.UpdatedAt = now
	}
	s.reg.mu.Unlock()
	if st != nil {
		// The agent holding the old credential stops serving now.
		s.metrics.revocations.WithLabelValues("rotated").Inc()
		s.revoke(name, st, errRotated(name))
	}
	return &bridgev1.RotateCredentialResponse{Credential: cred}, nil
}

func (a *adminService) GetCredential(_ context.Context, req *bridgev1.GetCredentialRequest) (*bridgev1.GetCredentialResponse, error) {
	s := a.s
	st := s.lookupOrLoad(req.GetName())
	if st == nil {
		return nil, notRegistered(req.GetName())
	}
	s.reg.mu.Lock()
	id, stored := st.rec.ID, st.rec.CredentialHash
	s.reg.mu.Unlock()
	cred, err := s.keys().recoverCredential(id, stored, time.Now())
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "account %q: %v", req.GetName(), err)
	}
	return &bridgev1.GetCredentialResponse{Credential: cred}, nil
}

func (a *adminService) GetKubeconfig(_ context.Context, req *bridgev1.GetKubeconfigRequest) (*bridgev1.GetKubeconfigResponse, error) {
	s := a.s
	st := s.lookupOrLoad(req.GetName())
	if st == nil {
		return nil, notRegistered(req.GetName())
	}
	if s.cfg.EndpointURL == "" {
		return nil, status.Error(codes.FailedPrecondition, "this bridge runs without a Kubernetes endpoint (--endpoint-url is not set)")
	}
	s.reg.mu.Lock()
	id, stored := st.rec.ID, st.rec.CredentialHash
	s.reg.mu.Unlock()
	server := s.cfg.EndpointURL + "/accounts/" + req.GetName()
	token, err := s.keys().endpointToken(id, stored, time.Now())
	if err != nil {
		return nil, status.Errorf(codes.FailedPrecondition, "account %q: %v", req.GetName(), err)
	}
	kc, err := kubeconfigFor(req.GetName(), server, token, s.cfg.EndpointCAPEM)
	if err != nil {
		return nil, status.Error(codes.Internal, err.Error())
	}
	return &bridgev1.GetKubeconfigResponse{Kubeconfig: string(kc), Server: server, Token: token}, nil
}

// kubeconfigFor writes a kubeconfig whose single context is the account.
func kubeconfigFor(name, server, token string, caPEM []byte) ([]byte, error) {
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server, CertificateAuthorityData: caPEM}
	cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: token}
	cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	cfg.CurrentContext = name
	b, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, fmt.Errorf("writing the kubeconfig of %q: %w", name, err)
	}
	return b, nil
}

func sortAccounts(a []*bridgev1.Account) {
	sort.Slice(a, func(i, j int) bool { return a[i].GetSpec().GetName() < a[j].GetSpec().GetName() })
}
