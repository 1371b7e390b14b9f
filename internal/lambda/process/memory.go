package process

import (
	"bytes"
	"io"
	"os"
	"strconv"
	"syscall"
)

var pageSize = uint64(os.Getpagesize())

// Memory reads the leader's current resident set size and its high-water
// mark (VmRSS and VmHWM of /proc/PID/status), in bytes. The status file
// stays open between calls, so a reading costs one pread.
func (p *Process) Memory() (rss, peak uint64, err error) {
	p.memMu.Lock()
	defer p.memMu.Unlock()
	if p.status == nil {
		select {
		case <-p.done:
			return 0, 0, os.ErrProcessDone
		default:
		}
		f, err := os.Open("/proc/" + strconv.Itoa(p.pid) + "/status")
		if err != nil {
			return 0, 0, err
		}
		p.status = f
	}
	var buf [4096]byte
	n, err := p.status.ReadAt(buf[:], 0)
	if n == 0 && err != nil {
		return 0, 0, err
	}
	b := buf[:n]
	rss = statusField(b, "VmRSS:")
	peak = statusField(b, "VmHWM:")
	if peak < rss {
		peak = rss
	}
	return rss, peak, nil
}

// closeStatus closes the status file once the process is gone.
func (p *Process) closeStatus() {
	p.memMu.Lock()
	defer p.memMu.Unlock()
	if p.status != nil {
		p.status.Close()
		p.status = nil
	}
}

// GroupRSS adds up the resident set size of every process on the host by
// process group: for each key of groups (a process group ID) it stores the
// group's total in bytes. Groups with no process left get 0. It reads
// /proc/*/stat, about half a millisecond for a hundred processes.
func GroupRSS(groups map[int]uint64) error {
	for k := range groups {
		groups[k] = 0
	}
	d, err := os.Open("/proc")
	if err != nil {
		return err
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return err
	}
	var buf [1024]byte
	path := make([]byte, 0, 32)
	for _, name := range names {
		if name == "" || name[0] < '0' || name[0] > '9' {
			continue
		}
		path = append(append(path[:0], "/proc/"...), name...)
		b, err := readProc(path, "/stat", buf[:])
		if err != nil {
			continue
		}
		pgrp, rss, ok := parseStat(b)
		if !ok {
			continue
		}
		if _, want := groups[pgrp]; want {
			groups[pgrp] += rss * pageSize
		}
	}
	return nil
}

// readProc reads the start of a /proc file into buf with raw system
// calls: open, read, close (os.Open adds an os.File, four fcntl calls
// and a failed epoll_ctl, and the watchdog reads every process's stat
// five times a second).
func readProc(dir []byte, file string, buf []byte) ([]byte, error) {
	fd, err := syscall.Open(string(append(dir, file...)), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer syscall.Close(fd)
	for {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, io.EOF
		}
		return buf[:n], nil
	}
}

// statusField parses "Name:   1234 kB" from /proc/PID/status, in bytes.
func statusField(b []byte, name string) uint64 {
	i := bytes.Index(b, []byte(name))
	if i < 0 {
		return 0
	}
	b = b[i+len(name):]
	var v uint64
	seen := false
	for _, c := range b {
		switch {
		case c == ' ' || c == '\t':
			if seen {
				return v << 10
			}
		case c >= '0' && c <= '9':
			v = v*10 + uint64(c-'0')
			seen = true
		default:
			return v << 10
		}
	}
	return v << 10
}

// parseStat returns the process group (field 5) and RSS in pages (field 24)
// of a /proc/PID/stat line. The command name (field 2) may contain spaces
// and parentheses, so fields are counted after its last ')'.
func parseStat(b []byte) (pgrp int, rss uint64, ok bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	// Fields 3 onwards, separated by single spaces; field 5 is index 2
	// and field 24 index 21 counting from field 3.
	var pg, rs []byte
	idx := 0
	for rest := bytes.TrimSpace(b[i+1:]); len(rest) > 0 && idx <= 21; idx++ {
		field := rest
		if j := bytes.IndexByte(rest, ' '); j >= 0 {
			field, rest = rest[:j], bytes.TrimLeft(rest[j+1:], " ")
		} else {
			rest = nil
		}
		switch idx {
		case 2:
			pg = field
		case 21:
			rs = field
		}
	}
	if idx <= 21 {
		return 0, 0, false
	}
	g, err := strconv.Atoi(string(pg))
	if err != nil {
		return 0, 0, false
	}
	r, err := strconv.ParseUint(string(rs), 10, 64)
	if err != nil {
		return 0, 0, false
	}
	return g, r, true
}
