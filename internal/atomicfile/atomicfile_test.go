package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// names lists the entries of dir.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	for _, content := range []string{"first\n", "second, longer\n"} {
		if err := WriteFile(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != content {
			t.Fatalf("read back %q, %v; want %q", got, err, content)
		}
	}
	st, err := os.Stat(path)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, %v; want 0644", st.Mode(), err)
	}
	if n := names(t, dir); len(n) != 1 {
		t.Errorf("directory holds %v, want only out.txt", n)
	}

	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, want string
	}{
		{sub, "is a directory"},
		{filepath.Join(dir, "missing", "x"), "missing"},
	} {
		err := WriteFile(tc.path, []byte("x"))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("WriteFile(%s): error %v, want one naming the path and %q", tc.path, err, tc.want)
		}
	}
	if n := names(t, dir); len(n) != 2 {
		t.Errorf("after the failures the directory holds %v", n)
	}
}

func TestCreateAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "report.json")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("partial"); err != nil {
		t.Fatal(err)
	}
	f.Abort()
	if err := f.Commit(); err != nil {
		t.Errorf("Commit after Abort: %v", err)
	}
	if n := names(t, dir); len(n) != 0 {
		t.Errorf("aborted file left %v", n)
	}
	f, err = Create(path)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("done")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	f.Abort() // no effect after Commit
	if got, err := os.ReadFile(path); err != nil || string(got) != "done" {
		t.Errorf("committed file %q, %v", got, err)
	}
}

func TestWriteDir(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "out")
	write := func(name, content string) func(string) error {
		return func(tmp string) error { return os.WriteFile(filepath.Join(tmp, name), []byte(content), 0o644) }
	}
	if err := WriteDir(dir, false, write("a", "1")); err != nil {
		t.Fatal(err)
	}
	if n := names(t, dir); len(n) != 1 || n[0] != "a" {
		t.Fatalf("dir holds %v", n)
	}
	if st, err := os.Stat(dir); err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("dir mode %v, %v", st.Mode(), err)
	}
	if err := WriteDir(dir, false, write("b", "2")); !errors.Is(err, ErrNotEmpty) || !strings.Contains(err.Error(), dir) {
		t.Errorf("non-empty dir without replace: %v", err)
	}
	fail := errors.New("fill failed")
	if err := WriteDir(dir, true, func(tmp string) error {
		write("c", "3")(tmp)
		return fail
	}); err != fail {
		t.Errorf("fill error returned as %v", err)
	}
	if n := names(t, dir); len(n) != 1 || n[0] != "a" {
		t.Errorf("a failed fill changed dir: %v", n)
	}
	if err := WriteDir(dir, true, write("b", "2")); err != nil {
		t.Fatal(err)
	}
	if n := names(t, dir); len(n) != 1 || n[0] != "b" {
		t.Errorf("replaced dir holds %v, want [b]", n)
	}
	empty := filepath.Join(parent, "empty")
	os.Mkdir(empty, 0o755)
	if err := WriteDir(empty, false, write("a", "1")); err != nil {
		t.Errorf("existing empty dir: %v", err)
	}
	file := filepath.Join(parent, "file")
	os.WriteFile(file, nil, 0o644)
	if err := WriteDir(file, true, write("a", "1")); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("a file as dir: %v", err)
	}
	if n := names(t, parent); len(n) != 3 {
		t.Errorf("parent holds %v, want empty, file and out only", n)
	}
}
