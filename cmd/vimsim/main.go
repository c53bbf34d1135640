// Command vimsim is a co-design simulator for FPGA/ASIC accelerators that run
// a post-training-quantized Vision Mamba: float reference, quantization,
// bit-accurate integer datapath, cycle/energy/resource models and golden
// vectors for RTL verification.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	os.Exit(runMain(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes: 1 for an error, 128+n for the signal n that stopped a run
// (SIGINT 130, SIGTERM 143), as shells report them.
const (
	exitError     = 1
	exitInterrupt = 128 + int(syscall.SIGINT)
	exitTerminate = 128 + int(syscall.SIGTERM)
)

// signalGrace is how long an interrupted command has to return on its own
// (its long loops check the context per image, layer or design) before
// the process exits anyway; outputs are renamed into place only at the
// end of a command, under the output lock, so nothing partial is left
// either way.
const signalGrace = 400 * time.Millisecond

// interrupted is the cause of the context of a command stopped by a
// signal.
type interrupted struct{ sig os.Signal }

func (e *interrupted) Error() string { return "interrupted by " + signalName(e.sig) }

func signalName(s os.Signal) string {
	switch s {
	case os.Interrupt:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	}
	return s.String()
}

func (e *interrupted) code() int {
	if e.sig == syscall.SIGTERM {
		return exitTerminate
	}
	return exitInterrupt
}

// runMain runs the command line as the process does: SIGINT and SIGTERM
// cancel the command's context, and the process exits with 130 or 143
// within signalGrace (at once on a second signal), leaving no partial
// output.
func runMain(args []string, stdout, stderr io.Writer) int {
	lock := &outputLock{}
	ctx, cancel := context.WithCancelCause(withOutputLock(context.Background(), lock))
	defer cancel(nil)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan int, 1)
	go func() { done <- report(ctx, execute(ctx, args, stdout, stderr), stderr) }()
	var sig os.Signal
	select {
	case code := <-done:
		return code
	case sig = <-sigs:
	}
	cause := &interrupted{sig}
	cancel(cause)
	timer := time.NewTimer(signalGrace)
	defer timer.Stop()
	select {
	case code := <-done:
		return code
	case <-timer.C:
	case <-sigs:
	}
	// The command did not return in time: wait for an output being
	// renamed into place, if any, and leave.
	lock.Lock()
	fmt.Fprintf(stderr, "vimsim: %v%s\n", cause, writtenNote(lock))
	return cause.code()
}

// run executes the command line args without signal handling (tests) and
// returns the process exit code. Errors are printed as one line on stderr.
func run(args []string, stdout, stderr io.Writer) int {
	ctx := withOutputLock(context.Background(), &outputLock{})
	return report(ctx, execute(ctx, args, stdout, stderr), stderr)
}

// execute runs the command line with ctx as every command's context.
func execute(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	return root.ExecuteContext(ctx)
}

// report prints err as one line and returns the exit code: 0 without an
// error, 130/143 when ctx was cancelled by a signal, else 1.
func report(ctx context.Context, err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var in *interrupted
	if errors.As(context.Cause(ctx), &in) {
		l, _ := ctx.Value(outputLockKey{}).(*outputLock)
		fmt.Fprintf(stderr, "vimsim: %v%s\n", in, writtenNote(l))
		return in.code()
	}
	fmt.Fprintf(stderr, "vimsim: %v\n", err)
	return exitError
}

// writtenNote tells an interrupted user whether outputs were put in place.
func writtenNote(l *outputLock) string {
	if l != nil && l.wrote {
		return " after writing its outputs"
	}
	return "; nothing written"
}
