package backup

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
)

// TestPartEncodersReused: parts written one after another, and at once on
// several connections, with the encoders kept between parts, each hold
// exactly their own rows (no byte of an earlier part's stream or window in
// a later one); a part aborted half-way leaves its encoder out of the pool
// and the next part is still whole.
func TestPartEncodersReused(t *testing.T) {
	ctx := context.Background()
	dest := NewFileStore(t.TempDir())
	write := func(path, body string, abort bool) (Part, error) {
		w := newPartWriter(ctx, dest, path)
		// Twice the 256 KiB buffer, so that the encoder has compressed
		// blocks (and a window) before close or abort.
		for range 2 {
			if err := w.write([]byte(body)); err != nil {
				return Part{}, err
			}
		}
		if abort {
			w.abort(errors.New("connection lost"))
			return Part{}, nil
		}
		return w.close()
	}
	read := func(p Part) string {
		t.Helper()
		rc, _, err := dest.Get(ctx, p.Path)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		zr, err := newZstdReader(rc)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("decompressing %s: %v", p.Path, err)
		}
		return string(b)
	}
	body := func(c byte, n int) string { return strings.Repeat(string(c)+"\tvalue\n", n) }

	a, err := write("a.tsv.zst", body('a', 40000), false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := write("aborted.tsv.zst", body('x', 40000), true); err != nil {
		t.Fatal(err)
	}
	b, err := write("b.tsv.zst", body('b', 3), false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := read(a), body('a', 40000)+body('a', 40000); got != want {
		t.Errorf("part a holds %d bytes, want its own %d", len(got), len(want))
	}
	if got, want := read(b), body('b', 3)+body('b', 3); got != want {
		t.Errorf("part b after a reused encoder and an aborted part: %q, want %q", got, want)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := byte('c' + i)
			for j := range 5 {
				want := body(c, 1000*(j+1))
				p, err := write(string(c)+"-"+string(rune('0'+j))+".tsv.zst", want, false)
				if err != nil {
					errs <- err
					return
				}
				rc, _, err := dest.Get(ctx, p.Path)
				if err != nil {
					errs <- err
					return
				}
				zr, _ := newZstdReader(rc)
				var got bytes.Buffer
				_, err = io.Copy(&got, zr)
				zr.Close()
				rc.Close()
				if err != nil || got.String() != want+want {
					errs <- errors.New("a part written beside others does not hold exactly its own rows")
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
