// Package atomicfile writes files and directories so that no reader ever
// sees partial output: the content goes to a temporary name next to the
// target and is renamed into place once complete, and a failed or
// interrupted write leaves the target as it was.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// WriteFile writes data to path (mode 0644) through a temporary file in the
// same directory, synced and renamed into place. A path naming an existing
// directory is refused. Errors name the path.
func WriteFile(path string, data []byte) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Commit()
}

// File is an output file written under a temporary name next to its path:
// Commit renames it into place, Abort removes it. Deferring Abort after
// Create leaves no temporary file behind on any error path.
type File struct {
	*os.File
	path string
	done bool
}

// Create opens a temporary file for path. A path naming an existing
// directory, or ending in a separator, is refused.
func Create(path string) (*File, error) {
	if strings.HasSuffix(path, "/") || strings.HasSuffix(path, string(filepath.Separator)) {
		return nil, fmt.Errorf("create %s: a directory name, not a file name", path)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return nil, fmt.Errorf("create %s: is a directory (give a file name inside it)", path)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	return &File{File: f, path: path}, nil
}

// Commit syncs and closes the file and renames it to its path (mode 0644).
// After Commit, Abort does nothing.
func (f *File) Commit() error {
	if f.done {
		return nil
	}
	f.done = true
	err := f.File.Chmod(0o644)
	if err == nil {
		err = f.File.Sync()
	}
	if cerr := f.File.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", f.path, err)
	}
	return nil
}

// Abort closes and removes the temporary file unless Commit was called.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.Name())
}

// ErrNotEmpty is wrapped by the error of WriteDir for an existing,
// non-empty directory it may not replace.
var ErrNotEmpty = errors.New("not empty")

// WriteDir creates the directory dir with the content fill writes into a
// temporary directory next to it (mode 0755), renamed into place once fill
// returns nil; on any error the temporary directory is removed and dir is
// left as it was. An existing non-empty dir is refused (with an error
// wrapping ErrNotEmpty) unless replace, in which case it is replaced as a
// whole; an existing empty dir is replaced; a dir that exists and is not a
// directory is refused. fill's error is returned as it is.
func WriteDir(dir string, replace bool, fill func(tmp string) error) error {
	dir = filepath.Clean(dir)
	st, err := os.Stat(dir)
	exists := err == nil
	switch {
	case exists && !st.IsDir():
		return fmt.Errorf("output %s exists and is not a directory", dir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("output %s: %w", dir, err)
	}
	if exists && !replace {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("output %s: %w", dir, err)
		}
		if len(entries) > 0 {
			return fmt.Errorf("output directory %s is %w", dir, ErrNotEmpty)
		}
	}
	parent, base := filepath.Split(dir)
	if parent == "" {
		parent = "."
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".tmp-")
	if err != nil {
		return fmt.Errorf("output %s: %w", dir, err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("output %s: %w", dir, err)
	}
	if err := fill(tmp); err != nil {
		return err
	}
	if !exists {
		if err := os.Rename(tmp, dir); err != nil {
			return fmt.Errorf("output %s: %w", dir, err)
		}
		ok = true
		return nil
	}
	old, err := os.MkdirTemp(parent, "."+base+".old-")
	if err != nil {
		return fmt.Errorf("output %s: %w", dir, err)
	}
	os.Remove(old) // only the unique name is needed
	if err := os.Rename(dir, old); err != nil {
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.Rename(old, dir)
		return fmt.Errorf("replace %s: %w", dir, err)
	}
	ok = true
	if err := os.RemoveAll(old); err != nil {
		return fmt.Errorf("remove the previous %s (now %s): %w", dir, old, err)
	}
	return nil
}
