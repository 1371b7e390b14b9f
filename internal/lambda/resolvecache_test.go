package lambda

import (
	"context"
	"errors"
	"testing"
)

// TestResolveFollowsWrites checks that the deployment cache never hands
// out a resolution older than the last change: each step changes the
// function through the Service and resolves it (twice, so that the second
// comes from the cache).
func TestResolveFollowsWrites(t *testing.T) {
	ctx := context.Background()
	s, _ := newStoreService(t, Config{})
	if _, err := s.CreateFunction(ctx, createInput("f", zipOf(t, "def handler(e, c): pass\n"))); err != nil {
		t.Fatal(err)
	}
	str := func(v string) *string { return &v }
	intp := func(v int) *int { return &v }
	steps := []struct {
		name      string
		change    func() error
		qualifier string
		check     func(t *testing.T, d *Deployment)
		wantCode  string
	}{
		{name: "created", check: func(t *testing.T, d *Deployment) {
			if d.Version != LatestVersion || len(d.Environment) != 0 {
				t.Errorf("version %s, environment %v", d.Version, d.Environment)
			}
		}},
		{name: "configuration updated", change: func() error {
			_, err := s.UpdateFunctionConfiguration(ctx, &UpdateConfigInput{FunctionName: "f",
				ConfigInput: ConfigInput{Environment: map[string]string{"AB": "1"}, Timeout: intp(7)}})
			return err
		}, check: func(t *testing.T, d *Deployment) {
			if d.Environment["AB"] != "1" || d.Timeout.Seconds() != 7 {
				t.Errorf("environment %v, timeout %v", d.Environment, d.Timeout)
			}
		}},
		{name: "alias created", change: func() error {
			if _, err := s.PublishVersion(ctx, &PublishInput{FunctionName: "f"}); err != nil {
				return err
			}
			_, err := s.CreateAlias(ctx, &AliasInput{FunctionName: "f", Name: "live", FunctionVersion: str("1")})
			return err
		}, qualifier: "live", check: func(t *testing.T, d *Deployment) {
			if d.Version != "1" || d.Environment["AB"] != "1" {
				t.Errorf("version %s, environment %v", d.Version, d.Environment)
			}
		}},
		{name: "alias moved", change: func() error {
			_, err := s.UpdateFunctionConfiguration(ctx, &UpdateConfigInput{FunctionName: "f",
				ConfigInput: ConfigInput{Environment: map[string]string{"AB": "2"}}})
			if err != nil {
				return err
			}
			if _, err := s.PublishVersion(ctx, &PublishInput{FunctionName: "f"}); err != nil {
				return err
			}
			_, err = s.UpdateAlias(ctx, &AliasInput{FunctionName: "f", Name: "live", FunctionVersion: str("2")})
			return err
		}, qualifier: "live", check: func(t *testing.T, d *Deployment) {
			if d.Version != "2" || d.Environment["AB"] != "2" {
				t.Errorf("version %s, environment %v", d.Version, d.Environment)
			}
		}},
		{name: "weighted alias", change: func() error {
			_, err := s.UpdateAlias(ctx, &AliasInput{FunctionName: "f", Name: "live", FunctionVersion: str("1"),
				Weights: map[string]float64{"2": 0.5}})
			return err
		}, qualifier: "live", check: func(t *testing.T, _ *Deployment) {
			seen := map[string]int{}
			for range 200 {
				d, err := s.Resolve(ctx, "f", "live")
				if err != nil {
					t.Fatal(err)
				}
				seen[d.Version]++
			}
			if seen["1"] == 0 || seen["2"] == 0 || len(seen) != 2 {
				t.Errorf("versions drawn: %v", seen)
			}
		}},
		{name: "concurrency reserved", change: func() error {
			_, err := s.PutFunctionConcurrency(ctx, "f", intp(5))
			return err
		}, check: func(t *testing.T, d *Deployment) {
			if d.ReservedConcurrency == nil || *d.ReservedConcurrency != 5 {
				t.Errorf("reserved %v", d.ReservedConcurrency)
			}
			d.Version = "changed by a caller" // must not reach the cache
		}},
		{name: "deleted", change: func() error {
			return s.DeleteFunction(ctx, "f", "")
		}, wantCode: CodeResourceNotFound},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			if st.change != nil {
				if err := st.change(); err != nil {
					t.Fatal(err)
				}
			}
			for range 2 {
				d, err := s.Resolve(ctx, "f", st.qualifier)
				if st.wantCode != "" {
					var e *Error
					if !errors.As(err, &e) || e.Code != st.wantCode {
						t.Fatalf("err = %v, want %s", err, st.wantCode)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				st.check(t, d)
			}
		})
	}
}
