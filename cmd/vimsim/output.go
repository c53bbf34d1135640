package main

// Output files and directories of the commands: every command renders its
// outputs in memory (or into a temporary directory), checks the targets
// before it starts its work, and renames everything into place at the
// end, under the output lock, so that an error or a signal leaves nothing
// partial behind; an existing non-empty target needs --force.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/internal/atomicfile"
)

// outputLock is held while a command renames its outputs into place; the
// process interrupted by a signal takes it before exiting, so that it
// never leaves in the middle of a rename. wrote records that a command
// put an output in place.
type outputLock struct {
	sync.Mutex
	wrote bool
}

type outputLockKey struct{}

func withOutputLock(ctx context.Context, l *outputLock) context.Context {
	return context.WithValue(ctx, outputLockKey{}, l)
}

// lockOutputs takes the output lock of ctx, if any, and returns its
// release.
func lockOutputs(ctx context.Context) (l *outputLock, unlock func()) {
	l, _ = ctx.Value(outputLockKey{}).(*outputLock)
	if l == nil {
		l = &outputLock{}
	}
	l.Lock()
	return l, l.Unlock
}

// commandContext returns the context of cmd (Background when it has none,
// as in tests that call a command directly).
func commandContext(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

// registerForce adds --force to cmd.
func registerForce(cmd *cobra.Command, force *bool) {
	cmd.Flags().BoolVar(force, "force", false, "replace existing output files or a non-empty output directory")
}

// checkOutputFile refuses an output file path that cannot be written, so
// that a command fails before its work rather than after: a path ending
// in a separator or naming a directory, a missing parent directory, or an
// existing non-empty file without force. flag names the flag in the error.
func checkOutputFile(flag, path string, force bool) error {
	if path == "" {
		return nil
	}
	if strings.HasSuffix(path, "/") || strings.HasSuffix(path, string(filepath.Separator)) {
		return fmt.Errorf("--%s %s: a directory name; give a file name", flag, path)
	}
	st, err := os.Stat(path)
	switch {
	case err == nil && st.IsDir():
		return fmt.Errorf("--%s %s: is a directory; give a file name inside it", flag, path)
	case err == nil && !st.Mode().IsRegular():
		return fmt.Errorf("--%s %s: exists and is not a regular file", flag, path)
	case err == nil && st.Size() > 0 && !force:
		return fmt.Errorf("--%s %s: file exists (use --force to replace it)", flag, path)
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("--%s %s: %w", flag, path, err)
	}
	parent := filepath.Dir(path)
	pst, err := os.Stat(parent)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("--%s %s: directory %s does not exist", flag, path, parent)
	case err != nil:
		return fmt.Errorf("--%s %s: %w", flag, path, err)
	case !pst.IsDir():
		return fmt.Errorf("--%s %s: %s is not a directory", flag, path, parent)
	}
	return nil
}

// checkOutputDir refuses an output directory that cannot be written: an
// existing path that is not a directory, an existing non-empty directory
// without force, or a missing parent.
func checkOutputDir(flag, dir string, force bool) error {
	if dir == "" {
		return fmt.Errorf("--%s: give the output directory", flag)
	}
	dir = filepath.Clean(dir)
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		return fmt.Errorf("--%s %s: exists and is not a directory", flag, dir)
	case err == nil && !force:
		entries, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("--%s %s: %w", flag, dir, err)
		}
		if len(entries) > 0 {
			return fmt.Errorf("--%s %s: directory is not empty (use --force to replace it)", flag, dir)
		}
	case err != nil && !errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("--%s %s: %w", flag, dir, err)
	}
	if pst, err := os.Stat(filepath.Dir(dir)); err != nil || !pst.IsDir() {
		return fmt.Errorf("--%s %s: parent directory %s does not exist", flag, dir, filepath.Dir(dir))
	}
	return nil
}

// outputFile is one output of a command: its flag, its path ("" for
// stdout) and its content.
type outputFile struct {
	flag, path string
	data       []byte
}

// writeOutputs writes files whose path is set atomically, as a set: each
// goes to a temporary file next to it, and all are renamed into place
// once all are written and ctx is not cancelled. The targets are checked
// again (checkOutputFile) first. Files without a path go to stdout after
// the others are in place.
func writeOutputs(ctx context.Context, stdout io.Writer, force bool, files ...outputFile) error {
	var tmps []*atomicfile.File
	defer func() {
		for _, f := range tmps {
			f.Abort()
		}
	}()
	for _, f := range files {
		if f.path == "" {
			continue
		}
		if err := checkOutputFile(f.flag, f.path, force); err != nil {
			return err
		}
		t, err := atomicfile.Create(f.path)
		if err != nil {
			return fmt.Errorf("--%s: %w", f.flag, err)
		}
		tmps = append(tmps, t)
		if _, err := t.Write(f.data); err != nil {
			return fmt.Errorf("--%s: write %s: %w", f.flag, f.path, err)
		}
	}
	if err := commitFiles(ctx, tmps); err != nil {
		return err
	}
	for _, f := range files {
		if f.path == "" {
			if _, err := stdout.Write(f.data); err != nil {
				return err
			}
		}
	}
	return nil
}

// commitFiles renames the temporary files into place under the output
// lock, unless ctx is cancelled.
func commitFiles(ctx context.Context, tmps []*atomicfile.File) error {
	if len(tmps) == 0 {
		return ctx.Err()
	}
	l, unlock := lockOutputs(ctx)
	defer unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, t := range tmps {
		if err := t.Commit(); err != nil {
			return err
		}
		l.wrote = true
	}
	return nil
}

// writeOutputDir creates the directory dir with what fill writes into a
// temporary directory, renamed into place under the output lock once fill
// returns and ctx is not cancelled; an existing non-empty dir is replaced
// only with force.
func writeOutputDir(ctx context.Context, flag, dir string, force bool, fill func(tmp string) error) error {
	dir = filepath.Clean(dir)
	if err := checkOutputDir(flag, dir, force); err != nil {
		return err
	}
	l, unlock := lockOutputs(ctx)
	defer unlock()
	err := atomicfile.WriteDir(dir, force, func(tmp string) error {
		if err := fill(tmp); err != nil {
			return err
		}
		return ctx.Err()
	})
	switch {
	case errors.Is(err, atomicfile.ErrNotEmpty):
		return fmt.Errorf("--%s: %w (use --force to replace it)", flag, err)
	case err != nil:
		return err
	}
	l.wrote = true
	return nil
}
