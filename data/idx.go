package data

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
)

// IDX limits: a header may claim anything, these bound what is believed.
const (
	idxMaxDims     = 4
	idxMaxItemSize = 1 << 26 // bytes of one item (one image)
	idxMaxCount    = 1 << 31 // items in one file
)

// IDX is an open IDX file of unsigned bytes, the format of MNIST and
// Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian header
// 0x00 0x00 0x08 ndims, ndims uint32 sizes, then the items row-major.
//
// The file is never read whole. A raw file is read with ReadAt (random
// access); a gzip-compressed one (detected by its magic bytes, not by its
// name) is decompressed as a stream, so reading items in increasing order is
// the fast path and going backwards re-opens the file. OpenIDX reads a
// compressed file through once to check its length and checksum, so that a
// truncated or overlong file is rejected up front.
//
// An IDX is safe for concurrent use.
type IDX struct {
	name     string
	dims     []int
	count    int
	itemSize int
	hdrSize  int

	ra     io.ReaderAt // raw files: random access
	closer io.Closer   // the raw file, closed by Close

	open func() (io.ReadCloser, error) // gzip files: a fresh stream

	mu     sync.Mutex // guards the stream state below
	rc     io.ReadCloser
	br     *bufio.Reader
	next   int // index of the item the stream is positioned at
	closed bool
}

// OpenIDX opens the IDX file at path, raw or gzip-compressed, and validates
// its header against its length.
func OpenIDX(path string) (*IDX, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError already names the file
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	reopen := func() (io.ReadCloser, error) { return os.Open(path) }
	x, err := newIDX(path, f, st.Size(), reopen)
	if err != nil {
		f.Close()
		return nil, err
	}
	return x, nil
}

// openIDXFS opens name in fsys, as OpenIDX does; label names the file in
// errors.
func openIDXFS(fsys fs.FS, name, label string) (*IDX, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	reopen := func() (io.ReadCloser, error) { return fsys.Open(name) }
	x, err := newIDX(label, f, st.Size(), reopen)
	if err != nil {
		f.Close()
		return nil, err
	}
	return x, nil
}

