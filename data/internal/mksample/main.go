// Command mksample writes the embedded "sample" dataset of package data: the
// first n images and labels of the Fashion-MNIST test set, as gzipped IDX
// files. Run it from the data directory (go generate ./data/ does):
//
//	go run ./internal/mksample -src /usr/share/datasets/fashion-mnist -n 256 -out sample
//
// The source is Debian's dataset-fashion-mnist package. The output is
// deterministic (no gzip timestamp or name), so regenerating gives the same
// bytes. It does not import package data (which embeds its output), so it
// runs when the sample files are missing.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/vimsim/vimsim/internal/atomicfile"
)

func main() {
	src := flag.String("src", "/usr/share/datasets/fashion-mnist", "directory of the Fashion-MNIST IDX files")
	n := flag.Int("n", 256, "number of test images to keep")
	out := flag.String("out", "sample", "output directory")
	flag.Parse()
	if err := run(*src, *out, *n); err != nil {
		fmt.Fprintln(os.Stderr, "mksample:", err)
		os.Exit(1)
	}
}

func run(src, out string, n int) error {
	for _, f := range []string{"t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
		raw, err := head(filepath.Join(src, f), n)
		if err != nil {
			return err
		}
		var gz bytes.Buffer
		zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		if err != nil {
			return err
		}
		zw.Write(raw)
		if err := zw.Close(); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(filepath.Join(out, f), gz.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// head returns the header of the gzipped unsigned-byte IDX file at path,
// with its item count set to n, followed by its first n items.
func head(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var magic [4]byte
	if _, err := io.ReadFull(zr, magic[:]); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	nd := int(magic[3])
	if magic[0] != 0 || magic[1] != 0 || magic[2] != 8 || nd < 1 || nd > 3 {
		return nil, fmt.Errorf("%s: bad magic %x", path, magic)
	}
	dims := make([]uint32, nd)
	if err := binary.Read(zr, binary.BigEndian, dims); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if n <= 0 || uint32(n) > dims[0] {
		return nil, fmt.Errorf("%s: cannot keep %d of %d items", path, n, dims[0])
	}
	item := 1
	for _, d := range dims[1:] {
		item *= int(d)
	}
	dims[0] = uint32(n)
	var out bytes.Buffer
	out.Write(magic[:])
	binary.Write(&out, binary.BigEndian, dims)
	if _, err := io.CopyN(&out, zr, int64(n*item)); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out.Bytes(), nil
}
