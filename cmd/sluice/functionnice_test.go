package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestServerFunctionNiceRange(t *testing.T) {
	for _, v := range []string{"-1", "20"} {
		err := runServer(context.Background(), []string{"--data", t.TempDir(), "--function-nice", v},
			func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--function-nice") {
			t.Errorf("--function-nice %s: err %v, want a --function-nice error", v, err)
		}
	}
}