// newIDX builds an IDX from first, an open handle on a file of size bytes.
// If first is an io.ReaderAt and the file is not compressed, it is kept for
// random access and closed by Close; otherwise it is closed here and reopen
// provides the streams.
func newIDX(name string, first io.ReadCloser, size int64, reopen func() (io.ReadCloser, error)) (*IDX, error) {
	x := &IDX{name: name}
	ra, random := first.(io.ReaderAt)
	if random {
		var magic [2]byte
		n, err := ra.ReadAt(magic[:], 0)
		if n < len(magic) && err != nil && err != io.EOF {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		random = !(n == 2 && magic[0] == 0x1f && magic[1] == 0x8b)
	}

	if random {
		hdr, err := readIDXHeader(name, io.NewSectionReader(ra, 0, size))
		if err != nil {
			return nil, err
		}
		x.setHeader(hdr)
		want := int64(x.hdrSize) + int64(x.count)*int64(x.itemSize)
		switch {
		case size < want:
			return nil, fmt.Errorf("%s: truncated: %d bytes, dims %s need %d", name, size, dimsString(x.dims), want)
		case size > want:
			return nil, fmt.Errorf("%s: %d bytes, more than the %d that dims %s need", name, size, want, dimsString(x.dims))
		}
		x.ra, x.closer = ra, first
		return x, nil
	}

	// Streamed: validate by reading the whole stream once.
	first.Close()
	x.open = func() (io.ReadCloser, error) {
		rc, err := reopen()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return newDecompressor(name, rc)
	}
	rc, err := x.open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	br := bufio.NewReader(rc)
	hdr, err := readIDXHeader(name, br)
	if err != nil {
		return nil, err
	}
	x.setHeader(hdr)
	want := int64(x.count) * int64(x.itemSize)
	got, err := io.Copy(io.Discard, io.LimitReader(br, want+1))
	if err != nil {
		return nil, fmt.Errorf("%s: corrupt or truncated gzip stream: %w", name, err)
	}
	switch {
	case got < want:
		return nil, fmt.Errorf("%s: truncated: %d data bytes, dims %s need %d", name, got, dimsString(x.dims), want)
	case got > want:
		return nil, fmt.Errorf("%s: more data than the %d bytes that dims %s need", name, want, dimsString(x.dims))
	}
	// Reach the end of the gzip stream, which verifies its checksum.
	if _, err := br.ReadByte(); err != io.EOF {
		if err == nil {
			return nil, fmt.Errorf("%s: more data than the %d bytes that dims %s need", name, want, dimsString(x.dims))
		}
		return nil, fmt.Errorf("%s: corrupt or truncated gzip stream: %w", name, err)
	}
	return x, nil
}

// decompressor is a gzip stream over its underlying file, or the file itself
// when it is not compressed.
type decompressor struct {
	io.Reader
	file io.Closer
}

func (d *decompressor) Close() error { return d.file.Close() }

// newDecompressor wraps rc in a gzip reader when it starts with the gzip
// magic bytes.
func newDecompressor(name string, rc io.ReadCloser) (io.ReadCloser, error) {
	br := bufio.NewReader(rc)
	magic, err := br.Peek(2)
	if err != nil && len(magic) < 2 {
		// Too short to be gzip; let the header reader report it.
		return &decompressor{Reader: br, file: rc}, nil
	}
	if magic[0] != 0x1f || magic[1] != 0x8b {
		return &decompressor{Reader: br, file: rc}, nil
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &decompressor{Reader: zr, file: rc}, nil
}

// idxHeader is a parsed IDX header.
type idxHeader struct {
	dims []int
	size int // header bytes
}

// readIDXHeader reads and checks an unsigned-byte IDX header.
func readIDXHeader(name string, r io.Reader) (idxHeader, error) {
	var m [4]byte
	if _, err := io.ReadFull(r, m[:]); err != nil {
		return idxHeader{}, fmt.Errorf("%s: truncated IDX header: %w", name, noEOF(err))
	}
	magic := binary.BigEndian.Uint32(m[:])
	nd := int(m[3])
	if m[0] != 0 || m[1] != 0 || m[2] != 0x08 || nd < 1 || nd > idxMaxDims {
		return idxHeader{}, fmt.Errorf("%s: bad magic 0x%08x, want an IDX unsigned-byte file (0x00000801 labels, 0x00000803 images)", name, magic)
	}
	buf := make([]byte, 4*nd)
	if _, err := io.ReadFull(r, buf); err != nil {
		return idxHeader{}, fmt.Errorf("%s: truncated IDX header: %w", name, noEOF(err))
	}
	dims := make([]int, nd)
	item := int64(1)
	for i := range dims {
		d := binary.BigEndian.Uint32(buf[4*i:])
		dims[i] = int(d)
		if i == 0 {
			if d > idxMaxCount {
				return idxHeader{}, fmt.Errorf("%s: item count %d too large", name, d)
			}
			continue
		}
		if d == 0 {
			return idxHeader{}, fmt.Errorf("%s: dims %s: zero-sized item", name, dimsString(dims[:i+1]))
		}
		item *= int64(d)
		if item > idxMaxItemSize {
			return idxHeader{}, fmt.Errorf("%s: dims %s: items larger than %d bytes", name, dimsString(dims[:i+1]), idxMaxItemSize)
		}
	}
	return idxHeader{dims: dims, size: 4 + 4*nd}, nil
}

func (x *IDX) setHeader(h idxHeader) {
	x.dims = h.dims
	x.hdrSize = h.size
	x.count = h.dims[0]
	x.itemSize = 1
	for _, d := range h.dims[1:] {
		x.itemSize *= d
	}
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF: inside a file, an end is a
// truncation.
func noEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// dimsString formats dims as "10000x28x28".
func dimsString(dims []int) string {
	s := ""
	for i, d := range dims {
		if i > 0 {
			s += "x"
		}
		s += fmt.Sprint(d)
	}
	return s
}

// Name is the file name given to OpenIDX.
func (x *IDX) Name() string { return x.name }

// Dims returns the sizes of the file's dimensions; Dims()[0] is Len().
func (x *IDX) Dims() []int { return append([]int(nil), x.dims...) }

// Len is the number of items (the first dimension).
func (x *IDX) Len() int { return x.count }

// ItemSize is the number of bytes of one item, the product of Dims()[1:]
// (1 for a labels file, rows·columns for an images file).
func (x *IDX) ItemSize() int { return x.itemSize }

// Compressed reports whether the file is gzip-compressed (streamed).
func (x *IDX) Compressed() bool { return x.open != nil }

// ReadItem reads item i into dst, which must hold ItemSize bytes.
func (x *IDX) ReadItem(i int, dst []byte) error {
	if i < 0 || i >= x.count {
		return fmt.Errorf("%s: item %d out of range [0,%d)", x.name, i, x.count)
	}
	if len(dst) != x.itemSize {
		return fmt.Errorf("%s: item buffer has %d bytes, want %d", x.name, len(dst), x.itemSize)
	}
	if x.ra != nil {
		off := int64(x.hdrSize) + int64(i)*int64(x.itemSize)
		if _, err := x.ra.ReadAt(dst, off); err != nil {
			return fmt.Errorf("%s: item %d: %w", x.name, i, noEOF(err))
		}
		return nil
	}
	return x.readStream(i, dst)
}

// ReadAll reads items [0, n) into one slice of n·ItemSize bytes. Use it for
// small files (labels); images are read with ReadItem.
func (x *IDX) ReadAll() ([]byte, error) {
	buf := make([]byte, x.count*x.itemSize)
	if len(buf) == 0 {
		return buf, nil
	}
	if x.ra != nil {
		if _, err := x.ra.ReadAt(buf, int64(x.hdrSize)); err != nil {
			return nil, fmt.Errorf("%s: %w", x.name, noEOF(err))
		}
		return buf, nil
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.seekLocked(0); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(x.br, buf); err != nil {
		x.resetLocked()
		return nil, fmt.Errorf("%s: truncated: %w", x.name, noEOF(err))
	}
	x.next = x.count
	return buf, nil
}

// readStream reads item i of a compressed file, reopening the stream when i
// is behind its position.
func (x *IDX) readStream(i int, dst []byte) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if err := x.seekLocked(i); err != nil {
		return err
	}
	if _, err := io.ReadFull(x.br, dst); err != nil {
		x.resetLocked()
		return fmt.Errorf("%s: item %d: truncated: %w", x.name, i, noEOF(err))
	}
	x.next = i + 1
	return nil
}

// seekLocked positions the stream at item i.
func (x *IDX) seekLocked(i int) error {
	if x.closed {
		return fmt.Errorf("%s: read after Close", x.name)
	}
	if x.rc == nil || i < x.next {
		x.resetLocked()
		rc, err := x.open()
		if err != nil {
			return err
		}
		br := bufio.NewReaderSize(rc, 64<<10)
		if _, err := br.Discard(x.hdrSize); err != nil {
			rc.Close()
			return fmt.Errorf("%s: truncated IDX header: %w", x.name, noEOF(err))
		}
		x.rc, x.br, x.next = rc, br, 0
	}
	if skip := int64(i-x.next) * int64(x.itemSize); skip > 0 {
		if _, err := io.CopyN(io.Discard, x.br, skip); err != nil {
			x.resetLocked()
			return fmt.Errorf("%s: item %d: truncated: %w", x.name, i, noEOF(err))
		}
		x.next = i
	}
	return nil
}

// resetLocked drops the stream.
func (x *IDX) resetLocked() {
	if x.rc != nil {
		x.rc.Close()
	}
	x.rc, x.br, x.next = nil, nil, 0
}

// Close releases the file.
func (x *IDX) Close() error {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.resetLocked()
	x.closed = true
	if x.closer != nil {
		err := x.closer.Close()
		x.closer = nil
		return err
	}
	return nil
}
