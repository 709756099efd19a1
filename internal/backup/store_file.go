package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// fileStore is a destination in a local directory (file:///path): for
// laptops, benchmarks and a mounted volume. Writes go to a temporary name
// and are renamed into place, so a reader never sees half an object.
type fileStore struct {
	root string
}

// NewFileStore returns a Store over a local directory, created on first write.
func NewFileStore(root string) Store { return &fileStore{root: root} }

func (s *fileStore) String() string { return "file://" + s.root }

func (s *fileStore) path(key string) string { return filepath.Join(s.root, filepath.FromSlash(key)) }

func (s *fileStore) Put(ctx context.Context, key string, r io.Reader) error {
	p := s.path(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	defer os.Remove(f.Name())
	if _, err := io.Copy(f, ctxReader{ctx, r}); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return fmt.Errorf("writing %s: %w", p, err)
	}
	return nil
}

func (s *fileStore) Get(_ context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	f, err := os.Open(s.path(key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			err = fmt.Errorf("%w: %v", ErrNotFound, err)
		}
		return nil, ObjectInfo{}, fmt.Errorf("reading %s: %w", s.path(key), err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, ObjectInfo{}, fmt.Errorf("reading %s: %w", s.path(key), err)
	}
	return f, fileInfo(key, st), nil
}

func fileInfo(key string, st fs.FileInfo) ObjectInfo {
	return ObjectInfo{Key: key, Size: st.Size(), Version: fmt.Sprintf("%d-%d", st.ModTime().UnixNano(), st.Size()), Updated: st.ModTime()}
}

func (s *fileStore) List(_ context.Context, prefix string) ([]ObjectInfo, error) {
	var objs []ObjectInfo
	err := filepath.WalkDir(s.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".tmp-") {
			return nil
		}
		rel, err := filepath.Rel(s.root, p)
		if err != nil {
			return err
		}
		key := filepath.ToSlash(rel)
		if !strings.HasPrefix(key, prefix) {
			return nil
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		objs = append(objs, fileInfo(key, st))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", s.root, err)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].Key < objs[j].Key })
	return objs, nil
}

func (s *fileStore) Delete(_ context.Context, key string) error {
	p := s.path(key)
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("deleting %s: %w", p, err)
	}
	// As in an object store, a "folder" exists only while it holds objects:
	// remove the parents the deletion emptied (os.Remove refuses non-empty).
	root := filepath.Clean(s.root)
	for dir := filepath.Dir(p); dir != root && strings.HasPrefix(dir, root+string(filepath.Separator)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break
		}
	}
	return nil
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
