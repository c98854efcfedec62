package tray

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cc-router/cc-router/internal/atomicfile"
)

// writeFileAtomic creates path's directory if needed, then replaces path
// atomically (a reader or a crash sees the old content or the new). A
// symlink (a settings.json kept in a dotfiles repository) is written
// through: its target is replaced and the link stays.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	if target, err := filepath.EvalSymlinks(path); err == nil {
		path = target
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return atomicfile.WriteFile(path, data, perm)
}
