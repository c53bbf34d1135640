package explore

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"runtime/debug"
)

// BuildKey identifies the running build of vimsim for the cache keys: the
// VCS revision it was built from and, when there is none or the tree was
// modified, the SHA-256 of the executable, so that a cache never serves the
// results of other code.
func BuildKey() string {
	var rev, modified string
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value
			}
		}
	}
	if rev != "" && modified != "true" {
		return "revision " + rev
	}
	key := "revision " + rev + " modified"
	exe, err := os.Executable()
	if err != nil {
		return key
	}
	f, err := os.Open(exe)
	if err != nil {
		return key
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return key
	}
	return key + ", executable sha256:" + hex.EncodeToString(h.Sum(nil))
}
