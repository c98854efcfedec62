package tray

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cc-router/cc-router/internal/atomicfile"
)

// writeFileAtomic creates path's directory if needed, then replaces path
// atomically (a reader or a crash sees the old content or the new).
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, data, perm)
}
