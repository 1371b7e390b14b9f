package engine

import (
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
)

// niceApp reports the niceness (field 19 of /proc/PID/task/TID/stat) of
// every thread of the runtime process and of a child it started at init,
// after starting a thread of its own.
const niceApp = `import glob, subprocess, threading, time
threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
child = subprocess.Popen(["sleep", "60"])
def nices(pid):
    out = []
    for f in glob.glob("/proc/%d/task/*/stat" % pid):
        s = open(f).read()
        out.append(int(s[s.rindex(")") + 1:].split()[19 - 3]))
    return out
def handler(event, context):
    import os
    return {"runtime": nices(os.getpid()), "child": nices(child.pid)}
`

func TestFunctionNice(t *testing.T) {
	needPython(t)
	b, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	own, err := strconv.Atoi(strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[19-3])
	if err != nil {
		t.Fatal(err)
	}
	code := zipOf(t, map[string]zfile{"app.py": {body: niceApp}})
	for _, nice := range []int{0, 6} {
		e := newEngine(t, Config{Nice: nice})
		res := invoke(t, e, deploy("nice"+strconv.Itoa(nice), "python3.11", "app.handler", code), `{}`)
		wantOK(t, res)
		var got struct{ Runtime, Child []int }
		if err := json.Unmarshal(res.Payload, &got); err != nil {
			t.Fatalf("%s: %v", res.Payload, err)
		}
		if len(got.Runtime) < 2 || len(got.Child) < 1 {
			t.Fatalf("nice %d: threads %+v", nice, got)
		}
		want := min(own+nice, 19)
		for _, n := range append(got.Runtime, got.Child...) {
			if n != want {
				t.Errorf("nice %d: function threads have niceness %+v, want all %d", nice, got, want)
				break
			}
		}
	}
}

func TestFunctionNiceOutOfRange(t *testing.T) {
	for _, nice := range []int{-1, 20} {
		if _, err := New(Config{DataDir: t.TempDir(), Nice: nice}); err == nil {
			t.Errorf("New with Nice %d succeeded", nice)
		}
	}
}
