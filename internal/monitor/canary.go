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
//   - Gate PUT /pipelines/{id}/cancel?reason=… (cancelPipeline; reason
//     optional, force defaults to false; a void handler, so 200 with no
//     body) cancels an execution: the check cancels the one it gave up
//     on, so a stuck canary never piles up running executions.
//   - Gate GET /pipelines/{id} returns the execution; its "status" is an
//     Orca ExecutionStatus (orca-api ExecutionStatus.java): NOT_STARTED,
//     RUNNING, PAUSED, SUSPENDED, BUFFERED and REDIRECT are not complete;
//     SUCCEEDED is the one good end; TERMINAL, CANCELED, STOPPED,
//     FAILED_CONTINUE and SKIPPED are complete but not a success.
//
// With create, a pipeline Gate does not know (the trigger's 404) is
// created first, and its application too when Gate does not know that
// either:
//   - Gate ApplicationController.groovy: GET /applications/{application}
//     answers 404 ("Application not found") for an unknown application.
//   - Gate TaskController: POST /tasks with an Orca operation
//     {"application", "description", "job": [{"type": "createApplication",
//     "application": {"name", ...}, "user"}]} answers Orca's
//     {"ref": "/tasks/<id>"}; GET /tasks/{id} returns the task with its
//     ExecutionStatus (as above).
//   - Gate PipelineController.groovy: POST /pipelines with the pipeline
//     definition saves it through an Orca savePipeline task and waits for
//     it (createAndWaitForCompletion): 200 once saved, 400 with the reason
//     otherwise.
//
// The pipeline created is one Wait stage of one second
// (canaryPipelineDefinition): Orca ends a pipeline without stages TERMINAL,
// not SUCCEEDED.
//
// The check passes when the execution SUCCEEDED within timeout (0: the
// monitor's check timeout); it polls every pollEvery (0: 500 ms).
func CanaryCheck(application, pipeline string, create bool, timeout, pollEvery time.Duration) Check {
	if pollEvery <= 0 {
		pollEvery = 500 * time.Millisecond
	}
	return Check{Name: "canary-pipeline", Service: "gate", Auth: true, Timeout: timeout,
		Custom: func(ctx context.Context, client *http.Client, e *Endpoints) (int, string) {
			return runCanary(ctx, client, e, application, pipeline, create, pollEvery)
		}}
}

// canaryUser is who the monitor's executions and tasks are started as.
const canaryUser = "spinops-monitor"

// canaryPipelineDefinition is the canary pipeline the monitor creates.
func canaryPipelineDefinition(application, pipeline string) map[string]any {
	return map[string]any{
		"application":          application,
		"name":                 pipeline,
		"description":          "Started by spinops monitor as its deepest synthetic check (Gate, Front50, Orca and its queue). Created by spinops; it does nothing.",
		"keepWaitingPipelines": false,
		"limitConcurrent":      false,
		"triggers":             []any{},
		"parameterConfig":      []any{},
		"stages": []any{map[string]any{
			"refId": "1", "requisiteStageRefIds": []any{}, "type": "wait", "name": "Wait", "waitTime": 1,
		}},
	}
}

// canaryCancelTimeout bounds the cancel of an execution the check gave up on.
const canaryCancelTimeout = 10 * time.Second

var canaryRunning = map[string]bool{"NOT_STARTED": true, "RUNNING": true, "PAUSED": true, "SUSPENDED": true, "BUFFERED": true, "REDIRECT": true}

