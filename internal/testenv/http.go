package testenv

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

var httpClient = &http.Client{Timeout: 30 * time.Second}

// httpDo sends a request and returns the body of a 2xx answer.
func httpDo(ctx context.Context, method, url, contentType string, body io.Reader) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, fmt.Errorf("building %s %s: %w", method, url, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading answer: %w", method, url, err)
	}
	if resp.StatusCode/100 != 2 {
		return b, fmt.Errorf("%s %s: %s: %.300s", method, url, resp.Status, b)
	}
	return b, nil
}

// MetricSample reads one sample from the Prometheus /metrics of the server
// at addr (host:port): "name" or `name{label="v"}` exactly as exposed; 0
// when it is not there.
func MetricSample(addr, sample string) (float64, error) {
	b, err := httpDo(context.Background(), http.MethodGet, "http://"+addr+"/metrics", "", nil)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				return 0, fmt.Errorf("the sample %s of %s/metrics: %w", sample, addr, err)
			}
			return f, nil
		}
	}
	return 0, nil
}
