package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"k8s.io/client-go/rest"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"

	"github.com/spinops/terraform-provider-spinops/internal/scope"
)

const (
	// resultChunk bounds the body of one OperationResult.
	resultChunk = 1 << 20
)

// DefaultMaxResponseBytes bounds a non-streamed answer the agent holds at
// once (Options.MaxResponseBytes); a larger one is reported, never sent
// cut.
const DefaultMaxResponseBytes = 256 << 20

func (a *clusterAccount) maxResponseBytes() int {
	if a.maxResponse > 0 {
		return a.maxResponse
	}
	return DefaultMaxResponseBytes
}

// forwardedHeaders are the request headers an operation may set: nothing
// that changes who the agent is (Impersonate-*, Authorization) or how the
// answer is encoded on the wire (Accept-Encoding).
var forwardedHeaders = map[string]bool{"Accept": true, "Content-Type": true, "User-Agent": true}

// httpClient is the account's authenticated client to its API server.
type httpClient struct {
	once   sync.Once
	client *http.Client
	err    error
}

func (a *clusterAccount) httpClient() (*http.Client, error) {
	a.http.once.Do(func() {
		a.http.client, a.http.err = rest.HTTPClientFor(a.restCfg)
	})
	return a.http.client, a.http.err
}

// scopeKind is a discovered kind as the rules see it.
func scopeKind(k *bridgev1.Kind) scope.Kind {
	return scope.Kind{Group: k.GetGroup(), Version: k.GetVersion(), Resource: k.GetResource(), Kind: k.GetKind(), Namespaced: k.GetNamespaced()}
}

// catalog indexes the kinds the account discovered.
func (a *clusterAccount) catalog() scope.Catalog {
	kinds := make([]scope.Kind, 0, len(a.hello.GetKinds()))
	for _, k := range a.hello.GetKinds() {
		kinds = append(kinds, scopeKind(k))
	}
	return scope.NewCatalog(kinds)
}

// statusResult is a Kubernetes Status answer to an operation.
func statusResult(id string, code int, reason, msg string) *bridgev1.OperationResult {
	b, _ := json.Marshal(map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": msg, "reason": reason, "code": code,
	})
	return &bridgev1.OperationResult{Id: id, StatusCode: int32(code), Done: true, Body: b,
		Headers: []*bridgev1.Header{{Name: "Content-Type", Values: []string{"application/json"}}, {Name: scope.AgentStatusHeader, Values: []string{"1"}}}}
}

// checkSecretMutable refuses a write of an immutable Secret, but for one
// of its metadata only (scope.MetadataOnlyWrite): the API
// server refuses one that changes its data (422, "field is immutable when
// `immutable` is set") and applies one that leaves it equal, so whether a
// write applies tells whether a guess equals the data, which the bridge
// never serves. The Secret is read first with the account's credentials
// (its data stays in the agent); one that does not exist yet passes (a
// write creates it or is answered 404). The bridge and this agent refuse a
// write that sets immutable (scope.CheckSecretSetsImmutable), so a caller
// cannot make a Secret immutable between this read and its write.
func (a *clusterAccount) checkSecretMutable(ctx context.Context, client *http.Client, req scope.Request, contentTypes []string, body []byte) error {
	u := strings.TrimRight(a.restCfg.Host, "/") + req.Path
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("checking whether Secret %s/%s is immutable: %w", req.Namespace, req.Name, err)
	}
	hreq.Header.Set("Accept", "application/json")
	resp, err := client.Do(hreq)
	if err != nil {
		return fmt.Errorf("checking whether Secret %s/%s is immutable: %w", req.Namespace, req.Name, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNotFound:
		return nil
	case http.StatusOK:
	default:
		return fmt.Errorf("checking whether Secret %s/%s is immutable: the API server answered %d, so the write is not sent", req.Namespace, req.Name, resp.StatusCode)
	}
	var s struct {
		Immutable *bool `json:"immutable"`
	}
	// The answer holds the data: only whether it parses is said.
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&s); err != nil {
		return fmt.Errorf("checking whether Secret %s/%s is immutable: the answer does not parse as a Secret, so the write is not sent", req.Namespace, req.Name)
	}
	if s.Immutable == nil || !*s.Immutable {
		return nil
	}
	// A write of its metadata only applies whatever the data: it passes
	// (every Content-Type given must say so).
	metadataOnly := len(contentTypes) > 0
	for _, ct := range contentTypes {
		metadataOnly = metadataOnly && scope.MetadataOnlyWrite(req.Verb, ct, body)
	}
	if !metadataOnly {
		return &scope.Denied{Reason: fmt.Sprintf("Secret %s/%s is immutable: a write to it other than a merge, strategic merge or JSON patch of its metadata alone is refused, since the API server applies one that leaves its data equal and refuses one that changes it, which tells the data the bridge never serves; delete it and create it anew", req.Namespace, req.Name)}
	}
	return nil
}

