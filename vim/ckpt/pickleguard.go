package ckpt

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// gopickle trusts the lengths written in a pickle: a string opcode claiming
// 2⁶² bytes makes it allocate them before reading, and a stream of one-byte
// MARK opcodes makes it allocate some 300 bytes each. checkPickle walks the
// opcodes first (as Python's pickletools.genops does, without building any
// object) and rejects a pickle whose arguments run past its end, which uses
// an opcode gopickle does not know, or whose estimated allocation exceeds
// maxPickleCost. A state_dict costs a few hundred bytes per tensor.

// maxPickleCost bounds the estimated bytes gopickle allocates for data.pkl.
const maxPickleCost = 256 << 20

// Argument layouts of pickle opcodes.
const (
	argNone   = iota
	argFixed  // n bytes
	argLine   // one newline-terminated line
	argLines2 // two lines (GLOBAL, INST)
	argCount  // an n-byte little-endian length, then that many bytes
)

// pickleOp describes one opcode: its argument layout and an upper estimate
// of what gopickle allocates for it, besides its argument.
type pickleOp struct {
	known bool
	arg   int
	n     int
	cost  int
}

// Estimated allocations (bytes) of gopickle per opcode.
const (
	costPush      = 128 // a stack slot, a boxed value, a dict or list slot
	costMark      = 320 // a new 16-slot stack
	costContainer = 256 // an empty dict, list or set
	costCall      = 512 // an object made by a class or callable (OrderedDict)
)

// pickleOps is indexed by opcode; it is never modified.
var pickleOps = func() (t [256]pickleOp) {
	set := func(codes string, arg, n, cost int) {
		for i := 0; i < len(codes); i++ {
			t[codes[i]] = pickleOp{known: true, arg: arg, n: n, cost: cost}
		}
	}
	// Protocols 0 and 1.
	set("(", argNone, 0, costMark)
	set(".0123NRab)t\x85\x86\x87\x88\x89", argNone, 0, costPush)
	set("desulo", argNone, 0, costPush)
	set("}]", argNone, 0, costContainer)
	set("R", argNone, 0, costCall)
	set("o", argNone, 0, costCall)
	set("FILPSVgp", argLine, 0, costPush)
	set("ci", argLines2, 0, costCall)
	set("J", argFixed, 4, costPush)
	set("K", argFixed, 1, costPush)
	set("M", argFixed, 2, costPush)
	set("G", argFixed, 8, costPush)
	set("h", argFixed, 1, costPush)
	set("j", argFixed, 4, costPush)
	set("q", argFixed, 1, costPush)
	set("r", argFixed, 4, costPush)
	set("T", argCount, 4, costPush)
	set("U", argCount, 1, costPush)
	set("X", argCount, 4, costPush)
	set("Q", argNone, 0, costCall)
	// Protocol 2.
	set("\x80", argFixed, 1, costPush)
	set("\x81", argNone, 0, costCall)
	set("\x82", argFixed, 1, costPush)
	set("\x83", argFixed, 2, costPush)
	set("\x84", argFixed, 4, costPush)
	set("\x8a", argCount, 1, costPush)
	set("\x8b", argCount, 4, costPush)
	// Protocol 3.
	set("B", argCount, 4, costPush)
	set("C", argCount, 1, costPush)
	// Protocol 4.
	set("\x8c", argCount, 1, costPush)
	set("\x8d\x8e", argCount, 8, costPush)
	set("\x8f", argNone, 0, costContainer)
	set("\x90\x91", argNone, 0, costContainer)
	set("\x92\x93", argNone, 0, costCall)
	set("\x94", argNone, 0, costPush)
	set("\x95", argCount, 8, costPush) // FRAME: its "argument" is the next opcodes
	// Protocol 5.
	set("\x96", argCount, 8, costPush)
	set("\x97\x98", argNone, 0, costPush)
	return t
}()

// checkPickle reports whether gopickle can safely unpickle p.
func checkPickle(p []byte) error {
	cost := 0
	for i := 0; i < len(p); {
		at, code := i, p[i]
		op := pickleOps[code]
		i++
		if !op.known {
			return fmt.Errorf("unknown pickle opcode 0x%02x at byte %d", code, at)
		}
		cost += op.cost
		switch op.arg {
		case argFixed:
			if len(p)-i < op.n {
				return fmt.Errorf("pickle truncated in opcode 0x%02x at byte %d", code, at)
			}
			i += op.n
		case argLine, argLines2:
			lines := 1
			if op.arg == argLines2 {
				lines = 2
			}
			for range lines {
				nl := bytes.IndexByte(p[i:], '\n')
				if nl < 0 {
					return fmt.Errorf("pickle truncated in opcode 0x%02x at byte %d", code, at)
				}
				cost += 2 * nl
				i += nl + 1
			}
		case argCount:
			if len(p)-i < op.n {
				return fmt.Errorf("pickle truncated in opcode 0x%02x at byte %d", code, at)
			}
			var n uint64
			switch op.n {
			case 1:
				n = uint64(p[i])
			case 4:
				n = uint64(binary.LittleEndian.Uint32(p[i:]))
				if (code == 'T' || code == '\x8b') && n >= 1<<31 { // signed
					return fmt.Errorf("negative length in pickle opcode 0x%02x at byte %d", code, at)
				}
			case 8:
				n = binary.LittleEndian.Uint64(p[i:])
			}
			i += op.n
			if n > uint64(len(p)-i) {
				return fmt.Errorf("pickle opcode 0x%02x at byte %d claims %d bytes, only %d left", code, at, n, len(p)-i)
			}
			cost += 2 * int(n)
			if code != '\x95' { // a frame's bytes are the following opcodes
				i += int(n)
			}
		}
		if cost > maxPickleCost {
			return fmt.Errorf("pickle too complex: unpickling it would allocate more than %d MiB", maxPickleCost>>20)
		}
		if code == '.' { // STOP: gopickle reads no further
			return nil
		}
	}
	return fmt.Errorf("pickle truncated: no STOP opcode")
}
