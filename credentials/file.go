package credentials

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cc-router/cc-router/internal/atomicfile"
)

// DefaultAccountsPath is where accounts.json lives: $ACCOUNTS_PATH if set,
// else accounts.json in $CC_ROUTER_HOME, else ~/.cc-router/accounts.json
// (the Node.js cc-router's file).
func DefaultAccountsPath() string {
	if p := os.Getenv("ACCOUNTS_PATH"); p != "" {
		return p
	}
	dir := os.Getenv("CC_ROUTER_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			home = "."
		}
		dir = filepath.Join(home, ".cc-router")
	}
	return filepath.Join(dir, "accounts.json")
}

// resolveStorePath follows a symlinked accounts file to its target, so that
// rewrites replace the target instead of the link (the lock and temp files
// then sit beside the target too).
func resolveStorePath(path string) string {
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		if real, err := filepath.EvalSymlinks(path); err == nil {
			return real
		}
	}
	return path
}

// fileStamp identifies one version of a file cheaply.
type fileStamp struct {
	exists  bool
	size    int64
	modTime time.Time
	ino     uint64
}

func stampOf(fi fs.FileInfo) fileStamp {
	return fileStamp{exists: true, size: fi.Size(), modTime: fi.ModTime(), ino: inode(fi)}
}

// readStore reads and parses the store. A missing file is the empty
// document. The file's bytes are never changed here; a file readable by
// group or others is tightened to 0600 (only once it parsed) with a warning.
func readStore(path string, log *slog.Logger) (*document, fileStamp, error) {
	// Stat first: opening a FIFO put in the file's place would block.
	if fi, err := os.Stat(path); err == nil && !fi.Mode().IsRegular() {
		return nil, fileStamp{}, fmt.Errorf("reading accounts: %s is not a regular file", path)
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &document{}, fileStamp{}, nil
	}
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("reading accounts: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("reading accounts: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fileStamp{}, fmt.Errorf("reading accounts: %s is not a regular file", path)
	}
	const maxSize = 16 << 20
	if fi.Size() > maxSize {
		return nil, fileStamp{}, fmt.Errorf("reading accounts: %s is larger than %d bytes", path, maxSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSize+1))
	if err != nil {
		return nil, fileStamp{}, fmt.Errorf("reading accounts: %w", err)
	}
	if len(data) > maxSize {
		return nil, fileStamp{}, fmt.Errorf("reading accounts: %s is larger than %d bytes", path, maxSize)
	}
	doc, err := parseDocument(path, data)
	if err != nil {
		return nil, fileStamp{}, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		if err := os.Chmod(path, 0o600); err != nil {
			log.Warn("accounts file is readable by others and could not be tightened",
				"path", path, "mode", fmt.Sprintf("%#o", perm), "err", err)
		} else {
			log.Warn(fmt.Sprintf("accounts file was readable by group or others (mode %#o); tightened to 0600", perm),
				"path", path)
			if fi2, err := os.Stat(path); err == nil {
				fi = fi2
			}
		}
	}
	return doc, stampOf(fi), nil
}

// saveFile is writeStore; tests replace it to make saving fail.
var saveFile = writeStore

// writeStore writes data to path atomically and durably (atomicfile: a
// uniquely named 0600 temp file in the same directory, fsync, rename over
// path, fsync the directory) after clearing temp files of killed writers.
// On failure the previous file is intact and the temp file is gone. Call it
// under the store lock (lockStore).
func writeStore(path string, data []byte) (fileStamp, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fileStamp{}, fmt.Errorf("saving accounts: %w", err)
	}
	removeStaleTemps(path)
	if err := atomicfile.WriteFile(path, data, 0o600); err != nil {
		return fileStamp{}, fmt.Errorf("saving accounts: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, fmt.Errorf("saving accounts: %w", err)
	}
	return stampOf(fi), nil
}

// removeStaleTemps deletes the temp files that writers killed mid-write
// left beside path. writeStore runs only under the store lock, so no other
// writer's temp file can be in progress.
func removeStaleTemps(path string) {
	dir, prefix := filepath.Dir(path), "."+filepath.Base(path)+".tmp-"
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), prefix) {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

// lockStore takes the advisory lock beside path (path + ".lock"), polling
// until ctx ends. The returned function releases it.
func lockStore(ctx context.Context, path string) (func(), error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("locking accounts: %w", err)
	}
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("locking accounts: %w", err)
	}
	wait := time.Millisecond
	for {
		ok, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("locking accounts: %w", err)
		}
		if ok {
			return func() { unlock(f); f.Close() }, nil
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, fmt.Errorf("locking accounts: %w", ctx.Err())
		case <-time.After(wait):
		}
		if wait < 20*time.Millisecond {
			wait *= 2
		}
	}
}
