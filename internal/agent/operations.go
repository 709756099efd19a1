package agent

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"k8s.io/client-go/rest"

	bridgev1 "github.com/spinops/terraform-provider-spinops/proto/spinops/bridge/v1"
)

const (
	// resultChunk bounds the body of one OperationResult.
	resultChunk = 1 << 20
	// maxResponse bounds a non-streamed answer the agent holds at once.
	maxResponse = 256 << 20
)

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

// isSecretPath reports whether an API path addresses Secrets (core/v1).
func isSecretPath(p string) bool {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	if len(segs) < 3 || segs[0] != "api" {
		return false
	}
	segs = segs[2:]
	if len(segs) >= 3 && segs[0] == "namespaces" {
		segs = segs[2:]
	}
	return len(segs) > 0 && segs[0] == "secrets"
}

// Execute implements Source: the request runs against the API server with
// the account's own credentials, and the answer goes back in chunks.
// Secrets come back without their data, whatever the verb.
func (a *clusterAccount) Execute(ctx context.Context, op *bridgev1.Operation, send func(*bridgev1.OperationResult) error) {
	fail := func(err error) {
		_ = send(&bridgev1.OperationResult{Id: op.GetId(), StatusCode: http.StatusBadGateway, Done: true, Error: err.Error()})
	}
	client, err := a.httpClient()
	if err != nil {
		fail(fmt.Errorf("creating a client for %s: %w", a.restCfg.Host, err))
		return
	}
	u := strings.TrimRight(a.restCfg.Host, "/") + op.GetPath()
	if op.GetQuery() != "" {
		u += "?" + op.GetQuery()
	}
	req, err := http.NewRequestWithContext(ctx, op.GetMethod(), u, bytes.NewReader(op.GetBody()))
	if err != nil {
		fail(fmt.Errorf("building the request: %w", err))
		return
	}
	for _, h := range op.GetHeaders() {
		for _, v := range h.GetValues() {
			req.Header.Add(h.GetName(), v)
		}
	}
	a.log.Debug("operation", "op", op.GetId(), "method", op.GetMethod(), "path", op.GetPath(), "user", op.GetUser())
	resp, err := client.Do(req)
	if err != nil {
		fail(fmt.Errorf("%s %s: %w", op.GetMethod(), op.GetPath(), err))
		return
	}
	defer resp.Body.Close()
	first := &bridgev1.OperationResult{Id: op.GetId(), StatusCode: int32(resp.StatusCode)}
	for name, vals := range resp.Header {
		first.Headers = append(first.Headers, &bridgev1.Header{Name: name, Values: vals})
	}
	secret := isSecretPath(op.GetPath())
	if op.GetStream() {
		if err := send(first); err != nil {
			return
		}
		write := func(b []byte) error {
			return send(&bridgev1.OperationResult{Id: op.GetId(), Body: append([]byte(nil), b...)})
		}
		var copyErr error
		if secret {
			copyErr = scrubLines(resp.Body, write)
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
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		fail(fmt.Errorf("reading the answer to %s %s: %w", op.GetMethod(), op.GetPath(), err))
		return
	}
	if secret {
		body = scrubSecretJSON(body)
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