// Execute implements Source: the request runs against the API server with
// the account's own credentials, and the answer goes back in chunks. The
// account's rules are checked again here (the bridge checked them first);
// Secrets are asked for as JSON and come back without their data, whatever
// the verb, or not at all; a JSON Patch that would read a Secret's hidden
// values is refused here too (scope.CheckSecretRequest).
func (a *clusterAccount) Execute(ctx context.Context, op *bridgev1.Operation, send func(*bridgev1.OperationResult) error) {
	fail := func(err error) {
		_ = send(&bridgev1.OperationResult{Id: op.GetId(), StatusCode: http.StatusBadGateway, Done: true, Error: err.Error()})
	}
	req, q, err := scope.ParseRequest(op.GetMethod(), op.GetPath(), op.GetQuery())
	if err != nil {
		_ = send(statusResult(op.GetId(), http.StatusBadRequest, "BadRequest", fmt.Sprintf("account %s: %v", a.name, err)))
		return
	}
	if err := a.cfg.Rules().Check(req, a.catalog()); err != nil {
		a.log.Warn("operation outside the account's rules refused", "op", op.GetId(), "method", op.GetMethod(), "path", op.GetPath(), "reason", err)
		_ = send(statusResult(op.GetId(), http.StatusForbidden, "Forbidden", fmt.Sprintf("account %s: %v", a.name, err)))
		return
	}
	var contentTypes []string
	for _, h := range op.GetHeaders() {
		if http.CanonicalHeaderKey(h.GetName()) == "Content-Type" {
			contentTypes = append(contentTypes, h.GetValues()...)
		}
	}
	if err := scope.CheckSecretRequest(req, q, contentTypes, op.GetBody()); err != nil {
		a.log.Warn("a Secret patch that reads hidden values refused", "op", op.GetId(), "method", op.GetMethod(), "path", op.GetPath(), "reason", err)
		_ = send(statusResult(op.GetId(), http.StatusForbidden, "Forbidden", fmt.Sprintf("account %s: %v", a.name, err)))
		return
	}
	client, err := a.httpClient()
	if err != nil {
		fail(fmt.Errorf("creating a client for %s: %w", a.restCfg.Host, err))
		return
	}
	if req.IsSecret() && (req.Verb == "patch" || req.Verb == "update") {
		if err := a.checkSecretMutable(ctx, client, req, contentTypes, op.GetBody()); err != nil {
			var d *scope.Denied
			if errors.As(err, &d) {
				a.log.Warn("a write of an immutable Secret refused", "op", op.GetId(), "method", op.GetMethod(), "path", op.GetPath())
				_ = send(statusResult(op.GetId(), http.StatusForbidden, "Forbidden", fmt.Sprintf("account %s: %v", a.name, err)))
				return
			}
			fail(err)
			return
		}
	}
	u := strings.TrimRight(a.restCfg.Host, "/") + req.Path
	if op.GetQuery() != "" {
		u += "?" + op.GetQuery()
	}
	hreq, err := http.NewRequestWithContext(ctx, op.GetMethod(), u, bytes.NewReader(op.GetBody()))
	if err != nil {
		fail(fmt.Errorf("building the request: %w", err))
		return
	}
	for _, h := range op.GetHeaders() {
		name := http.CanonicalHeaderKey(h.GetName())
		if !forwardedHeaders[name] {
			continue
		}
		for _, v := range h.GetValues() {
			hreq.Header.Add(name, v)
		}
	}
	secret := req.IsSecret()
	if secret {
		hreq.Header.Set("Accept", scope.SecretAccept(hreq.Header.Values("Accept")))
	}
	a.log.Debug("operation", "op", op.GetId(), "method", op.GetMethod(), "path", op.GetPath(), "user", op.GetUser())
	resp, err := client.Do(hreq)
	if err != nil {
		fail(fmt.Errorf("%s %s: %w", op.GetMethod(), op.GetPath(), err))
		return
	}
	defer resp.Body.Close()
	first := &bridgev1.OperationResult{Id: op.GetId(), StatusCode: int32(resp.StatusCode)}
	for name, vals := range resp.Header {
		if secret && !scope.SecretAnswerHeader(name) {
			continue
		}
		first.Headers = append(first.Headers, &bridgev1.Header{Name: name, Values: vals})
	}
	if op.GetStream() || req.Streams(q) {
		if err := send(first); err != nil {
			return
		}
		write := func(b []byte) error {
			return send(&bridgev1.OperationResult{Id: op.GetId(), Body: append([]byte(nil), b...)})
		}
		var copyErr error
		if secret {
			copyErr = scope.ScrubSecretStream(resp.Body, write)
		} else {
			copyErr = copyChunks(resp.Body, write)
		}
		// A stream cut short (the API server closed a watch, the context
		// ended) is still finished; say why when it failed.
		done := &bridgev1.OperationResult{Id: op.GetId(), Done: true}
		if copyErr != nil && ctx.Err() == nil {
			done.Error = "streaming the response: " + copyErr.Error()
		}
		_ = send(done)
		return
	}
	limit := a.maxResponseBytes()
	body, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		fail(fmt.Errorf("reading the answer to %s %s (it is not sent cut): %w", op.GetMethod(), op.GetPath(), err))
		return
	}
	if len(body) > limit {
		a.log.Warn("an answer larger than the agent's limit was refused", "op", op.GetId(), "method", op.GetMethod(), "path", op.GetPath(), "limit", limit)
		fail(fmt.Errorf("the answer to %s %s exceeds the agent's limit of %d bytes and is not sent cut: narrow the request (limit and continue, labelSelector)", op.GetMethod(), op.GetPath(), limit))
		return
	}
	if secret {
		if body, err = scope.ScrubSecrets(body); err != nil {
			if errors.Is(err, scope.ErrNotJSON) {
				err = fmt.Errorf("the answer (%s) could not be scrubbed of Secret data, so it is refused: %w", resp.Header.Get("Content-Type"), err)
			}
			fail(fmt.Errorf("%s %s: %w", op.GetMethod(), op.GetPath(), err))
			return
		}
	}
	for {
		n := min(len(body), resultChunk)
		first.Body = body[:n]
		body = body[n:]
		first.Done = len(body) == 0
		if err := send(first); err != nil || first.Done {
			return
		}
		first = &bridgev1.OperationResult{Id: op.GetId()}
	}
}

// copyChunks sends what arrives as it arrives (watch events, followed logs).
func copyChunks(r io.Reader, write func([]byte) error) error {
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if werr := write(buf[:n]); werr != nil {
				return werr
			}
		}
		if err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
	}
}
