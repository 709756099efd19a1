package scope

import (
	"fmt"
	"net/http"
	"net/url"
	"path"
	"strings"

	"k8s.io/apimachinery/pkg/fields"
)

// Request is a Kubernetes API request as the API server reads it. ParseRequest
// follows the API server's own parser (k8s.io/apiserver
// pkg/endpoints/request/requestinfo.go, NewRequestInfo): the prefixes api
// (groupless) and apis, the legacy verbs in the path (/watch/, /proxy/), the
// namespace subresources status and finalize, a GET without a name being a
// list or — when the watch parameter says so, as
// Convert_Slice_string_To_bool reads it — a watch, and a list whose
// fieldSelector pins metadata.name naming that object.
type Request struct {
	// Verb: get, list, watch, create, update, patch, delete,
	// deletecollection or proxy; for non-resource paths the lower-case
	// method.
	Verb string
	// IsResource is false for discovery and other non-resource paths.
	IsResource  bool
	Path        string
	Group       string
	Version     string
	Resource    string
	Subresource string
	Namespace   string
	Name        string
	// PathVerb: the verb came from the path (/api/v1/watch/...).
	PathVerb bool
}

// IsSecret reports whether the request addresses core Secrets (any verb,
// any name, any subresource, the legacy /watch/ paths included).
func (r Request) IsSecret() bool {
	return r.IsResource && r.Group == "" && r.Resource == "secrets"
}

// Streams reports whether the answer is a stream (a watch, a followed log).
func (r Request) Streams(q url.Values) bool {
	return r.Verb == "watch" || r.Subresource == "log" && QueryBool(q["follow"])
}

// Writes reports whether the request changes the cluster.
func (r Request) Writes() bool {
	switch r.Verb {
	case "get", "list", "watch", "head":
		return false
	}
	return true
}

// QueryBool reads a boolean query parameter as the API server does
// (k8s.io/apimachinery v0.37.2 pkg/runtime/conversion.go
// Convert_Slice_string_To_bool): absent, "0" and "false" (any case) are
// false, anything else — "", "yes", "no" — is true.
func QueryBool(vals []string) bool {
	if len(vals) == 0 {
		return false
	}
	return vals[0] != "0" && !strings.EqualFold(vals[0], "false")
}

// ParseRequest reads a method, an API path and its raw query. A path that
// is not canonical (empty, . or .. segments, a trailing slash, escaped
// characters) or a query that does not parse is an error: the API server
// and the bridge must never read one request two ways.
func ParseRequest(method, p, rawQuery string) (Request, url.Values, error) {
	if !strings.HasPrefix(p, "/") || (p != "/" && path.Clean(p) != p) {
		return Request{}, nil, fmt.Errorf("the path %q is not canonical (no empty, . or .. segments, no trailing slash)", p)
	}
	if strings.ContainsAny(p, "%?#\\") || strings.ContainsFunc(p, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return Request{}, nil, fmt.Errorf("the path %q holds characters a Kubernetes API path has not", p)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return Request{}, nil, fmt.Errorf("the query %q does not parse: %w", rawQuery, err)
	}
	r := Request{Path: p, Verb: strings.ToLower(method)}
	parts := strings.Split(strings.Trim(p, "/"), "/")
	if len(parts) < 3 || (parts[0] != "api" && parts[0] != "apis") {
		return r, q, nil
	}
	prefix := parts[0]
	parts = parts[1:]
	if prefix == "apis" {
		if len(parts) < 3 {
			return r, q, nil
		}
		r.Group = parts[0]
		parts = parts[1:]
	}
	r.IsResource = true
	r.Version = parts[0]
	parts = parts[1:]
	if parts[0] == "watch" || parts[0] == "proxy" {
		if len(parts) < 2 {
			return r, q, fmt.Errorf("the path %q names no resource after /%s/", p, parts[0])
		}
		r.Verb = parts[0]
		r.PathVerb = true
		parts = parts[1:]
	} else {
		switch method {
		case http.MethodPost:
			r.Verb = "create"
		case http.MethodGet, http.MethodHead:
			r.Verb = "get"
		case http.MethodPut:
			r.Verb = "update"
		case http.MethodPatch:
			r.Verb = "patch"
		case http.MethodDelete:
			r.Verb = "delete"
		default:
			r.Verb = ""
		}
	}
	if parts[0] == "namespaces" && len(parts) > 1 {
		r.Namespace = parts[1]
		if len(parts) > 2 && parts[2] != "status" && parts[2] != "finalize" {
			parts = parts[2:]
		}
	}
	switch {
	case len(parts) >= 3 && r.Verb != "proxy":
		r.Subresource = parts[2]
		fallthrough
	case len(parts) >= 2:
		r.Name = parts[1]
		fallthrough
	default:
		r.Resource = parts[0]
	}
	if r.Name == "" && r.Verb == "get" {
		r.Verb = "list"
		if QueryBool(q["watch"]) {
			r.Verb = "watch"
		}
		if fs := q["fieldSelector"]; len(fs) > 0 {
			if sel, err := fields.ParseSelector(fs[0]); err == nil {
				if name, ok := sel.RequiresExactMatch("metadata.name"); ok {
					r.Name = name
				}
			}
		}
	}
	if r.Name == "" && r.Verb == "delete" {
		r.Verb = "deletecollection"
	}
	return r, q, nil
}

// SplitAccountPath reads the bridge endpoint's /accounts/<name>/<api path>.
// The API path must reach the agent as the caller wrote it: a path whose
// escaped form differs from the plain one (an escaped slash) is an error.
func SplitAccountPath(u *url.URL) (name, apiPath string, err error) {
	rest := strings.TrimPrefix(u.Path, "/accounts/")
	name, apiPath, _ = strings.Cut(rest, "/")
	apiPath = "/" + apiPath
	if u.RawPath != "" && u.RawPath != u.Path {
		err = fmt.Errorf("the path %q holds escaped characters a Kubernetes API path has not", u.RawPath)
	}
	return name, apiPath, err
}
