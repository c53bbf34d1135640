package traces

import (
	"bytes"
	"strings"
	"testing"
)

func TestAppendHex(t *testing.T) {
	for _, c := range []struct {
		v    int64
		bits int
		want string
	}{
		{-1, 8, "ff"}, {127, 8, "7f"}, {-128, 8, "80"}, {0, 8, "00"},
		{-384, 32, "fffffe80"}, {-2147483648, 32, "80000000"}, {2147483647, 32, "7fffffff"},
		{-1, 16, "ffff"}, {256, 9, "100"}, {511, 9, "1ff"}, {1, 1, "1"}, {0, 1, "0"},
		{1<<31 - 1, 31, "7fffffff"}, {63, 6, "3f"}, {-1, 64, "ffffffffffffffff"}, {-1, 25, "1ffffff"},
	} {
		if got := string(appendHex(nil, c.v, c.bits)); got != c.want {
			t.Errorf("appendHex(%d, %d) = %q, want %q", c.v, c.bits, got, c.want)
		}
	}
}

func TestHexWriterLanes(t *testing.T) {
	var w hexWriter
	w.lanes([]int64{1, -1, 0x12, -128}, 8) // lane 0 rightmost
	if got := string(w.buf); got != "8012ff01\n" {
		t.Errorf("lanes = %q", got)
	}
}

func TestReadMemH(t *testing.T) {
	for _, c := range []struct {
		in   string
		bits int
		want []uint64
		err  string
	}{
		{"// header\nff\n7f // tail\n/* block\n */ 1_0\n", 8, []uint64{0xff, 0x7f, 0x10}, ""},
		{"DEAD beef", 16, []uint64{0xdead, 0xbeef}, ""},
		{"", 8, nil, ""},
		{"1ff", 8, nil, "wider than 8 bits"},
		{"-1", 8, nil, "invalid character"},
		{"@10 ff", 8, nil, "address"},
		{"/* open", 8, nil, "unterminated"},
		{"fg", 8, nil, "invalid character"},
		{"ff", 0, nil, "width"},
		{"1ffffffffffffffff", 64, nil, "64 bits"},
	} {
		got, err := ReadMemH([]byte(c.in), c.bits)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ReadMemH(%q): err %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("ReadMemH(%q): %v", c.in, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("ReadMemH(%q) = %x, want %x", c.in, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("ReadMemH(%q) = %x, want %x", c.in, got, c.want)
				break
			}
		}
	}
	if Signed(0xff, 8) != -1 || Signed(0x7f, 8) != 127 || Signed(0x80000000, 32) != -1<<31 {
		t.Error("Signed")
	}
}

// FuzzReadMemH: the parser never panics, and what it accepts re-renders
// to words it parses back identically.
func FuzzReadMemH(f *testing.F) {
	f.Add([]byte("// c\nff\n01\n"), 8)
	f.Add([]byte("/* x */ 1_2_3 @4"), 12)
	f.Add([]byte("fffffe80\n"), 32)
	f.Fuzz(func(t *testing.T, data []byte, bits int) {
		words, err := ReadMemH(data, bits)
		if err != nil {
			return
		}
		var w hexWriter
		for _, v := range words {
			w.word(int64(v), bits)
		}
		again, err := ReadMemH(w.buf, bits)
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		if len(again) != len(words) {
			t.Fatalf("re-parse: %d words, want %d", len(again), len(words))
		}
		for i := range words {
			if again[i] != words[i] {
				t.Fatalf("word %d: %x, want %x", i, again[i], words[i])
			}
		}
		if !bytes.Equal(w.buf, bytes.ToLower(w.buf)) {
			t.Fatal("upper-case output")
		}
	})
}
