package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// CanaryCheck is the deepest check: it starts a pipeline (a no-op pipeline
// in a dedicated application) through Gate and waits for its execution to
// finish, so Gate, Front50 (the pipeline config), Orca (the execution) and
// its queue are all exercised. What it copies from Spinnaker:
//   - Gate PipelineController.groovy: POST /pipelines/{application}/{pipelineNameOrId}
//     answers 202 with Orca's answer; an unknown pipeline is a 404.
//   - Orca OperationsController.groovy (orchestratePipeline) answers
//     {"ref": "/pipelines/<execution id>"}.
//   - Gate GET /pipelines/{id} returns the execution; its "status" is an
//     Orca ExecutionStatus (orca-api ExecutionStatus.java): NOT_STARTED,
//     RUNNING, PAUSED, SUSPENDED, BUFFERED and REDIRECT are not complete;
//     SUCCEEDED is the one good end; TERMINAL, CANCELED, STOPPED,
//     FAILED_CONTINUE and SKIPPED are complete but not a success.
//
// The check passes when the execution SUCCEEDED within timeout (0: the
// monitor's check timeout); it polls every pollEvery (0: 500 ms).
func CanaryCheck(application, pipeline string, timeout, pollEvery time.Duration) Check {
	if pollEvery <= 0 {
		pollEvery = 500 * time.Millisecond
	}
	return Check{Name: "canary-pipeline", Service: "gate", Auth: true, Timeout: timeout,
		Custom: func(ctx context.Context, client *http.Client, e *Endpoints) (int, string) {
			return runCanary(ctx, client, e, application, pipeline, pollEvery)
		}}
}

var canaryRunning = map[string]bool{"NOT_STARTED": true, "RUNNING": true, "PAUSED": true, "SUSPENDED": true, "BUFFERED": true, "REDIRECT": true}

func runCanary(ctx context.Context, client *http.Client, e *Endpoints, application, pipeline string, pollEvery time.Duration) (int, string) {
	base := strings.TrimSuffix(e.GateURL, "/")
	do := func(method, path string, body []byte) (int, []byte, error) {
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(body))
		if err != nil {
			return 0, nil, scrubURLError(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json")
		e.Auth.apply(req)
		resp, err := client.Do(req)
		if err != nil {
			return 0, nil, scrubURLError(err)
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		return resp.StatusCode, b, scrubURLError(err)
	}
	code, body, err := do(http.MethodPost, "/pipelines/"+url.PathEscape(application)+"/"+url.PathEscape(pipeline), []byte(`{"type":"manual","user":"spinops-monitor"}`))
	switch {
	case err != nil:
		return code, "starting the canary pipeline: " + err.Error()
	case code == http.StatusNotFound:
		return code, fmt.Sprintf("Gate has no pipeline %q in application %q: create the canary pipeline or fix canary_pipeline", pipeline, application)
	case code >= 300 && code < 400, code == http.StatusUnauthorized, code == http.StatusForbidden:
		return code, fmt.Sprintf("starting the canary pipeline: HTTP %d: Gate refused the monitor's credentials (it needs EXECUTE on %s)", code, application)
	case code != http.StatusAccepted && code != http.StatusOK:
		return code, fmt.Sprintf("starting the canary pipeline: HTTP %d", code)
	}
	var started struct {
		Ref string `json:"ref"`
	}
	if err := json.Unmarshal(body, &started); err != nil || !strings.HasPrefix(started.Ref, "/pipelines/") {
		return code, "starting the canary pipeline: the answer has no /pipelines/<id> ref"
	}
	id := strings.TrimPrefix(started.Ref, "/pipelines/")
	status := "NOT_STARTED"
	for {
		code, body, err = do(http.MethodGet, "/pipelines/"+url.PathEscape(id), nil)
		if err == nil && code == http.StatusOK {
			var ex struct {
				Status string `json:"status"`
			}
			if json.Unmarshal(body, &ex) == nil && ex.Status != "" {
				status = ex.Status
			}
			if status == "SUCCEEDED" {
				return code, ""
			}
			if !canaryRunning[status] {
				return code, fmt.Sprintf("canary pipeline execution %s ended %s", id, status)
			}
		}
		t := time.NewTimer(pollEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return code, fmt.Sprintf("canary pipeline execution %s still %s when the check timed out", id, status)
		case <-t.C:
		}
	}
}
