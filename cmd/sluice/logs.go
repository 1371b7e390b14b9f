package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/sluicehq/sluice/internal/lambda/engine"
)

// runLogs prints (and with --follow, follows) a function's log. It reads
// the log files in the server's data directory, so it runs on the server's
// host; another process's appends show within engine.FlushInterval.
func runLogs(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("sluice logs", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: sluice logs FUNCTION [--follow] [--tail N] [--data DIR]\n\n"+
			"Prints a function's log (invocations framed by START, END and REPORT lines)\n"+
			"from the server's data directory.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	data := fs.String("data", "./sluice-data", "the server's data directory")
	follow := fs.Bool("follow", false, "keep printing what is appended until interrupted")
	fs.BoolVar(follow, "f", false, "short for --follow")
	tail := fs.Int("tail", -1, "print only the last `N` lines first (-1: all)")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fs.Usage()
		return errors.New("logs: want exactly one function name")
	}
	dir := engine.LogsDir(*data)
	if _, err := os.Stat(dir); err != nil {
		return fmt.Errorf("logs: no function logs under %s (is --data the server's data directory?)", *data)
	}
	logs, err := engine.OpenLogs(dir, 0)
	if err != nil {
		return err
	}
	defer logs.Close()
	if *follow {
		return logs.Follow(ctx, pos[0], *tail, 100*time.Millisecond, e.stdout)
	}
	b, err := logs.Tail(pos[0], *tail)
	if err != nil {
		return err
	}
	_, err = e.stdout.Write(b)
	return err
}
