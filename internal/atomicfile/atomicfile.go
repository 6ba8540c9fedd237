// Package atomicfile writes files so that readers see either the old content
// or the new, never half of it, and a failed write leaves nothing behind.
package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
)

// WriteFile writes data to a temporary file beside name (".<name>.*.tmp"),
// syncs it, gives it perm and renames it over name. On any failure the
// temporary file is removed and name is untouched.
func WriteFile(name string, data []byte, perm os.FileMode) (err error) {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			// err is the failure to report; tmp may already be closed, so
			// this Close's own error means nothing.
			_ = tmp.Close()
			err = errors.Join(err, os.Remove(tmp.Name()))
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	// Windows and some file systems cannot set Unix modes; that is no
	// reason to fail the write.
	if err = tmp.Chmod(perm); err != nil && !errors.Is(err, errors.ErrUnsupported) {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}
