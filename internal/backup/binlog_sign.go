package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Archived binlogs are signed: a restore pipes them into the server as
// SQL, so someone who can write the bucket but has no signing key must
// not be able to choose what a point-in-time restore runs. After every
// upload of a binlog object (a finished file, or the one being written,
// re-uploaded whole as it grows) the archiver writes
//
//	binlogs/<server key>/<binlog file>.sig
//
// naming the server, the file, the size uploaded and the SHA-256 of those
// bytes, signed by the keys that sign manifests (Keys). A restore that
// can verify (and was not given --allow-unsigned) uses a file only up to
// its signed size, and only when those bytes hash as signed: a file that
// grew after its last signature is used up to what was signed (binlogs
// only grow), and a replaced or missing one is refused. Listing (the
// restore window) does not read signatures: the window is what the
// archive claims, and a restore checks it.
const sigSuffix = ".sig"

// binlogSigFormat tells a binlog's signed statement from a manifest (both
// are signed with the same keys): it is part of what is signed.
const binlogSigFormat = "spinops-binlog-signature/1"

// binlogSigned is what a binlog's signature covers, as canonical JSON
// (encoding/json of this struct: fixed field order, no spaces).
type binlogSigned struct {
	Format string `json:"format"`
	Server string `json:"server"`
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // hex of the first Size bytes of the object
}

func (b binlogSigned) payload() []byte {
	p, _ := json.Marshal(b)
	return p
}

// binlogSigFile is binlogs/<server>/<file>.sig.
type binlogSigFile struct {
	binlogSigned
	Signatures []signature `json:"signatures"`
}

// signBinlog is the .sig of an uploaded object: server's file, size bytes
// hashing to sum (hex SHA-256).
func (k *Keys) signBinlog(server, file string, size int64, sum string) ([]byte, error) {
	s := binlogSigned{Format: binlogSigFormat, Server: server, File: file, Size: size, SHA256: sum}
	return json.Marshal(binlogSigFile{binlogSigned: s, Signatures: k.signatures(s.payload())})
}

// verifyBinlogSig reads a .sig and returns what it signs, when k's keys
// verify it and it names server's file.
func (k *Keys) verifyBinlogSig(server, file string, sigFile []byte) (*binlogSigned, error) {
	var f binlogSigFile
	if err := json.Unmarshal(sigFile, &f); err != nil {
		return nil, fmt.Errorf("%w: %s%s cannot be read: %v", ErrUnsigned, file, sigSuffix, err)
	}
	if err := k.check(f.payload(), f.Signatures, "its signature file"); err != nil {
		return nil, err
	}
	switch {
	case f.Format != binlogSigFormat:
		return nil, fmt.Errorf("%w: %s%s is not a binlog signature (format %q)", ErrUnsigned, file, sigSuffix, f.Format)
	case f.Server != server || f.File != file:
		return nil, fmt.Errorf("%w: the signature is for %s of server %s (copied from another file)", ErrUnsigned, f.File, f.Server)
	case f.Size < 0 || len(f.SHA256) != 2*sha256.Size:
		return nil, fmt.Errorf("%w: %s%s signs a size of %d and a SHA-256 of %q", ErrUnsigned, file, sigSuffix, f.Size, f.SHA256)
	}
	return &f.binlogSigned, nil
}

// writeBinlogSig uploads the .sig of the object key just uploaded: the
// server's file name, size bytes hashing to sum (hex SHA-256).
func writeBinlogSig(ctx context.Context, dest Store, keys *Keys, server, key, name string, size int64, sum string) error {
	sig, err := keys.signBinlog(server, name, size, sum)
	if err != nil {
		return err
	}
	if err := dest.Put(ctx, key+sigSuffix, bytes.NewReader(sig)); err != nil {
		return fmt.Errorf("archiving binlog %s: writing its signature: %w", name, err)
	}
	return nil
}

// binlogUntrusted is the refusal of an archived binlog a restore cannot
// trust (err wraps ErrUnsigned): it names the file and what to do.
func binlogUntrusted(server, file string, err error) error {
	return fmt.Errorf("archived binlog %s of server %s cannot be trusted, nothing was replayed: %w "+
		"(was the bucket written by someone without the key? `spinops backup archive-binlogs` signs every upload when given %s or %s; "+
		"a restore with --allow-unsigned trusts the archived binlogs anyway)", file, server, err, EnvSigningKey, EnvEd25519PrivateKey)
}

