// Package models holds the checkpoints embedded in the vimsim binary, so that
// the main job runs with no download and no file on disk.
package models

import (
	"embed"
	"path"
	"sort"
	"strings"
)

//go:embed *.safetensors
var files embed.FS

const ext = ".safetensors"

// Lookup returns the safetensors bytes of the embedded model name.
func Lookup(name string) ([]byte, bool) {
	if strings.ContainsAny(name, `/\`) {
		return nil, false
	}
	b, err := files.ReadFile(name + ext)
	return b, err == nil
}

// Names lists the embedded models.
func Names() []string {
	entries, _ := files.ReadDir(".")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(path.Base(e.Name()), ext))
	}
	sort.Strings(names)
	return names
}
