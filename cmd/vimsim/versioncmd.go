package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
	"github.com/vimsim/vimsim/quant"
	"github.com/vimsim/vimsim/quant/intprog"
	"github.com/vimsim/vimsim/traces"
)

// buildInfo is what `vimsim version` prints: the generator version, the
// module's version and VCS state from the build, the Go toolchain and the
// versions of the file formats vimsim writes.
type buildInfo struct {
	Version       string `json:"version"`
	Module        string `json:"module_version"`
	GoVersion     string `json:"go_version"`
	Platform      string `json:"platform"`
	Revision      string `json:"vcs_revision,omitempty"`
	RevisionTime  string `json:"vcs_time,omitempty"`
	Modified      bool   `json:"vcs_modified,omitempty"`
	VectorsFormat int    `json:"vectors_format"`
	ProgramFormat int    `json:"program_format"`
	QModelFormat  int    `json:"qmodel_format"`
}

// readBuildInfo collects the build's information (debug.ReadBuildInfo:
// module version "(devel)" for a build from a source tree, VCS settings
// when built by `go build` inside a git checkout).
func readBuildInfo() buildInfo {
	b := buildInfo{Version: version, Module: "unknown", GoVersion: runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH, VectorsFormat: traces.FormatVersion,
		ProgramFormat: intprog.FileVersion, QModelFormat: quant.ArtifactVersion}
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return b
	}
	b.Module = info.Main.Version
	if info.GoVersion != "" {
		b.GoVersion = info.GoVersion
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			b.Revision = s.Value
		case "vcs.time":
			b.RevisionTime = s.Value
		case "vcs.modified":
			b.Modified = s.Value == "true"
		}
	}
	return b
}

func writeBuildInfo(w io.Writer, b buildInfo) error {
	rev := "unknown (not built from a git checkout)"
	if b.Revision != "" {
		rev = b.Revision
		if b.RevisionTime != "" {
			rev += " (" + b.RevisionTime + ")"
		}
		if b.Modified {
			rev += ", modified"
		}
	}
	_, err := fmt.Fprintf(w, "vimsim %s\nmodule version: %s\ngo: %s %s\nvcs revision: %s\nformats: vectors %d, program %d, qmodel %d\n",
		b.Version, b.Module, b.GoVersion, b.Platform, rev, b.VectorsFormat, b.ProgramFormat, b.QModelFormat)
	return err
}

// newVersionCmd is `vimsim version`.
func newVersionCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print vimsim's version, build (module, Go, VCS revision) and file format versions",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkFormat("format", format, "text", "json"); err != nil {
				return err
			}
			b := readBuildInfo()
			if format == "json" {
				return writeJSON(cmd.OutOrStdout(), b)
			}
			return writeBuildInfo(cmd.OutOrStdout(), b)
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}
