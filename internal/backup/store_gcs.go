package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"
)

// gcsChunkSize is the resumable upload chunk: objects are uploaded in
// 16 MiB pieces, so memory does not grow with the object.
const gcsChunkSize = 16 << 20

type gcsStore struct {
	client *storage.Client
	loc    Location
}

// NewGCSStore returns a Store over a Cloud Storage bucket and prefix.
func NewGCSStore(client *storage.Client, loc Location) Store {
	return &gcsStore{client: client, loc: loc}
}

func (s *gcsStore) String() string { return s.loc.String() }

func (s *gcsStore) Put(ctx context.Context, key string, r io.Reader) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // an unfinished writer is abandoned, not committed
	w := s.client.Bucket(s.loc.Bucket).Object(s.loc.Prefix + key).NewWriter(ctx)
	w.ChunkSize = gcsChunkSize
	if _, err := io.Copy(w, r); err != nil {
		return fmt.Errorf("uploading gs://%s/%s%s: %w", s.loc.Bucket, s.loc.Prefix, key, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("uploading gs://%s/%s%s: %w", s.loc.Bucket, s.loc.Prefix, key, err)
	}
	return nil
}

func (s *gcsStore) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	r, err := s.client.Bucket(s.loc.Bucket).Object(s.loc.Prefix + key).NewReader(ctx)
	if err != nil {
		if errors.Is(err, storage.ErrObjectNotExist) {
			err = fmt.Errorf("%w: %v", ErrNotFound, err)
		}
		return nil, ObjectInfo{}, fmt.Errorf("reading gs://%s/%s%s: %w", s.loc.Bucket, s.loc.Prefix, key, err)
	}
	info := ObjectInfo{Key: key, Size: r.Attrs.Size, Version: strconv.FormatInt(r.Attrs.Generation, 10), Updated: r.Attrs.LastModified}
	return r, info, nil
}

func (s *gcsStore) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	var objs []ObjectInfo
	it := s.client.Bucket(s.loc.Bucket).Objects(ctx, &storage.Query{Prefix: s.loc.Prefix + prefix})
	for {
		a, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("listing gs://%s/%s%s: %w", s.loc.Bucket, s.loc.Prefix, prefix, err)
		}
		objs = append(objs, ObjectInfo{
			Key:     strings.TrimPrefix(a.Name, s.loc.Prefix),
			Size:    a.Size,
			Version: strconv.FormatInt(a.Generation, 10),
			Updated: a.Updated,
		})
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	return objs, nil
}

func (s *gcsStore) Delete(ctx context.Context, key string) error {
	err := s.client.Bucket(s.loc.Bucket).Object(s.loc.Prefix + key).Delete(ctx)
	if err != nil && !errors.Is(err, storage.ErrObjectNotExist) {
		return fmt.Errorf("deleting gs://%s/%s%s: %w", s.loc.Bucket, s.loc.Prefix, key, err)
	}
	return nil
}