// fetchVerified downloads key, the archived binlog file of server, into
// the local copy path, keeping only its signed prefix, after checking its
// signature and the prefix's SHA-256. It returns the signed size.
//
// The signature names the server key and the file's base name, so a file
// of a history preserved after a reset (binlogs/<server>~<seconds>/,
// binlog_history.go) verifies as it did before it was moved.
func fetchVerified(ctx context.Context, dest Store, keys *Keys, server, key, path string) (ObjectInfo, error) {
	folder, file, _ := strings.Cut(strings.TrimPrefix(key, binlogsDir), "/")
	if s, _, _ := parseArchiveFolder(folder); s != server || !strings.HasPrefix(key, binlogsDir) {
		return ObjectInfo{}, binlogUntrusted(server, file, fmt.Errorf("%w: %s is not in an archive folder of server %s", ErrUnsigned, key, server))
	}
	sig, err := readSmall(ctx, dest, key+sigSuffix)
	if errors.Is(err, ErrNotFound) {
		return ObjectInfo{}, binlogUntrusted(server, file, fmt.Errorf("%w: %s%s is missing", ErrUnsigned, file, sigSuffix))
	}
	if err != nil {
		return ObjectInfo{}, fmt.Errorf("reading the signature of archived binlog %s: %w", key, err)
	}
	signed, err := keys.verifyBinlogSig(server, file, sig)
	if err != nil {
		return ObjectInfo{}, binlogUntrusted(server, file, err)
	}
	rc, info, err := dest.Get(ctx, key)
	if err != nil {
		return info, fmt.Errorf("reading archived binlog %s: %w", key, err)
	}
	defer rc.Close()
	f, err := os.Create(path)
	if err != nil {
		return info, err
	}
	ch := NewHashReader(io.LimitReader(rc, signed.Size))
	if _, err := io.Copy(f, ch); err != nil {
		f.Close()
		return info, fmt.Errorf("reading archived binlog %s: %w", key, err)
	}
	if err := f.Close(); err != nil {
		return info, err
	}
	switch {
	case ch.Size() < signed.Size:
		return info, binlogUntrusted(server, file, fmt.Errorf("%w: the object holds %d bytes, fewer than the %d signed: it was replaced", ErrUnsigned, ch.Size(), signed.Size))
	case ch.Sum() != signed.SHA256:
		return info, binlogUntrusted(server, file, fmt.Errorf("%w: its first %d bytes are not the ones signed (SHA-256 differs): it was replaced or rewritten after it was signed", ErrUnsigned, signed.Size))
	}
	info.Size = signed.Size
	return info, nil
}

func readSmall(ctx context.Context, dest Store, key string) ([]byte, error) {
	rc, _, err := dest.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, 1<<20))
}

// verifyingStore is downloadingStore for a restore that verifies: every
// object read through it is an archived binlog of server, checked against
// its .sig and read from the local copy of its signed prefix, so the one
// scan of the file (the chain's sizes, last event, ROTATE) is of what was
// signed.
type verifyingStore struct {
	Store
	dir    string
	keys   *Keys
	server string
}

func (v *verifyingStore) Get(ctx context.Context, key string) (io.ReadCloser, ObjectInfo, error) {
	path := filepath.Join(v.dir, filepath.Base(key))
	info, err := fetchVerified(ctx, v.Store, v.keys, v.server, key, path)
	if err != nil {
		_ = os.Remove(path)
		return nil, info, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, info, err
	}
	return f, info, nil
}

// signedChain ends chain c before its first file whose signature does not
// verify or does not cover the whole object (the archiver was stopped
// between uploading a file and its signature, or the file was changed):
// what ListVerified reports, reading each file's .sig, not its bytes. A
// chain whose first file is not signed is an error.
func signedChain(ctx context.Context, dest Store, keys *Keys, c *Chain) error {
	server, _, _ := parseArchiveFolder(c.Server)
	for i, f := range c.Files {
		key := serverBinlogDir(c.Server) + f.Name
		sig, err := readSmall(ctx, dest, key+sigSuffix)
		var signed *binlogSigned
		switch {
		case errors.Is(err, ErrNotFound):
			err = fmt.Errorf("%w: %s%s is missing", ErrUnsigned, f.Name, sigSuffix)
		case err != nil:
			return fmt.Errorf("reading the signature of archived binlog %s: %w", key, err)
		default:
			signed, err = keys.verifyBinlogSig(server, f.Name, sig)
		}
		if err == nil && signed.Size < f.Size {
			err = fmt.Errorf("%w: %s is %d bytes, its signature covers %d", ErrUnsigned, f.Name, f.Size, signed.Size)
		}
		if err == nil {
			continue
		}
		return c.cutAt(i, fmt.Sprintf("the archived %s is not signed as a restore that verifies needs (%v)", f.Name, err))
	}
	return nil
}