func runCanary(ctx context.Context, client *http.Client, e *Endpoints, application, pipeline string, create bool, pollEvery time.Duration) (int, string) {
	base := strings.TrimSuffix(e.GateURL, "/")
	doCtx := func(ctx context.Context, method, path string, body []byte) (int, []byte, error) {
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
	do := func(method, path string, body []byte) (int, []byte, error) { return doCtx(ctx, method, path, body) }
	trigger := func() (int, []byte, error) {
		return do(http.MethodPost, "/pipelines/"+url.PathEscape(application)+"/"+url.PathEscape(pipeline), []byte(`{"type":"manual","user":"`+canaryUser+`"}`))
	}
	code, body, err := trigger()
	if err == nil && code == http.StatusNotFound && create {
		if msg := createCanary(ctx, do, application, pipeline, pollEvery); msg != "" {
			return code, msg
		}
		code, body, err = trigger()
	}
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
	status, code, done := awaitStatus(ctx, do, "/pipelines/"+url.PathEscape(id), pollEvery)
	switch {
	case status == "SUCCEEDED":
		return code, ""
	case done:
		return code, fmt.Sprintf("canary pipeline execution %s ended %s", id, status)
	}
	// Given up: cancel it, on a context of its own (the check's is over),
	// so executions of a stuck canary do not pile up.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), canaryCancelTimeout)
	defer cancel()
	reason := fmt.Sprintf("canary pipeline execution %s still %s when the check timed out", id, status)
	ccode, _, cerr := doCtx(cctx, http.MethodPut, "/pipelines/"+url.PathEscape(id)+"/cancel?reason="+url.QueryEscape("spinops monitor: the canary check timed out"), nil)
	switch {
	case cerr != nil:
		reason += "; canceling it failed: " + cerr.Error()
	case ccode < 200 || ccode > 299:
		reason += fmt.Sprintf("; canceling it failed: HTTP %d", ccode)
	default:
		reason += "; canceled it"
	}
	return code, reason
}

// gateDo is one request to Gate: its status code and body.
type gateDo func(method, path string, body []byte) (int, []byte, error)

// awaitStatus polls GET path (an Orca execution or task through Gate)
// every pollEvery until its ExecutionStatus is no longer a running one
// (done) or ctx ends (not done). It returns the last status seen
// (NOT_STARTED before any) and the last HTTP code.
func awaitStatus(ctx context.Context, do gateDo, path string, pollEvery time.Duration) (status string, code int, done bool) {
	status = "NOT_STARTED"
	for {
		c, body, err := do(http.MethodGet, path, nil)
		code = c
		if err == nil && c == http.StatusOK {
			var st struct {
				Status string `json:"status"`
			}
			if json.Unmarshal(body, &st) == nil && st.Status != "" {
				status = st.Status
			}
			if !canaryRunning[status] {
				return status, code, true
			}
		}
		t := time.NewTimer(pollEvery)
		select {
		case <-ctx.Done():
			t.Stop()
			return status, code, false
		case <-t.C:
		}
	}
}

// createCanary creates the canary pipeline, and its application when Gate
// does not know it; it returns what went wrong, or "".
func createCanary(ctx context.Context, do gateDo, application, pipeline string, pollEvery time.Duration) string {
	code, _, err := do(http.MethodGet, "/applications/"+url.PathEscape(application)+"?expand=false", nil)
	switch {
	case err != nil:
		return "looking up the canary application: " + err.Error()
	case code == http.StatusNotFound:
		op, _ := json.Marshal(map[string]any{
			"application": application,
			"description": "Create Application: " + application,
			"job": []any{map[string]any{
				"type": "createApplication",
				"application": map[string]any{
					"name":        application,
					"description": "The spinops monitor's canary pipeline lives here. Created by spinops.",
				},
				"user": canaryUser,
			}},
		})
		code, body, err := do(http.MethodPost, "/tasks", op)
		if err != nil || code < 200 || code > 299 {
			return fmt.Sprintf("creating the canary application %q: %s", application, httpFailure(code, err))
		}
		var started struct {
			Ref string `json:"ref"`
		}
		if err := json.Unmarshal(body, &started); err != nil || !strings.HasPrefix(started.Ref, "/tasks/") {
			return fmt.Sprintf("creating the canary application %q: the answer has no /tasks/<id> ref", application)
		}
		id := strings.TrimPrefix(started.Ref, "/tasks/")
		switch status, _, done := awaitStatus(ctx, do, "/tasks/"+url.PathEscape(id), pollEvery); {
		case !done:
			return fmt.Sprintf("creating the canary application %q: task %s not done when the check timed out", application, id)
		case status != "SUCCEEDED":
			return fmt.Sprintf("creating the canary application %q: task %s ended %s", application, id, status)
		}
	case code != http.StatusOK:
		return fmt.Sprintf("looking up the canary application %q: %s", application, httpFailure(code, nil))
	}
	def, _ := json.Marshal(canaryPipelineDefinition(application, pipeline))
	code, body, err := do(http.MethodPost, "/pipelines", def)
	if err != nil || code < 200 || code > 299 {
		msg := httpFailure(code, err)
		var refusal struct {
			Message string `json:"message"`
		}
		if err == nil && json.Unmarshal(body, &refusal) == nil && refusal.Message != "" {
			msg += ": " + refusal.Message
		}
		return fmt.Sprintf("creating the canary pipeline %q in application %q: %s", pipeline, application, msg)
	}
	return ""
}

func httpFailure(code int, err error) string {
	if err != nil {
		return err.Error()
	}
	if code >= 300 && code < 400 || code == http.StatusUnauthorized || code == http.StatusForbidden {
		return fmt.Sprintf("HTTP %d: Gate refused the monitor's credentials", code)
	}
	return fmt.Sprintf("HTTP %d", code)
}
