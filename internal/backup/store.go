package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"strings"
	"time"
)

// ErrNotFound is returned (wrapped) by Store.Get for a missing object.
var ErrNotFound = errors.New("object not found")

// ObjectInfo describes one stored object. Version is what changes when the
// object's content changes: the S3 ETag or the GCS generation.
type ObjectInfo struct {
	Key     string
	Size    int64
	Version string
	Updated time.Time
}

// Store is a bucket seen through a key prefix: the backup destination, or a
// bucket source. Keys are relative to the prefix. Put streams: it never
// holds a whole object in memory (multipart or resumable uploads).
type Store interface {
	// Put writes the object from r, reading r to EOF.
	Put(ctx context.Context, key string, r io.Reader) error
	// Get opens the object for reading; the error wraps ErrNotFound when
	// it does not exist.
	Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error)
	// List returns every object whose key starts with prefix, sorted by key.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
	// Delete removes the object; a missing object is not an error.
	Delete(ctx context.Context, key string) error
	// String names the location for messages, e.g. s3://bucket/prefix.
	String() string
}

// Location is a bucket and key prefix: s3://bucket/prefix or
// gs://bucket/prefix.
type Location struct {
	Scheme string // "s3" or "gs"
	Bucket string
	Prefix string // no leading slash; empty or ending in "/"
}

// ParseLocation parses s3://bucket/prefix or gs://bucket/prefix.
func ParseLocation(s string) (Location, error) {
	u, err := url.Parse(s)
	if err != nil {
		return Location{}, fmt.Errorf("parsing location %q: %w", s, err)
	}
	if u.Scheme != "s3" && u.Scheme != "gs" {
		return Location{}, fmt.Errorf("location %q: the scheme must be s3:// or gs://", s)
	}
	if u.Host == "" {
		return Location{}, fmt.Errorf("location %q has no bucket", s)
	}
	return Location{Scheme: u.Scheme, Bucket: u.Host, Prefix: cleanPrefix(u.Path)}, nil
}

func cleanPrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return path.Clean(p) + "/"
}

func (l Location) String() string {
	return l.Scheme + "://" + l.Bucket + "/" + l.Prefix
}
