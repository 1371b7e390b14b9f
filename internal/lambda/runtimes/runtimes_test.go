package runtimes

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		id     string
		ok     bool
		family Family
		env    string
	}{
		{"provided.al2023", true, Provided, ""},
		{"provided", true, Provided, ""},
		{"python3.9", true, Python, "AWS_Lambda_python3.9"},
		{"python3.13", true, Python, "AWS_Lambda_python3.13"},
		{"nodejs22.x", true, Node, "AWS_Lambda_nodejs22.x"},
		{"go1.x", false, "", ""},
		{"java21", false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			rt, ok := Lookup(tt.id)
			if ok != tt.ok || rt.Family != tt.family || (ok && rt.ExecutionEnv() != tt.env) {
				t.Errorf("Lookup = %+v %v, env %q", rt, ok, rt.ExecutionEnv())
			}
		})
	}
}

func TestInstall(t *testing.T) {
	dir := t.TempDir()
	a, err := Install(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Install(dir)
	if err != nil || a != b {
		t.Fatalf("second Install: %q %v, want %q", b, err, a)
	}
	for _, rt := range []string{"python3.12", "nodejs20.x"} {
		r, _ := Lookup(rt)
		path, args := r.Command("/bin/interp", a, "/code")
		if path != "/bin/interp" || len(args) != 1 {
			t.Fatalf("%s: %s %v", rt, path, args)
		}
		if _, err := os.Stat(args[0]); err != nil {
			t.Errorf("%s bootstrap: %v", rt, err)
		}
	}
	r, _ := Lookup("provided.al2")
	if path, args := r.Command("", a, "/code"); path != filepath.Join("/code", "bootstrap") || args != nil {
		t.Errorf("provided: %s %v", path, args)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("%d entries in the runtime dir, want 1", len(entries))
	}
}
