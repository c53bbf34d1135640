package explore

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/vimsim/vimsim/internal/atomicfile"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/vim/ckpt"
)

// CacheVersion is the version of the cache layout and of the entries'
// contents; it is part of every key, so that entries of another version
// are never read.
const CacheVersion = 1

// Cache stores the results of jobs in a directory, one file per entry,
// named by the SHA-256 of the entry's key and holding the key itself:
// programs (safetensors, the key in the metadata) and JSON values. Every
// entry is written to a temporary file and renamed into place, so that a
// run killed at any point leaves only complete entries; an entry that
// cannot be read back, or holds another key, is missing. Entries never
// change once written (equal keys, equal values), so runs sharing a cache
// directory — shards on a shared file system — need no locking. A nil
// *Cache stores nothing.
type Cache struct {
	dir string
}

// OpenCache opens (creating it if needed) the cache directory dir.
func OpenCache(dir string) (*Cache, error) {
	if dir == "" {
		return nil, fmt.Errorf("cache: empty directory name")
	}
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("cache %s: not a directory", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cache %s: %w", dir, err)
	}
	return &Cache{dir: dir}, nil
}

// Dir returns the cache directory.
func (c *Cache) Dir() string { return c.dir }

// hashKey is the file name stem of key.
func hashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:16])
}

func (c *Cache) path(kind, key, ext string) string {
	return filepath.Join(c.dir, kind, hashKey(key)+ext)
}

// entry is the on-disk form of a JSON entry.
type entry struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

// get reads the JSON entry of kind and key into v and reports whether it
// was there.
func (c *Cache) get(kind, key string, v any) bool {
	if c == nil {
		return false
	}
	b, err := os.ReadFile(c.path(kind, key, ".json"))
	if err != nil {
		return false
	}
	var e entry
	if json.Unmarshal(b, &e) != nil || e.Key != key {
		return false
	}
	return json.Unmarshal(e.Value, v) == nil
}

// has reports whether the JSON entry of kind and key is there (without
// decoding its value).
func (c *Cache) has(kind, key string) bool {
	var v json.RawMessage
	return c.get(kind, key, &v)
}

// put stores v as the JSON entry of kind and key.
func (c *Cache) put(kind, key string, v any) error {
	if c == nil {
		return nil
	}
	val, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("cache %s entry: %w", kind, err)
	}
	b, err := json.Marshal(entry{Key: key, Value: val})
	if err != nil {
		return fmt.Errorf("cache %s entry: %w", kind, err)
	}
	p := c.path(kind, key, ".json")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	return atomicfile.WriteFile(p, b)
}

// programKeyMeta is the metadata field of a cached program holding its key.
const programKeyMeta = "vimsim.explore.key"

// getProgram reads the cached program of key, or returns nil.
func (c *Cache) getProgram(key string) *intprog.Program {
	if c == nil {
		return nil
	}
	f, err := ckpt.ReadSafetensors(c.path("program", key, ".safetensors"))
	if err != nil {
		return nil
	}
	if f.Metadata[programKeyMeta] != key {
		return nil
	}
	delete(f.Metadata, programKeyMeta)
	p, err := intprog.FromFile(f)
	if err != nil {
		return nil
	}
	return p
}

// putProgram stores p as the program of key.
func (c *Cache) putProgram(key string, p *intprog.Program) error {
	if c == nil {
		return nil
	}
	f, err := p.File()
	if err != nil {
		return err
	}
	if f.Metadata == nil {
		f.Metadata = map[string]string{}
	}
	f.Metadata[programKeyMeta] = key
	path := c.path("program", key, ".safetensors")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	return ckpt.WriteSafetensors(path, f)
}

// hasProgram reports whether the program of key is cached, without
// reading it whole.
func (c *Cache) hasProgram(key string) bool {
	if c == nil {
		return false
	}
	_, err := os.Stat(c.path("program", key, ".safetensors"))
	return !errors.Is(err, fs.ErrNotExist) && err == nil
}
