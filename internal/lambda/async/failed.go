package async

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// Dir is where a node with data directory dataDir keeps the async queue's
// files (Config.Dir), for readers in another process (`sluice fn events`).
func Dir(dataDir string) string { return filepath.Join(dataDir, "lambda", "async") }

// FailedEvent is an entry of a function's failed-event list: an event
// given up on that no destination took.
type FailedEvent struct {
	// Time is when the event was given up on.
	Time      time.Time `json:"time"`
	Function  string    `json:"function"`
	RequestID string    `json:"requestId"`
	// Condition is the record's: RetriesExhausted or EventAgeExceeded
	// (Success when an OnSuccess destination failed).
	Condition string `json:"condition"`
	// Reason says in words why the event was given up on.
	Reason string `json:"reason"`
	// Destination is the destination that failed, "" if none was set;
	// DestinationError why it failed.
	Destination      string `json:"destination,omitempty"`
	DestinationError string `json:"destinationError,omitempty"`
	// Record is the invocation record, request payload included.
	Record *Record `json:"record"`
}

// The failed-event lists live in <Dir>/failed/<function>.jsonl, one JSON
// FailedEvent a line, appended and synced.
const failedDir = "failed"

// failedList appends to the failed-event lists.
type failedList struct {
	dir string
	mu  sync.Mutex
}

func openFailedList(dir string) (*failedList, error) {
	d := filepath.Join(dir, failedDir)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return nil, err
	}
	return &failedList{dir: d}, nil
}

func failedPath(dir, function string) (string, error) {
	if function == "" || function == "." || function == ".." || strings.ContainsAny(function, "/\\\x00") {
		return "", fmt.Errorf("async: invalid function name %q", function)
	}
	return filepath.Join(dir, function+".jsonl"), nil
}

// append adds f to its function's list and syncs it.
func (l *failedList) append(f *FailedEvent) error {
	path, err := failedPath(l.dir, f.Function)
	if err != nil {
		return err
	}
	line, err := json.Marshal(f)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	_, err = file.Write(line)
	if err == nil {
		err = file.Sync()
	}
	return errors.Join(err, file.Close())
}

// ReadFailed returns a function's failed-event list, oldest first, from the
// queue directory dir (see Dir). A function without failed events has an
// empty list. A line that does not decode (one torn by a crash) is skipped.
func ReadFailed(dir, function string) ([]FailedEvent, error) {
	path, err := failedPath(filepath.Join(dir, failedDir), function)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []FailedEvent
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20) // records carry payloads up to 1 MB, twice
	for sc.Scan() {
		var fe FailedEvent
		if json.Unmarshal(sc.Bytes(), &fe) == nil {
			out = append(out, fe)
		}
	}
	return out, sc.Err()
}

// FailedFunctions returns the names of the functions that have a
// failed-event list in dir, sorted.
func FailedFunctions(dir string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Join(dir, failedDir))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".jsonl"); ok && !e.IsDir() {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}
