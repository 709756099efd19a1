package testenv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/spinops/terraform-provider-spinops/internal/testenv"
)

func TestSharedFakeGCS(t *testing.T) {
	f := testenv.SharedFakeGCS(t)
	bucket := f.Bucket(t)
	obj := "backups/2026/dump.sql"
	data := []byte("CREATE TABLE t (id INT);\n")

	up := f.Endpoint + "/upload/storage/v1/b/" + bucket + "/o?uploadType=media&name=" + url.QueryEscape(obj)
	if code, body := gcsCall(t, http.MethodPost, up, data); code != http.StatusOK {
		t.Fatalf("upload: %d %s", code, body)
	}
	objURL := f.Endpoint + "/storage/v1/b/" + bucket + "/o/" + url.PathEscape(obj)
	code, body := gcsCall(t, http.MethodGet, objURL+"?alt=media", nil)
	if code != http.StatusOK || !bytes.Equal(body, data) {
		t.Errorf("download: %d %q, want %q", code, body, data)
	}
	code, body = gcsCall(t, http.MethodGet, objURL, nil)
	var meta struct {
		Bucket string `json:"bucket"`
		Size   string `json:"size"`
	}
	if err := json.Unmarshal(body, &meta); code != http.StatusOK || err != nil || meta.Bucket != bucket || meta.Size != "25" {
		t.Errorf("metadata: %d %s (%v)", code, body, err)
	}

	t.Run("versioned bucket", func(t *testing.T) {
		ctx := t.Context()
		name := testenv.UniqueName("tf-acc-test-", 8)
		if err := f.CreateBucket(ctx, name, true); err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"one", "two"} {
			u := f.Endpoint + "/upload/storage/v1/b/" + name + "/o?uploadType=media&name=state"
			if code, body := gcsCall(t, http.MethodPost, u, []byte(v)); code != http.StatusOK {
				t.Fatalf("upload %s: %d %s", v, code, body)
			}
		}
		_, body := gcsCall(t, http.MethodGet, f.Endpoint+"/storage/v1/b/"+name+"/o?versions=true", nil)
		var list struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := json.Unmarshal(body, &list); err != nil || len(list.Items) != 2 {
			t.Errorf("versions: %s (%v), want 2 items", body, err)
		}
		if err := f.DeleteBucket(ctx, name); err != nil {
			t.Fatal(err)
		}
		if code, _ := gcsCall(t, http.MethodGet, f.Endpoint+"/storage/v1/b/"+name, nil); code != http.StatusNotFound {
			t.Errorf("bucket after DeleteBucket: %d, want 404", code)
		}
	})
}

func gcsCall(t *testing.T, method, u string, body []byte) (int, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
